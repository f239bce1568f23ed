import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type ProviderStepInput } from '../../activities';
import { FailureType } from '../../src/pipeline/failures';
import { PROVIDER_NAMES, type ProviderName } from '../../src/pipeline/providers';
import type { StepResult } from '../../src/pipeline/types';
import { createMemoryTokenStream, TOKEN_STREAM_START, type TokenEvent, type TokenStream } from '../../src/streaming/token-stream';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { createProviderHttpClient } from '../../worker/worker';
import { simulatedProviders } from '../helpers/stack';

/**
 * The provider activity streaming from the simulator: each wire's streamed answer folds into the
 * very StepResult the unstreamed call returns (text, data, usage, model, typed failures), the text
 * pieces go out as token events as they come, and a stream cut or stalled mid-answer fails like a
 * dropped connection or a timeout.
 */
describe('callProvider streams from the provider when token events have a transport', () => {
  let simulator: RunningSimulator;
  let plain: ReturnType<typeof createActivities>;
  let streaming: ReturnType<typeof createActivities>;
  let tokens: TokenStream;
  const RUN_ID = 'streamed-run';

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 5 });
    const providers = { ...simulatedProviders(simulator.url), requestTimeoutMs: 1500, maxRetryAfterMs: 60_000 };
    tokens = createMemoryTokenStream();
    plain = createActivities({ http: createProviderHttpClient(), providers });
    streaming = createActivities({ http: createProviderHttpClient(), providers, tokens });
  });
  afterAll(() => simulator.close());

  const quiet = { logger: new DefaultLogger('ERROR') };
  const env = (attempt = 1) => new MockActivityEnvironment({ attempt, activityId: 'draft', workflowExecution: { workflowId: 'wf', runId: RUN_ID } }, quiet);
  const step = (overrides: Partial<ProviderStepInput>): ProviderStepInput => ({
    stepId: 'draft',
    provider: 'openai',
    task: 'generate',
    prompt: 'Explain in a few sentences why streamed answers help chat interfaces.',
    ...overrides,
  });
  const settled = (promise: Promise<StepResult>) =>
    promise.then(
      (result) => ({ result, failure: undefined }),
      (failure: unknown) => ({ result: undefined, failure: failure as ApplicationFailure }),
    );
  /** The same input through both activities; latency is the only field allowed to differ. */
  async function both(input: ProviderStepInput, attempt = 1) {
    const reader = tokens.openReader(RUN_ID);
    const before = (await reader.read(TOKEN_STREAM_START, 0)).at(-1)?.id ?? TOKEN_STREAM_START;
    const unstreamed = await settled(env(attempt).run(plain.callProvider, input));
    const streamed = await settled(env(attempt).run(streaming.callProvider, input));
    const events: TokenEvent[] = await reader.read(before, 0);
    await reader.close();
    return { unstreamed, streamed, events };
  }
  const withoutLatency = (result: StepResult | undefined) => result && { ...result, latencyMs: 0 };
  const failureShape = (failure: ApplicationFailure | undefined) =>
    failure && { type: failure.type, nonRetryable: failure.nonRetryable, nextRetryDelay: failure.nextRetryDelay };

  it.each(PROVIDER_NAMES)(
    '%s: the streamed answer is the unstreamed StepResult, its text published piece by piece after an attempt event',
    async (provider) => {
      const { unstreamed, streamed, events } = await both(step({ provider }), 3);
      expect(withoutLatency(streamed.result)).toEqual(withoutLatency(unstreamed.result));
      expect(events[0]).toMatchObject({ kind: 'attempt', step: 'draft', call: 'draft', attempt: 3 });
      const pieces = events.filter((event) => event.kind === 'token');
      expect(pieces.length).toBeGreaterThan(3);
      expect(pieces.every((event) => event.attempt === 3 && event.step === 'draft')).toBe(true);
      expect(pieces.map((event) => event.text).join('')).toBe(streamed.result!.text);
      expect(events.length).toBe(pieces.length + 1);
    },
  );

  it.each(PROVIDER_NAMES)('%s: a structured answer (sentiment) streams into the same data and usage', async (provider) => {
    const { unstreamed, streamed } = await both(step({ provider, task: 'sentiment', prompt: 'Sentiment?\n\nA great and happy success.' }));
    expect(streamed.result?.data).toEqual({ label: 'positive', score: 1 });
    expect(withoutLatency(streamed.result)).toEqual(withoutLatency(unstreamed.result));
  });

  const FAULTS: [ProviderName, string, FailureType | 'usageUnknown'][] = [
    ['openai', 'truncate', FailureType.ProviderOutputTruncated],
    ['cohere', 'truncate', FailureType.ProviderOutputTruncated],
    ['gemini', 'truncate,thinking=500', FailureType.ProviderOutputTruncated],
    ['anthropic', 'truncate', FailureType.ProviderOutputTruncated],
    ['openai', 'refuse', FailureType.ProviderContentFiltered],
    ['gemini', 'refuse', FailureType.ProviderContentFiltered],
    ['anthropic', 'refuse', FailureType.ProviderContentFiltered],
    ['cohere', 'generation-error', FailureType.ProviderGenerationFailed],
    ['gemini', 'generation-error', FailureType.ProviderGenerationFailed],
    ['openai', 'generation-error', FailureType.ProviderUnavailable],
    ['cohere', '429,retry-after=7', FailureType.ProviderRateLimited],
    ['gemini', '429,retry-after=9', FailureType.ProviderRateLimited],
    ['anthropic', '503', FailureType.ProviderUnavailable],
    ['openai', 'quota', FailureType.ProviderQuotaExhausted],
    ['gemini', 'badkey', FailureType.ProviderAuthFailed],
    ['openai', 'malformed', FailureType.ProviderMalformedResponse],
    ['anthropic', 'no-usage', 'usageUnknown'],
    ['gemini', 'no-usage', 'usageUnknown'],
  ];
  it.each(FAULTS)('%s [[sim:%s]]: streamed and unstreamed end alike (%s)', async (provider, fault, expected) => {
    const { unstreamed, streamed } = await both(step({ provider, prompt: `Say something. [[sim:${fault}]]` }));
    expect(failureShape(streamed.failure)).toEqual(failureShape(unstreamed.failure));
    expect(withoutLatency(streamed.result)).toEqual(withoutLatency(unstreamed.result));
    if (expected === 'usageUnknown') expect(streamed.result?.usageUnknown).toBe(true);
    else expect(streamed.failure?.type).toBe(expected);
  });

  it.each(PROVIDER_NAMES)('%s: a stream cut mid-answer is a retryable ProviderNetworkError, like a connection dropped before the answer', async (provider) => {
    const { unstreamed, streamed, events } = await both(step({ provider, prompt: 'Tell a long story about retries. [[sim:cut]]' }));
    expect(unstreamed.failure).toMatchObject({ type: FailureType.ProviderNetworkError, nonRetryable: false });
    expect(failureShape(streamed.failure)).toEqual(failureShape(unstreamed.failure));
    // Half the stream came before the cut: those pieces went out, under the attempt that failed.
    expect(events.filter((event) => event.kind === 'token').length).toBeGreaterThan(0);
  });

  it.each(PROVIDER_NAMES)('%s: a stream that stalls mid-answer is a retryable ProviderTimeout after the request timeout, like a hang', async (provider) => {
    const startedAt = Date.now();
    const { unstreamed, streamed } = await both(step({ provider, prompt: 'Tell a long story about timeouts. [[sim:stall]]' }));
    expect(unstreamed.failure).toMatchObject({ type: FailureType.ProviderTimeout, nonRetryable: false });
    expect(failureShape(streamed.failure)).toEqual(failureShape(unstreamed.failure));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2 * 1500);
  });
});
