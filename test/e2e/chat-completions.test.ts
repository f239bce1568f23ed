import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import OpenAI from 'openai';
import request from 'supertest';
import { configureApp } from '../../api/app';
import { AppModule } from '../../api/app.module';
import type { RunView } from '../../src/contract/api';
import { createMemoryTokenStream, TOKEN_STREAM_START, type TokenStream } from '../../src/streaming/token-stream';
import { READ_ONLY_KEY, SECOND_API_KEY, TEST_API_KEY, testApiSettings } from '../helpers/api-app';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * POST /v1/chat/completions and GET /v1/models driven by the official `openai` SDK, against the
 * real API, a Temporal dev server, a Chorus worker and the provider simulator.
 */
describe('the OpenAI wire: /v1/chat/completions and /v1/models with the openai SDK', () => {
  let stack: TestStack;
  let tokens: TokenStream;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let openai: OpenAI;
  let baseURL: string;

  beforeAll(async () => {
    tokens = createMemoryTokenStream();
    // 5 ms between two pieces: an answer streams in many chunks, quickly.
    stack = await startTestStack('chat-completions', { latencyMs: 5, chunkDelayMs: 5 }, {}, { tokens });
    const settings = testApiSettings();
    const module = await Test.createTestingModule({ imports: [AppModule.forRoot({ api: settings, temporal: stack.temporal, tokenStream: tokens })] }).compile();
    app = configureApp(module.createNestApplication(), settings);
    await app.listen(0, '127.0.0.1');
    baseURL = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/v1`;
    http = request(app.getHttpServer());
    // The SDK's own retries off: each test sees exactly what the API answered.
    openai = new OpenAI({ apiKey: TEST_API_KEY, baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });

  const durable = async (workflowId: string) =>
    (
      await http
        .get(`/v1/workflows/${encodeURIComponent(workflowId)}`)
        .set('x-api-key', TEST_API_KEY)
        .expect(200)
    ).body as RunView;
  const stepText = (view: RunView, step: string) => (view.result!.steps[step] as { text: string }).text;

  it('answers a provider model as a chat.completion: the durable result, its usage, and the run in x-chorus-workflow-id', async () => {
    const { data, response } = await openai.chat.completions
      .create({
        model: 'openai/gpt-4o-mini',
        messages: [
          { role: 'system', content: 'Answer in one paragraph.' },
          { role: 'user', content: 'Why do durable workflows suit LLM calls?' },
        ],
        temperature: 0.2,
        max_tokens: 300,
      })
      .withResponse();
    const workflowId = response.headers.get('x-chorus-workflow-id')!;
    expect(workflowId).toMatch(/^chat-/);
    const run = await durable(workflowId);
    expect(run.status).toBe('COMPLETED');
    expect(data).toMatchObject({ id: workflowId, object: 'chat.completion', model: 'openai/gpt-4o-mini' });
    expect(data.choices).toHaveLength(1);
    expect(data.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant' } });
    expect(data.choices[0].message.content).toBe(stepText(run, 'answer'));
    expect(data.choices[0].message.content!.length).toBeGreaterThan(20);
    const { inputTokens, outputTokens } = run.result!.usage.total;
    expect(data.usage).toEqual({ prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens });
    expect(outputTokens).toBeGreaterThan(0);
  });

  it('runs a bare model name, as an unchanged OpenAI client sends it, on the provider that lists it', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Bare model names' }] })
      .withResponse();
    const run = await durable(response.headers.get('x-chorus-workflow-id')!);
    expect(run).toMatchObject({ status: 'COMPLETED', steps: [{ id: 'answer', provider: 'openai', status: 'done' }] });
    expect(data).toMatchObject({ object: 'chat.completion', model: 'openai/gpt-4o-mini' });
    expect(data.choices[0].message.content).toBe(stepText(run, 'answer'));
  });

  it('streams chat.completion.chunk events whose text concatenates to the durable result, ending with usage and [DONE]', async () => {
    const { data: stream, response } = await openai.chat.completions
      .create({
        model: 'anthropic/claude-haiku-4-5',
        messages: [{ role: 'user', content: 'Explain resumable token streams in a paragraph.' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const workflowId = response.headers.get('x-chorus-workflow-id')!;
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const run = await durable(workflowId);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(stepText(run, 'answer'));
    // Streamed as it was written: many text chunks, not the answer in one piece at the end.
    const published = (await tokens.readAfter(run.runId, TOKEN_STREAM_START)).filter((event) => event.kind === 'token');
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length).toBe(published.length);
    expect(published.length).toBeGreaterThan(5);
    expect(chunks.every((chunk) => chunk.id === workflowId && chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const { inputTokens, outputTokens } = run.result!.usage.total;
    expect(last.usage).toEqual({ prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
    expect(last.model).toMatch(/^anthropic\//);
  });

  it('a stream whose first attempt is cut mid-answer never glues two attempts: its text is the durable result', async () => {
    const { data: stream, response } = await openai.chat.completions
      .create({ model: 'openai', messages: [{ role: 'user', content: 'Write about retries. [[sim:cutx1]]' }], stream: true })
      .withResponse();
    const chunks: string[] = [];
    for await (const chunk of stream) chunks.push(chunk.choices[0]?.delta.content ?? '');
    const run = await durable(response.headers.get('x-chorus-workflow-id')!);
    expect(run.result!.usage.steps[0].attempts).toBe(2);
    const published = await tokens.readAfter(run.runId, TOKEN_STREAM_START);
    expect(published.filter((event) => event.kind === 'attempt').map((event) => event.attempt)).toEqual([1, 2]);
    // The first attempt's text reached the client before the cut; the rest came once, from the durable answer.
    const firstAttempt = published.filter((event) => event.kind === 'token' && event.attempt === 1).map((event) => event.text);
    expect(firstAttempt.length).toBeGreaterThan(0);
    expect(chunks.join('')).toBe(stepText(run, 'answer'));
  });

  it('a client that leaves mid-stream finds the answer later by its workflow ID: the run went on without it', async () => {
    const { data: stream, response } = await openai.chat.completions
      .create({ model: 'openai', messages: [{ role: 'user', content: 'Leave early [[sim:chunk-ms=20]]' }], stream: true })
      .withResponse();
    const workflowId = response.headers.get('x-chorus-workflow-id')!;
    let received = '';
    // Leaving the loop closes the connection.
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta.content ?? '';
      if (received) break;
    }
    const leftAt = Date.now();
    const later = await openai.chat.completions.retrieve(workflowId);
    const run = await durable(workflowId);
    expect(Date.parse(run.closedAt!)).toBeGreaterThan(leftAt);
    expect(later).toMatchObject({ id: workflowId, object: 'chat.completion', model: 'openai/gpt-4o-mini' });
    expect(later.choices[0].message.content).toBe(stepText(run, 'answer'));
    expect(later.choices[0].message.content!.startsWith(received)).toBe(true);
    expect(later.choices[0].message.content!.length).toBeGreaterThan(received.length);
    const foreign = await http.get(`/v1/chat/completions/${workflowId}`).set('x-api-key', SECOND_API_KEY).expect(404);
    expect(foreign.body.error).toMatchObject({ type: 'invalid_request_error' });
  });

  it('a named pipeline is a model: pipeline/classic answers with its last step’s text', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'pipeline/classic', messages: [{ role: 'user', content: 'Temporal for AI pipelines' }] })
      .withResponse();
    const run = await durable(response.headers.get('x-chorus-workflow-id')!);
    expect(run.pipeline).toBe('classic');
    expect(data.model).toBe('pipeline/classic');
    expect(data.choices[0].message.content).toBe(stepText(run, 'sentiment'));
    expect(data.usage!.completion_tokens).toBe(run.result!.usage.total.outputTokens);
  });

  it('answers errors in OpenAI’s error body: unknown model 404, a bad field 400 naming it, no credentials 401', async () => {
    const unknown = await openai.chat.completions.create({ model: 'nope/x', messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });

    const hot = await openai.chat.completions
      .create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 3 })
      .catch((error: unknown) => error);
    expect(hot).toBeInstanceOf(OpenAI.BadRequestError);
    expect((hot as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ type: 'invalid_request_error', param: 'temperature' });

    const tools = await http
      .post('/v1/chat/completions')
      .set('x-api-key', TEST_API_KEY)
      .send({ model: 'openai', messages: [{ role: 'user', content: 'hi' }], tools: [] })
      .expect(400);
    expect(tools.headers['content-type']).toMatch(/^application\/json/);
    expect(tools.body).toEqual({ error: { message: 'tools: is not supported by Chorus', type: 'invalid_request_error', param: 'tools', code: null } });

    const role = await http
      .post('/v1/chat/completions')
      .set('x-api-key', TEST_API_KEY)
      .send({ model: 'openai', messages: [{ role: 'tool', content: 'hi' }] })
      .expect(400);
    expect(role.body.error.param).toBe('messages[0].role');

    const anonymous = new OpenAI({ apiKey: 'chorus_not-a-key', baseURL, maxRetries: 0 });
    const denied = await anonymous.chat.completions.create({ model: 'openai', messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((denied as InstanceType<typeof OpenAI.AuthenticationError>).error).toMatchObject({ type: 'authentication_error' });
    const readOnly = new OpenAI({ apiKey: READ_ONLY_KEY, baseURL, maxRetries: 0 });
    await expect(readOnly.chat.completions.create({ model: 'openai', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
  });

  it('an Idempotency-Key names one run: a repeat (also streamed) gets the same run and answer, another body with it a 409', async () => {
    const key = `chat-idem-${Date.now()}`;
    const body = { model: 'openai/gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Idempotent chat requests' }] };
    const first = await openai.chat.completions.create(body, { headers: { 'Idempotency-Key': key } }).withResponse();
    const again = await openai.chat.completions.create(body, { headers: { 'Idempotency-Key': key } }).withResponse();
    const workflowId = first.response.headers.get('x-chorus-workflow-id');
    expect(again.response.headers.get('x-chorus-workflow-id')).toBe(workflowId);
    expect(again.data.choices[0].message.content).toBe(first.data.choices[0].message.content);
    const streamed = await openai.chat.completions.create({ ...body, stream: true }, { headers: { 'Idempotency-Key': key } }).withResponse();
    expect(streamed.response.headers.get('x-chorus-workflow-id')).toBe(workflowId);
    let text = '';
    for await (const chunk of streamed.data) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(first.data.choices[0].message.content);
    const runs = await stack.client.workflow.count(`WorkflowId = "${workflowId}"`);
    expect(runs.count).toBe(1);

    const other = await openai.chat.completions
      .create({ ...body, messages: [{ role: 'user', content: 'Another question' }] }, { headers: { 'Idempotency-Key': key } })
      .catch((error: unknown) => error);
    expect(other).toBeInstanceOf(OpenAI.ConflictError);
  });

  it('lists provider models and named pipelines as OpenAI models, for a read-only key too', async () => {
    const readOnly = new OpenAI({ apiKey: READ_ONLY_KEY, baseURL, maxRetries: 0 });
    const ids: string[] = [];
    for await (const model of readOnly.models.list()) {
      expect(model.object).toBe('model');
      ids.push(model.id);
    }
    expect(ids).toEqual(expect.arrayContaining(['openai/gpt-4o-mini', 'anthropic/claude-haiku-4-5', 'cohere/command-r-08-2024', 'pipeline/classic']));
    expect(new Set(ids).size).toBe(ids.length);
    const anonymous = await http.get('/v1/models').expect(401);
    expect(anonymous.body.error).toMatchObject({ type: 'authentication_error', param: null });
  });
});
