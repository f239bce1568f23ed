import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { configureApp } from '../../api/app';
import { AppModule } from '../../api/app.module';
import { ServerSentEventParser } from '../../activities/providers/sse';
import { attemptTokens } from '../../activities/token-publisher';
import { createRedisTokenStream } from '../../src/streaming/redis-token-stream';
import { TOKEN_STREAM_START, type TokenStream } from '../../src/streaming/token-stream';
import { TEST_API_KEY, testApiSettings } from '../helpers/api-app';
import { startRedis } from '../helpers/redis';
import { readServerSentEvents } from '../helpers/sse-client';
import { startTestStack, type TestStack } from '../helpers/stack';

const auth = { 'x-api-key': TEST_API_KEY };
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Token streaming the way `npm start` runs it: worker and API each with their own Redis Streams
 * connections. Checks the events end to end and prints what the README reports: time to first token
 * through Chorus against the simulator directly, the transport's throughput, memory per open stream.
 */
describe('token streaming through Redis Streams', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let stack: TestStack;
  let workerTokens: TokenStream;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let baseUrl: string;

  beforeAll(async () => {
    redis = await startRedis();
    workerTokens = createRedisTokenStream(redis.url);
    stack = await startTestStack('token-streaming-redis', { latencyMs: 200, chunkDelayMs: 10 }, {}, { tokens: workerTokens });
    const settings = testApiSettings({ rateLimit: { perMinute: 10_000, byTenant: {}, redisUrl: redis.url } });
    const module = await Test.createTestingModule({ imports: [AppModule.forRoot({ api: settings, temporal: stack.temporal })] }).compile();
    app = configureApp(module.createNestApplication(), settings);
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    http = request(app.getHttpServer());
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
    await workerTokens?.close();
    await redis?.stop();
  });

  const generate = (prompt: string) => ({
    definition: {
      name: 'chat',
      steps: [{ id: 'answer', provider: 'openai', task: 'generate', prompt: '{{input.prompt}}' }],
      output: { answer: 'steps.answer.text' },
    },
    input: { prompt },
  });

  it('relays every published event once, ending with the durable result', async () => {
    const workflowId = (await http.post('/v1/workflows').set(auth).send(generate('Explain durable token streams.')).expect(202)).body.workflowId as string;
    const { events } = await readServerSentEvents(`${baseUrl}/v1/workflows/${workflowId}/events`, auth);
    expect(events[0]).toMatchObject({ event: 'tokens', data: { available: true, transport: 'redis' } });
    const runId = (await stack.client.workflow.getHandle(workflowId).describe()).runId;
    const published = await workerTokens.readAfter(runId, TOKEN_STREAM_START);
    const relayed = events.filter((event) => event.event === 'token' || event.event === 'attempt');
    expect(relayed.map((event) => event.id.split(':')[1])).toEqual(published.map((event) => event.id));
    const final = events.at(-1)!;
    expect(final.data).toEqual((await http.get(`/v1/workflows/${workflowId}`).set(auth).expect(200)).body);
    const text = relayed.map((event) => event.data.text ?? '').join('');
    expect(text).toBe((final.data.result as { output: { answer: string } }).output.answer);
  });

  it('measures time to first token through Chorus against the simulator directly', async () => {
    const prompt = 'Write about streaming latency.';
    const direct: number[] = [];
    const chorus: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      const sentAt = performance.now();
      const response = await fetch(`${stack.providers.endpoints.openai.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `${prompt} ${round}` }] }),
      });
      const reader = response.body!.getReader();
      const parser = new ServerSentEventParser();
      const decoder = new TextDecoder();
      for (let first = false; !first;) {
        const { value, done } = await reader.read();
        if (done) break;
        first = parser
          .push(decoder.decode(value, { stream: true }))
          .some((event) => event.data.includes('"content":"') && !event.data.includes('"content":""'));
      }
      direct.push(performance.now() - sentAt);
      await reader.cancel();

      const startedAt = performance.now();
      const workflowId = (
        await http
          .post('/v1/workflows')
          .set(auth)
          .send(generate(`${prompt} ${round}`))
          .expect(202)
      ).body.workflowId as string;
      await readServerSentEvents(`${baseUrl}/v1/workflows/${workflowId}/events`, auth, (events) => events.some((event) => event.event === 'token'));
      chorus.push(performance.now() - startedAt);
      await stack.client.workflow.getHandle(workflowId).result();
    }
    console.log(
      `time to first token (simulator latency 200 ms), median of 5: direct ${median(direct).toFixed(0)} ms, through Chorus ${median(chorus).toFixed(0)} ms ` +
        `(overhead ${(median(chorus) - median(direct)).toFixed(0)} ms; all: direct ${direct.map(Math.round).join('/')}, chorus ${chorus.map(Math.round).join('/')})`,
    );
    expect(median(chorus)).toBeGreaterThan(median(direct));
  });

  it('measures the transport’s throughput and the memory of open streams', async () => {
    const events = 20_000;
    const runId = `throughput-${Date.now()}`;
    const reader = workerTokens.openReader(runId);
    const startedAt = performance.now();
    let received = 0;
    let cursor = TOKEN_STREAM_START;
    const reading = (async () => {
      while (received < events) {
        const batch = await reader.read(cursor, 2000);
        received += batch.length;
        if (batch.length) cursor = batch.at(-1)!.id;
      }
    })();
    // As an attempt publishes its pieces: each at once, in order, none waiting for the one before.
    const tokens = attemptTokens(workerTokens, runId, { step: 'answer', call: 'answer', attempt: 1 });
    for (let index = 1; index < events; index += 1) tokens.text('word ');
    await tokens.flushed();
    await reading;
    const seconds = (performance.now() - startedAt) / 1000;
    await reader.close();
    expect(received).toBe(events);

    // Open streams of a run that waits at nothing: each holds an SSE response and a blocking Redis reader.
    const workflowId = (await http.post('/v1/workflows').set(auth).send(generate('Hold on. [[sim:latency=5000]]')).expect(202)).body.workflowId as string;
    const streams = 100;
    global.gc?.();
    const before = process.memoryUsage();
    const aborts = Array.from({ length: streams }, () => new AbortController());
    const opened = await Promise.all(aborts.map((abort) => fetch(`${baseUrl}/v1/workflows/${workflowId}/events`, { headers: auth, signal: abort.signal })));
    await Promise.all(opened.map((response) => response.body!.getReader().read()));
    global.gc?.();
    const after = process.memoryUsage();
    for (const abort of aborts) abort.abort();
    await stack.client.workflow.getHandle(workflowId).result();
    console.log(
      `transport: ${events} token events of one attempt published and read by a blocking reader in ${seconds.toFixed(2)} s = ${Math.round(events / seconds)} events/s; ` +
        `${streams} open streams: +${((after.heapUsed - before.heapUsed) / streams / 1024).toFixed(1)} kB heap, +${((after.rss - before.rss) / streams / 1024).toFixed(1)} kB RSS each ` +
        '(API and client in one process)',
    );
    expect(opened.every((response) => response.status === 200)).toBe(true);
  });
});
