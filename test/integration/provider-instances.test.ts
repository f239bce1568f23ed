import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type ProviderStepInput } from '../../activities';
import { loadProviderSettings } from '../../src/config/providers';
import { FailureType } from '../../src/pipeline/failures';
import type { StepResult } from '../../src/pipeline/types';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { createProviderHttpClient } from '../../worker/worker';
import { TINY_PNG_DATA_URL } from '../helpers/images';

/** Configured instances and the Anthropic wire through the provider activity, against the simulator over real HTTP. */
describe('callProvider with configured instances and Anthropic', () => {
  let simulator: RunningSimulator;
  let activities: ReturnType<typeof createActivities>;

  beforeAll(async () => {
    // The simulator checks keys here, so each call proves its key reached the header its wire reads.
    simulator = await startSimulator({ seed: 3, requireCredential: true });
    const settings = loadProviderSettings({
      CHORUS_SIMULATOR_URL: simulator.url,
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: `${simulator.url}/anthropic`,
      CHORUS_PROVIDERS: 'groq',
      GROQ_BASE_URL: `${simulator.url}/compat/groq/openai/v1`,
      GROQ_API_KEY: 'gsk-test',
      GROQ_MODEL: 'llama-3.3-70b-versatile',
      GROQ_MODELS: 'llama-3.3-70b-versatile,llama-3.1-8b-instant',
      GROQ_JSON_SCHEMA: 'true',
    });
    activities = createActivities({ http: createProviderHttpClient(), providers: { ...settings, requestTimeoutMs: 1500 } });
  });
  afterAll(() => simulator.close());
  beforeEach(() => simulator.clearRequests());

  const run = (overrides: Partial<ProviderStepInput>): Promise<StepResult> => {
    const input: ProviderStepInput = { stepId: 'step', provider: 'groq', task: 'generate', prompt: 'Write about resilient pipelines.', ...overrides };
    return new MockActivityEnvironment({ attempt: 1 }, { logger: new DefaultLogger('ERROR') }).run(activities.callProvider, input);
  };
  const failureOf = async (input: Partial<ProviderStepInput>) => {
    const error = await run(input).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  };

  it('calls an instance at its own base URL with its key and default model, recorded under its name', async () => {
    const result = await run({ maxOutputTokens: 400 });
    expect(result).toMatchObject({
      provider: 'groq',
      model: 'llama-3.3-70b-versatile',
      simulated: false,
      text: expect.stringContaining('resilient pipelines'),
    });
    expect(simulator.requests()).toEqual([expect.objectContaining({ provider: 'groq', status: 200, credentialed: true, maxOutputTokens: 400 })]);
  });

  it('gets a classify answer from an instance through json_schema, and from Anthropic through its forced tool', async () => {
    for (const provider of ['groq', 'anthropic']) {
      const result = await run({ provider, task: 'classify', labels: ['billing', 'outage'], prompt: 'The invoice was charged twice.' });
      expect(result.data).toEqual({ label: expect.stringMatching(/^(billing|outage)$/), score: expect.any(Number) });
    }
    expect(simulator.requests().map((record) => `${record.provider}:${record.status}:${record.credentialed}`)).toEqual(['groq:200:true', 'anthropic:200:true']);
  });

  it('fails a step naming a provider this worker is not configured with as non-retryable ProviderNotConfigured, sending nothing', async () => {
    const failure = await failureOf({ provider: 'mistral' });
    expect(failure).toMatchObject({ type: FailureType.ProviderNotConfigured, nonRetryable: true });
    expect(failure.message).toMatch(/"mistral" is not configured on this worker; configured: openai, cohere, gemini, anthropic, groq/);
    expect(simulator.requests()).toHaveLength(0);
  });

  it("calls a model on the instance's allow-list, and fails one off it as non-retryable ModelNotAllowed, sending nothing", async () => {
    expect((await run({ model: 'llama-3.1-8b-instant' })).model).toBe('llama-3.1-8b-instant');
    simulator.clearRequests();
    const failure = await failureOf({ model: 'gpt-4o' });
    expect(failure).toMatchObject({ type: FailureType.ModelNotAllowed, nonRetryable: true });
    expect(failure.message).toBe('groq does not allow model "gpt-4o"; allowed: llama-3.3-70b-versatile, llama-3.1-8b-instant');
    expect(simulator.requests()).toHaveLength(0);
  });

  it('fails an image step on an instance without vision as ModelLacksCapability before anything is sent', async () => {
    const failure = await failureOf({ task: 'analyze-image', image: TINY_PNG_DATA_URL, prompt: 'Describe it.' });
    expect(failure).toMatchObject({ type: FailureType.ModelLacksCapability, nonRetryable: true });
    expect(failure.message).toBe('groq model llama-3.3-70b-versatile does not accept images');
    expect(simulator.requests()).toHaveLength(0);
  });

  it('Anthropic: truncation, refusal, overload and a rate limit become their typed outcomes', async () => {
    const outcome = async (directive: string) => failureOf({ provider: 'anthropic', prompt: `Write about queues. ${directive}` });
    expect(await outcome('[[sim:truncate]]')).toMatchObject({ type: FailureType.ProviderOutputTruncated, nonRetryable: true });
    expect(await outcome('[[sim:refuse]]')).toMatchObject({ type: FailureType.ProviderContentFiltered, nonRetryable: true });
    expect(await outcome('[[sim:anthropic:529]]')).toMatchObject({ type: FailureType.ProviderUnavailable, nonRetryable: false });
    const limited = await outcome('[[sim:429,retry-after=7]]');
    expect(limited).toMatchObject({ type: FailureType.ProviderRateLimited, nonRetryable: false });
    expect(limited.nextRetryDelay).toBe(7000);
    expect(await outcome('[[sim:quota]]')).toMatchObject({ type: FailureType.ProviderQuotaExhausted, nonRetryable: true });
    expect(await outcome('[[sim:badkey]]')).toMatchObject({ type: FailureType.ProviderAuthFailed, nonRetryable: true });
  });
});
