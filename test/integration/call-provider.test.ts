import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type ProviderStepInput } from '../../activities';
import { FailureType } from '../../src/pipeline/failures';
import type { StepResult } from '../../src/pipeline/types';
import { PROVIDER_NAMES } from '../../src/pipeline/providers';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server';
import { createProviderHttpClient } from '../../src/worker/worker';
import { simulatedProviders } from '../helpers/stack';

/** The provider activity against the real simulator over real HTTP, in a mocked activity context. */
describe('callProvider activity', () => {
  let simulator: RunningSimulator;
  let activities: ReturnType<typeof createActivities>;

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 11 });
    activities = createActivities({
      http: createProviderHttpClient(),
      providers: { ...simulatedProviders(simulator.url), requestTimeoutMs: 1500, maxRetryAfterMs: 60_000 },
    });
  });
  afterAll(() => simulator.close());

  const step = (overrides: Partial<ProviderStepInput>): ProviderStepInput => ({
    stepId: 'step',
    provider: 'openai',
    task: 'generate',
    prompt: 'Write about resilient pipelines.',
    ...overrides,
  });
  const quiet = { logger: new DefaultLogger('ERROR') };
  const run = (input: ProviderStepInput, env = new MockActivityEnvironment({ attempt: 2 }, quiet)): Promise<StepResult> =>
    env.run(activities.callProvider, input);
  const failureOf = async (input: ProviderStepInput): Promise<ApplicationFailure> => {
    const error = await run(input).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  };

  it.each(PROVIDER_NAMES)('%s: returns text, token usage, model, provider, latency and the simulated label', async (provider) => {
    const result = await run(step({ provider }));
    expect(result).toMatchObject({ provider, simulated: true, attempt: 2 });
    expect(result.text).toContain('resilient pipelines');
    expect(result.model).toBe(simulatedProviders(simulator.url).endpoints[provider].defaultModel);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it.each(PROVIDER_NAMES)('%s: a sentiment step returns a parsed {label, score}', async (provider) => {
    const result = await run(step({ provider, task: 'sentiment', prompt: 'Sentiment?\n\nA great and happy success.' }));
    expect(result.data).toEqual({ label: 'positive', score: 1 });
  });

  it('uses the model the step names', async () => {
    expect((await run(step({ provider: 'gemini', model: 'gemini-2.5-pro' }))).model).toBe('gemini-2.5-pro');
  });

  it('a 503 is a retryable ProviderUnavailable', async () => {
    const failure = await failureOf(step({ prompt: 'x [[sim:503]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderUnavailable, nonRetryable: false });
  });

  it('a 429 carries the Retry-After as nextRetryDelay', async () => {
    const failure = await failureOf(step({ provider: 'cohere', prompt: 'x [[sim:429,retry-after=7]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderRateLimited, nonRetryable: false, nextRetryDelay: 7000 });
  });

  it('a 401 is a non-retryable ProviderAuthFailed', async () => {
    const failure = await failureOf(step({ provider: 'gemini', prompt: 'x [[sim:401]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderAuthFailed, nonRetryable: true });
  });

  it('a body that is not the provider format is a retryable ProviderMalformedResponse', async () => {
    const failure = await failureOf(step({ prompt: 'x [[sim:malformed]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderMalformedResponse, nonRetryable: false });
  });

  it('a provider that hangs is cut off at the request timeout as a retryable ProviderTimeout', async () => {
    const failure = await failureOf(step({ prompt: 'x [[sim:hang]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderTimeout, nonRetryable: false });
  });

  it('a sentiment answer that does not fit the schema is a retryable InvalidModelOutput', async () => {
    const failure = await failureOf(step({ provider: 'gemini', task: 'sentiment', prompt: 'x [[sim:nonsense]]' }));
    expect(failure).toMatchObject({ type: FailureType.InvalidModelOutput, nonRetryable: false });
  });

  it('an unreachable provider is a retryable ProviderNetworkError', async () => {
    const unreachable = createActivities({
      http: createProviderHttpClient(),
      providers: simulatedProviders('http://127.0.0.1:1'),
    });
    const error = await new MockActivityEnvironment({}, quiet).run(unreachable.callProvider, step({})).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ type: FailureType.ProviderNetworkError, nonRetryable: false });
  });

  it('cancellation aborts the in-flight HTTP call', async () => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 300 }, quiet);
    const call = run(step({ prompt: 'x [[sim:latency=5000]]' }), env);
    await new Promise((resolve) => setTimeout(resolve, 200));
    env.cancel();
    const startedWaiting = Date.now();
    await expect(call).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - startedWaiting).toBeLessThan(1000);
  });
});
