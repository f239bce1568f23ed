import type { INestApplication } from '@nestjs/common';
import type request from 'supertest';
import { configuredProviderModels, configuredProviderNames, loadProviderSettings } from '../../src/config/providers';
import type { Env } from '../../src/config/env';
import { FailureType } from '../../src/pipeline/failures';
import { startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { startTestStack, type TestStack } from '../helpers/stack';

const auth = { 'x-api-key': TEST_API_KEY };

/** An OpenAI-compatible server added by configuration only: here the simulator's OpenAI wire under /compat/local. */
const instanceEnv = (simulatorUrl: string): Env => ({
  CHORUS_SIMULATOR_URL: simulatorUrl,
  CHORUS_PROVIDERS: 'local',
  LOCAL_BASE_URL: `${simulatorUrl}/compat/local/openai/v1`,
  LOCAL_MODEL: 'llama-3.1-8b-instruct',
  LOCAL_MODELS: 'llama-3.1-8b-instruct,qwen2.5-7b-instruct',
  LOCAL_PRICES: '{"llama-3.1-8b-instruct": {"input": 0.05, "output": 0.08}}',
});

const quickRetry = { maximumAttempts: 2, initialInterval: '100ms', maximumInterval: '100ms' };

/**
 * A fourth and a fifth provider end to end through the API: Anthropic (its own wire kind) and a
 * configured OpenAI-compatible instance, in one pipeline with a fallback each way between them.
 */
describe('Anthropic and a configured OpenAI-compatible instance through the API', () => {
  let stack: TestStack;
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    stack = await startTestStack('providers-e2e', { latencyMs: 5 }, (simulatorUrl) => loadProviderSettings(instanceEnv(simulatorUrl)));
    const env = instanceEnv(stack.simulator.url);
    ({ app, http } = await startApiApp(stack.temporal, { providers: configuredProviderNames(env), providerModels: configuredProviderModels(env) }));
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });
  beforeEach(() => stack.simulator.clearRequests());

  const definition = {
    name: 'two-new-providers',
    steps: [
      {
        id: 'draft',
        provider: 'anthropic',
        task: 'generate',
        prompt: 'Write about {{input.topic}} [[sim:anthropic:529]]',
        maxOutputTokens: 300,
        temperature: 0.2,
        stopSequences: ['THE END'],
        retry: quickRetry,
        fallback: [{ provider: 'local' }],
      },
      {
        id: 'mood',
        provider: 'local',
        task: 'sentiment',
        prompt: 'I love how {{input.topic}} keeps my jobs safe [[sim:local:500]]',
        retry: quickRetry,
        fallback: [{ provider: 'anthropic', model: 'claude-haiku-4-5' }],
      },
      { id: 'tag', provider: 'local', task: 'classify', labels: ['infrastructure', 'cooking'], prompt: 'Classify: {{input.topic}} for queues and servers' },
    ],
    output: { draft: 'steps.draft.text', mood: 'steps.mood.data', tag: 'steps.tag.data.label' },
  };

  it('validates steps naming the configured instance, and names the configured providers for an unknown one', async () => {
    await http.post('/v1/pipelines/validate').set(auth).send(definition).expect(200);
    const unknown = await http
      .post('/v1/pipelines/validate')
      .set(auth)
      .send({ name: 'x', steps: [{ id: 'a', provider: 'groq', task: 'generate', prompt: 'x' }] })
      .expect(400);
    expect(unknown.body.errors).toEqual([{ field: '$.steps[0].provider', reason: expect.stringContaining('openai, cohere, gemini, anthropic, local') }]);
    const schema = await http.get('/v1/pipelines/schema').set(auth).expect(200);
    expect(JSON.stringify(schema.body)).toContain('"local"');
  });

  it("rejects a model outside the instance's LOCAL_MODELS with a 400 naming the field, as step model and as fallback model", async () => {
    const offList = {
      name: 'off-list',
      steps: [
        { id: 'a', provider: 'local', model: 'gpt-4o', task: 'generate', prompt: 'x' },
        {
          id: 'b',
          provider: 'anthropic',
          task: 'generate',
          prompt: 'x',
          fallback: [
            { provider: 'local', model: 'qwen2.5-7b-instruct' },
            { provider: 'local', model: 'mixtral' },
          ],
        },
      ],
    };
    const validated = await http.post('/v1/pipelines/validate').set(auth).send(offList).expect(400);
    expect(validated.body.errors).toEqual([
      { field: '$.steps[0].model', reason: 'model "gpt-4o" is not allowed on provider "local"; allowed: llama-3.1-8b-instruct, qwen2.5-7b-instruct' },
      { field: '$.steps[1].fallback[1].model', reason: expect.stringContaining('model "mixtral" is not allowed on provider "local"') },
    ]);
    const started = await http.post('/v1/workflows').set(auth).send({ definition: offList, input: {} }).expect(400);
    expect(started.body.errors.map((error: { field: string }) => error.field)).toEqual(['definition.steps[0].model', 'definition.steps[1].fallback[1].model']);
    // A listed model, and the built-in providers (no list), pass.
    await http
      .post('/v1/pipelines/validate')
      .set(auth)
      .send({
        name: 'on-list',
        steps: [
          { id: 'a', provider: 'local', model: 'qwen2.5-7b-instruct', task: 'generate', prompt: 'x', fallback: [{ provider: 'openai', model: 'any-model' }] },
        ],
      })
      .expect(200);
  });

  it('runs a pipeline over both, each falling back to the other, with usage, cost and step fields on the wire', async () => {
    const started = await http
      .post('/v1/workflows')
      .set(auth)
      .send({ definition, input: { topic: 'durable execution' } })
      .expect(202);
    const done = await http.get(`${started.body.resultUrl}?waitSeconds=25`).set(auth).expect(200);
    expect(done.body.status).toBe('COMPLETED');
    const { steps, output, usage } = done.body.result;

    // Anthropic overloaded twice (its retry budget), then the instance answered.
    expect(steps.draft).toMatchObject({
      provider: 'local',
      model: 'llama-3.1-8b-instruct',
      fallbackFrom: { provider: 'anthropic', error: { type: FailureType.ProviderUnavailable } },
    });
    expect(output.draft).toContain('durable execution');
    // The instance failed twice with 500, then Anthropic answered the sentiment through its forced tool.
    expect(steps.mood).toMatchObject({
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      fallbackFrom: { provider: 'local', error: { type: FailureType.ProviderUnavailable } },
    });
    expect(output.mood).toEqual({ label: 'positive', score: expect.any(Number) });
    expect(['infrastructure', 'cooking']).toContain(output.tag);

    const requests = stack.simulator.requests();
    const count = (provider: string, status: number) => requests.filter((record) => record.provider === provider && record.status === status).length;
    expect({
      anthropic529: count('anthropic', 529),
      anthropic200: count('anthropic', 200),
      local500: count('local', 500),
      local200: count('local', 200),
    }).toEqual({
      anthropic529: 2,
      anthropic200: 1,
      local500: 2,
      local200: 2,
    });
    // The step's maxOutputTokens went to Anthropic as max_tokens and, on fallback, to the instance as max_tokens.
    expect(requests.filter((record) => record.provider === 'anthropic' && record.status === 529).map((record) => record.maxOutputTokens)).toEqual([300, 300]);
    expect(requests.find((record) => record.provider === 'local' && record.status === 200)?.maxOutputTokens).toBe(300);

    expect(usage.steps.map((step: { step: string; provider: string }) => `${step.step}:${step.provider}`)).toEqual([
      'draft:local',
      'mood:anthropic',
      'tag:local',
    ]);
    // Both are priced: Anthropic from the catalog, the instance from LOCAL_PRICES.
    expect(usage.steps.every((step: { costUsd: number | null }) => typeof step.costUsd === 'number' && step.costUsd > 0)).toBe(true);
    expect(usage.costIncomplete).toBe(false);
  });

  it("an Anthropic answer cut at the step's maxOutputTokens fails the step as ProviderOutputTruncated after one attempt", async () => {
    const cut = {
      name: 'cut',
      steps: [{ id: 'short', provider: 'anthropic', task: 'generate', prompt: 'Write at length about {{input.topic}}', maxOutputTokens: 3 }],
    };
    const started = await http
      .post('/v1/workflows')
      .set(auth)
      .send({ definition: cut, input: { topic: 'queues' } })
      .expect(202);
    const done = await http.get(`${started.body.resultUrl}?waitSeconds=25`).set(auth).expect(200);
    expect(done.body.status).toBe('FAILED');
    expect(done.body.error).toMatchObject({ step: 'short', type: FailureType.ProviderOutputTruncated });
    expect(stack.simulator.requests().filter((record) => record.provider === 'anthropic')).toHaveLength(1);
  });
});
