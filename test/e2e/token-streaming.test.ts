import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { configureApp } from '../../api/app';
import { AppModule } from '../../api/app.module';
import { createMemoryTokenStream, TOKEN_STREAM_START, type TokenStream } from '../../src/streaming/token-stream';
import { TEST_API_KEY, testApiSettings } from '../helpers/api-app';
import { readServerSentEvents, type ReceivedEvent } from '../helpers/sse-client';
import { startTestStack, type TestStack } from '../helpers/stack';

const auth = { 'x-api-key': TEST_API_KEY };

/** Text per call as a chat UI shows it: an `attempt` event starts that call's text anew, `token` events add to it. */
function textsByCall(events: ReceivedEvent[]): Map<string, string> {
  const texts = new Map<string, string>();
  for (const event of events) {
    const call = event.data.call as string;
    if (event.event === 'attempt') texts.set(call, '');
    if (event.event === 'token') texts.set(call, `${texts.get(call) ?? ''}${event.data.text as string}`);
  }
  return texts;
}

/** Token events of real runs, worker to API through a token transport, on the live-progress stream. */
describe('token events on GET /v1/workflows/:id/events', () => {
  let stack: TestStack;
  let tokens: TokenStream;
  let app: INestApplication;
  let plainApp: INestApplication;
  let http: ReturnType<typeof request>;
  let baseUrl: string;
  let plainUrl: string;

  const listen = async (tokenStream?: TokenStream) => {
    const settings = testApiSettings();
    const module = await Test.createTestingModule({ imports: [AppModule.forRoot({ api: settings, temporal: stack.temporal, tokenStream })] }).compile();
    const nest = configureApp(module.createNestApplication(), settings);
    await nest.listen(0, '127.0.0.1');
    return { nest, url: (await nest.getUrl()).replace('[::1]', '127.0.0.1') };
  };

  beforeAll(async () => {
    tokens = createMemoryTokenStream();
    // 15 ms between two pieces: a 150-word draft streams for about two seconds.
    stack = await startTestStack('token-streaming', { latencyMs: 50, chunkDelayMs: 15 }, {}, { tokens });
    ({ nest: app, url: baseUrl } = await listen(tokens));
    ({ nest: plainApp, url: plainUrl } = await listen());
    http = request(app.getHttpServer());
  });
  afterAll(async () => {
    await app?.close();
    await plainApp?.close();
    await stack?.close();
  });

  const start = async (body: object) => (await http.post('/v1/workflows').set(auth).send(body).expect(202)).body.workflowId as string;
  const eventsUrl = (workflowId: string, base = baseUrl) => `${base}/v1/workflows/${workflowId}/events`;

  it('streams each call’s text as it is written; a reconnect with Last-Event-ID misses and repeats nothing; the last event is the durable result', async () => {
    const workflowId = await start({ pipeline: 'classic', input: { prompt: 'Why resumable token streams matter' } });
    // The client goes away after 12 tokens of the draft, while it is being written.
    const first = await readServerSentEvents(eventsUrl(workflowId), auth, (events) => events.filter((event) => event.event === 'token').length >= 12);
    expect(first.ended).toBe(false);
    expect(first.events[0]).toMatchObject({ event: 'tokens', data: { available: true, transport: 'memory' } });
    const lastSeen = first.events.at(-1)!;
    expect(lastSeen.event).toBe('token');
    const second = await readServerSentEvents(eventsUrl(workflowId), { ...auth, 'last-event-id': lastSeen.id });
    expect(second.ended).toBe(true);

    const all = [...first.events, ...second.events].filter((event) => event.id);
    const ids = all.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    const tokenEvents = all.filter((event) => event.event === 'token' || event.event === 'attempt');
    // Every event the worker published for this run reached the client exactly once, in order.
    const runId = (await stack.client.workflow.getHandle(workflowId).describe()).runId;
    const published = await tokens.readAfter(runId, TOKEN_STREAM_START);
    expect(tokenEvents.map((event) => event.id.split(':')[1])).toEqual(published.map((event) => event.id));
    expect(tokenEvents.map((event) => event.data.text ?? '')).toEqual(published.map((event) => event.text ?? ''));
    expect(published.filter((event) => event.kind === 'attempt').map((event) => `${event.call}#${event.attempt}`)).toEqual([
      'draft#1',
      'summary#1',
      'sentiment#1',
    ]);

    const final = all.at(-1)!;
    expect(final.event).toBe('run');
    const status = (await http.get(`/v1/workflows/${workflowId}`).set(auth).expect(200)).body as { result: { output: Record<string, unknown> } };
    expect(final.data).toEqual(status);
    const texts = textsByCall(all);
    expect(texts.get('draft')).toBe(status.result.output.draft);
    expect(texts.get('summary')).toBe(status.result.output.summary);
    expect(JSON.parse(texts.get('sentiment')!)).toMatchObject(status.result.output.sentiment as object);
    // Each step's text ends before its step does.
    const doneAt = all.findIndex((event) => event.event === 'step' && event.data.step === 'draft' && event.data.status === 'done');
    const lastDraftToken = all.length - 1 - [...all].reverse().findIndex((event) => event.event === 'token' && event.data.call === 'draft');
    expect(lastDraftToken).toBeLessThan(doneAt);
  });

  it('a retried attempt announces itself, and the text it writes replaces the cut attempt’s', async () => {
    // The draft's first attempt is cut halfway through its stream; Temporal retries it.
    const workflowId = await start({ pipeline: 'classic', input: { prompt: 'A stream that breaks off [[sim:openai:cutx1]]' } });
    const { events } = await readServerSentEvents(eventsUrl(workflowId), auth);
    const draft = events.filter((event) => event.data.call === 'draft' && (event.event === 'attempt' || event.event === 'token'));
    const attempts = draft.filter((event) => event.event === 'attempt').map((event) => event.data.attempt);
    expect(attempts).toEqual([1, 2]);
    const secondAt = draft.findIndex((event) => event.event === 'attempt' && event.data.attempt === 2);
    expect(draft.slice(1, secondAt).length).toBeGreaterThan(0);
    expect(draft.slice(1, secondAt).every((event) => event.data.attempt === 1)).toBe(true);
    expect(draft.slice(secondAt + 1).every((event) => event.data.attempt === 2)).toBe(true);
    const final = events.at(-1)!;
    expect(final).toMatchObject({ event: 'run', data: { status: 'COMPLETED' } });
    expect(textsByCall(events).get('draft')).toBe((final.data.result as { output: { draft: string } }).output.draft);
  });

  it('a reader of a finished run gets each step’s tokens between its running and done events, as a live reader did', async () => {
    const workflowId = await start({ pipeline: 'classic', input: { prompt: 'Read after the fact' } });
    await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=30`).set(auth).expect(200);
    const { events } = await readServerSentEvents(eventsUrl(workflowId), auth);
    // Step and token events as one sequence: `draft:running`, `draft:token`, …, `draft:done`, `summary:running`, …
    const order = events
      .filter((event) => event.event === 'step' || event.event === 'token')
      .map((event) => `${event.data.call as string}:${event.event === 'token' ? 'token' : (event.data.status as string)}`)
      .filter((entry, index, all) => entry !== all[index - 1]);
    expect(order).toEqual([
      'draft:running',
      'draft:token',
      'draft:done',
      'summary:running',
      'summary:token',
      'summary:done',
      'sentiment:running',
      'sentiment:token',
      'sentiment:done',
    ]);
    const runId = (await stack.client.workflow.getHandle(workflowId).describe()).runId;
    const published = await tokens.readAfter(runId, TOKEN_STREAM_START);
    expect(events.filter((event) => event.event === 'token' || event.event === 'attempt').map((event) => event.id.split(':')[1])).toEqual(
      published.map((event) => event.id),
    );
  });

  it('without a token transport the stream says so at once and still carries every step event and the result', async () => {
    const workflowId = await start({ pipeline: 'classic', input: { prompt: 'Steps only' } });
    const { events } = await readServerSentEvents(eventsUrl(workflowId, plainUrl), auth);
    expect(events[0]).toMatchObject({ event: 'tokens', data: { available: false, reason: expect.stringContaining('CHORUS_REDIS_URL') } });
    expect(events.filter((event) => event.event === 'token' || event.event === 'attempt')).toHaveLength(0);
    expect(events.filter((event) => event.event === 'step').map((event) => `${event.data.step}:${event.data.status}`)).toEqual([
      'draft:running',
      'draft:done',
      'summary:running',
      'summary:done',
      'sentiment:running',
      'sentiment:done',
    ]);
    expect(events.filter((event) => event.id).every((event) => /^\d+$/.test(event.id))).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'run', data: { status: 'COMPLETED' } });
  });
});
