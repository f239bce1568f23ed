import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type ProviderStepInput } from '../../activities';
import type { ProviderSettings } from '../../src/config/providers';
import { FailureType } from '../../src/pipeline/failures';
import { PROVIDER_NAMES, type ProviderName } from '../../src/pipeline/providers';
import type { PipelineDefinition, PipelineFailureDetails, PipelineResult, PipelineRunInput, StepResult } from '../../src/pipeline/types';
import { estimateTokens } from '../../simulator/model';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { pipelineWorkflow } from '../../workflows';
import { createProviderHttpClient } from '../../worker/worker';
import { TINY_PNG_DATA_URL } from '../helpers/images';
import { simulatedProviders, startTestStack, type TestStack } from '../helpers/stack';

/**
 * Every answer the providers' specs allow and Chorus once mishandled (issue 12's table), driven
 * through the simulator over real HTTP into the provider activity: each ends as its typed outcome
 * or with the corrected usage and cost.
 */
describe('provider answers the specs allow', () => {
  let simulator: RunningSimulator;
  let activities: ReturnType<typeof createActivities>;
  let providers: ProviderSettings;

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 12 });
    providers = { ...simulatedProviders(simulator.url), requestTimeoutMs: 2000, maxRetryAfterMs: 60_000 };
    activities = createActivities({ http: createProviderHttpClient(), providers });
  });
  afterAll(() => simulator.close());

  const step = (provider: ProviderName, prompt: string, overrides: Partial<ProviderStepInput> = {}): ProviderStepInput => ({
    stepId: 'step',
    provider,
    task: 'generate',
    prompt: `Write about resilient pipelines. ${prompt}`,
    ...overrides,
  });
  const quiet = { logger: new DefaultLogger('ERROR') };
  const run = (input: ProviderStepInput, using = activities): Promise<StepResult> => new MockActivityEnvironment({}, quiet).run(using.callProvider, input);
  const failureOf = async (input: ProviderStepInput, using = activities): Promise<ApplicationFailure> => {
    const error = await run(input, using).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  };
  const requestsTo = (provider: ProviderName) => simulator.requests().filter((record) => record.provider === provider);
  const price = (provider: ProviderName, model: string) => providers.prices[provider][model];

  describe('truncation is its own outcome, not a success', () => {
    it.each([
      ['openai', 'finish_reason length'],
      ['cohere', 'finish_reason MAX_TOKENS'],
      ['gemini', 'finishReason MAX_TOKENS'],
    ] as const)('%s: an answer cut at the token limit is a non-retryable ProviderOutputTruncated (%s)', async (provider, reason) => {
      const failure = await failureOf(step(provider, `[[sim:${provider}:truncate]]`));
      expect(failure).toMatchObject({ type: FailureType.ProviderOutputTruncated, nonRetryable: true });
      expect(failure.message).toContain(reason);
      expect(requestsTo(provider).at(-1)).toMatchObject({ status: 200, fault: 'truncate' });
    });

    it.each(PROVIDER_NAMES)('%s: with allowTruncated the cut answer is a success flagged truncated, with its first part and its usage', async (provider) => {
      const result = await run(step(provider, `[[sim:${provider}:truncate]]`, { allowTruncated: true }));
      expect(result).toMatchObject({ provider, truncated: true, attempt: 1 });
      expect(result.text.length).toBeGreaterThan(0);
      expect(result.usage.outputTokens).toBeGreaterThan(0);
      expect(result.costUsd).toBeGreaterThan(0);
      expect(requestsTo(provider).at(-1)).toMatchObject({ status: 200, fault: 'truncate' });
    });

    it('a complete answer is not flagged truncated, allowTruncated or not', async () => {
      expect((await run(step('openai', '', { allowTruncated: true }))).truncated).toBeUndefined();
    });

    it('allowTruncated lets only truncation through: a content block still fails', async () => {
      expect(await failureOf(step('openai', '[[sim:openai:refuse]]', { allowTruncated: true }))).toMatchObject({ type: FailureType.ProviderContentFiltered });
    });

    it('gemini: a candidate without parts (thinking used the whole budget) is ProviderOutputTruncated, not a malformed body', async () => {
      const failure = await failureOf(step('gemini', '[[sim:gemini:truncate,thinking=800]]'));
      expect(failure).toMatchObject({ type: FailureType.ProviderOutputTruncated, nonRetryable: true });
    });
  });

  describe('a generation that fails inside an HTTP 200 is a retryable failure', () => {
    it.each([
      ['cohere', '[[sim:cohere:generation-error]]', 'finish_reason ERROR'],
      ['cohere', '[[sim:cohere:generation-error,finish=TIMEOUT]]', 'finish_reason TIMEOUT'],
      ['gemini', '[[sim:gemini:generation-error]]', 'finishReason OTHER'],
    ] as const)('%s %s → ProviderGenerationFailed', async (provider, directive, reason) => {
      const failure = await failureOf(step(provider, directive));
      expect(failure).toMatchObject({ type: FailureType.ProviderGenerationFailed, nonRetryable: false });
      expect(failure.message).toContain(reason);
    });

    it('openai: its "model produced invalid content" 500 is a retryable ProviderUnavailable', async () => {
      expect(await failureOf(step('openai', '[[sim:openai:generation-error]]'))).toMatchObject({ type: FailureType.ProviderUnavailable, nonRetryable: false });
    });

    it('gemini: finishReason LANGUAGE (one of its blocking codes) is a non-retryable ProviderContentFiltered', async () => {
      const failure = await failureOf(step('gemini', '[[sim:gemini,finish=LANGUAGE]]'));
      expect(failure).toMatchObject({ type: FailureType.ProviderContentFiltered, nonRetryable: true });
      expect(failure.message).toContain('LANGUAGE');
    });
  });

  describe('optional fields are optional', () => {
    it.each(PROVIDER_NAMES)('%s: an answer without usage succeeds with usage unknown and no cost', async (provider) => {
      const result = await run(step(provider, `[[sim:${provider}:no-usage]]`));
      expect(result.text).toContain('resilient pipelines');
      expect(result).toMatchObject({ usageUnknown: true, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: null });
    });

    it.each(PROVIDER_NAMES)('%s: an answer without content succeeds with empty text', async (provider) => {
      const result = await run(step(provider, `[[sim:${provider}:no-content]]`));
      expect(result.text).toBe('');
      expect(result.usageUnknown).toBeUndefined();
      expect(result.usage.inputTokens).toBeGreaterThan(0);
    });

    it('a complete answer says nothing about unknown usage', async () => {
      expect((await run(step('openai', ''))).usageUnknown).toBeUndefined();
    });
  });

  describe('tokens are counted as billed', () => {
    it('cohere: the cost is priced from billed_units, not from tokens (which include its prompt template)', async () => {
      const result = await run(step('cohere', ''));
      const { input, output } = price('cohere', result.model);
      expect(result.billedUsage).toBeDefined();
      const billed = result.billedUsage!;
      expect(result.usage.inputTokens - billed.inputTokens).toBe(66);
      expect(result.costUsd).toBeCloseTo((billed.inputTokens * input + billed.outputTokens * output) / 1e6, 10);
      expect(result.costUsd!).toBeLessThan((result.usage.inputTokens * input + result.usage.outputTokens * output) / 1e6);
    });

    it('gemini: thoughtsTokenCount counts as output tokens and is priced as output', async () => {
      const result = await run(step('gemini', '[[sim:gemini,thinking=300]]'));
      const { input, output } = price('gemini', result.model);
      expect(result.usage.thinkingTokens).toBe(300);
      expect(result.usage.outputTokens).toBe(estimateTokens(result.text) + 300);
      expect(result.costUsd).toBeCloseTo((result.usage.inputTokens * input + result.usage.outputTokens * output) / 1e6, 10);
    });

    it('openai: reasoning tokens are reported, already inside completion_tokens', async () => {
      const result = await run(step('openai', '[[sim:openai,thinking=120]]'));
      expect(result.usage).toMatchObject({ thinkingTokens: 120, outputTokens: estimateTokens(result.text) + 120 });
    });
  });

  describe('quota and keys', () => {
    it.each([
      ['openai', 'HTTP 429'],
      ['cohere', 'HTTP 402'],
      ['gemini', 'HTTP 429'],
    ] as const)('%s: an exhausted quota (%s) is a non-retryable ProviderQuotaExhausted with no retry delay', async (provider, status) => {
      const failure = await failureOf(step(provider, `[[sim:${provider}:quota]]`));
      expect(failure).toMatchObject({ type: FailureType.ProviderQuotaExhausted, nonRetryable: true });
      expect(failure.nextRetryDelay).toBeUndefined();
      expect(failure.message).toContain(status);
    });

    it('openai: a plain rate limit is still a retryable ProviderRateLimited', async () => {
      expect(await failureOf(step('openai', '[[sim:openai:429,retry-after=3]]'))).toMatchObject({
        type: FailureType.ProviderRateLimited,
        nonRetryable: false,
        nextRetryDelay: 3000,
      });
    });

    it('gemini: the 429 delay it puts in the body (RetryInfo retryDelay) becomes nextRetryDelay', async () => {
      const failure = await failureOf(step('gemini', '[[sim:gemini:429,retry-after=37]]'));
      expect(failure).toMatchObject({ type: FailureType.ProviderRateLimited, nonRetryable: false, nextRetryDelay: 37_000 });
    });

    it.each([
      ['openai', 'HTTP 401'],
      ['cohere', 'HTTP 401'],
      ['gemini', 'HTTP 400'],
    ] as const)('%s: a wrong key (%s in its own format) is a non-retryable ProviderAuthFailed', async (provider, status) => {
      const failure = await failureOf(step(provider, `[[sim:${provider}:badkey]]`));
      expect(failure).toMatchObject({ type: FailureType.ProviderAuthFailed, nonRetryable: true });
      expect(failure.message).toContain(status);
    });

    it('gemini: any other 400 stays a ProviderRejectedRequest', async () => {
      expect(await failureOf(step('gemini', '[[sim:gemini:400]]'))).toMatchObject({ type: FailureType.ProviderRejectedRequest, nonRetryable: true });
    });

    describe('a simulator that checks credentials', () => {
      let strict: RunningSimulator;
      beforeAll(async () => {
        strict = await startSimulator({ requireCredential: true });
      });
      afterAll(() => strict.close());
      const against = (apiKey: string) => {
        const settings = simulatedProviders(strict.url);
        for (const provider of PROVIDER_NAMES) settings.endpoints[provider] = { ...settings.endpoints[provider], apiKey };
        return createActivities({ http: createProviderHttpClient(), providers: settings });
      };

      it.each(PROVIDER_NAMES)('%s: a call without a key is a non-retryable ProviderAuthFailed; with one it succeeds', async (provider) => {
        const failure = await failureOf(step(provider, ''), against(''));
        expect(failure).toMatchObject({ type: FailureType.ProviderAuthFailed, nonRetryable: true });
        expect((await run(step(provider, ''), against('test-key'))).text).toContain('resilient pipelines');
        expect(
          strict
            .requests()
            .filter((record) => record.provider === provider)
            .map((record) => [record.credentialed, record.status]),
        ).toEqual([
          [false, provider === 'gemini' ? 403 : 401],
          [true, 200],
        ]);
      });
    });
  });

  describe('a request the provider cancelled (HTTP 499) is retried', () => {
    it.each(['cohere', 'gemini'] as const)('%s: 499 is a retryable ProviderUnavailable, not a rejected request', async (provider) => {
      const failure = await failureOf(step(provider, `[[sim:${provider}:499]]`));
      expect(failure).toMatchObject({ type: FailureType.ProviderUnavailable, nonRetryable: false });
      expect(failure.message).toContain('HTTP 499');
      expect(requestsTo(provider).at(-1)).toMatchObject({ status: 499 });
    });
  });

  describe('content blocks and capabilities', () => {
    it('cohere: a 498 (blocked input or output) is a non-retryable ProviderContentFiltered', async () => {
      expect(await failureOf(step('cohere', '[[sim:cohere:498]]'))).toMatchObject({ type: FailureType.ProviderContentFiltered, nonRetryable: true });
    });

    it('cohere: an image for its text-only default model fails as ModelLacksCapability before anything is sent', async () => {
      const before = requestsTo('cohere').length;
      const failure = await failureOf(step('cohere', '', { task: 'analyze-image', prompt: 'What is in this picture?', image: TINY_PNG_DATA_URL }));
      expect(failure).toMatchObject({ type: FailureType.ModelLacksCapability, nonRetryable: true });
      expect(failure.message).toMatch(/command-r-08-2024 does not accept images.*command-a-vision/);
      expect(requestsTo('cohere').length).toBe(before);
    });

    it('cohere: the same image step on a vision model is answered', async () => {
      const result = await run(
        step('cohere', '', { task: 'analyze-image', prompt: 'What is in this picture?', image: TINY_PNG_DATA_URL, model: 'command-a-vision-07-2025' }),
      );
      expect(result.text).toContain('1x1 PNG');
    });
  });

  describe('gemini model names are resource names', () => {
    it.each([
      ['models/gemini-2.5-pro', 'gemini-2.5-pro'],
      ['tunedModels/support-replies-7', 'tunedModels/support-replies-7'],
    ])('%s keeps its "/" in the path and is answered', async (model, answeredAs) => {
      const result = await run(step('gemini', '', { model }));
      expect(result.model).toBe(answeredAs);
      expect(requestsTo('gemini').at(-1)).toMatchObject({ status: 200, model: answeredAs });
    });

    it('the simulator answers 404 for an escaped "/" (models%2F…), as Gemini does', async () => {
      const response = await fetch(`${providers.endpoints.gemini.baseUrl}/v1beta/models/models%2Fgemini-2.5-pro:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
      });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { status: string } }).error.status).toBe('NOT_FOUND');
    });

    it('a name that would climb out of the path is refused before sending', async () => {
      const before = requestsTo('gemini').length;
      expect(await failureOf(step('gemini', '', { model: 'models/../files' }))).toMatchObject({
        type: FailureType.ProviderRejectedRequest,
        nonRetryable: true,
      });
      expect(requestsTo('gemini').length).toBe(before);
    });
  });
});

/** The same outcomes through Temporal: what is retried, what is not, and what the run's usage says. */
describe('provider answers in a pipeline run', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('provider-answers', { latencyMs: 20 });
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.simulator.clearRequests());

  const oneStep = (provider: ProviderName, extra: Record<string, unknown> = {}): PipelineDefinition =>
    ({
      name: 'one-step',
      steps: [{ id: 'only', provider, task: 'generate', prompt: '{{input.prompt}}', retry: { maximumAttempts: 3, initialInterval: '100ms' }, ...extra }],
    }) as PipelineDefinition;
  const run = (pipeline: PipelineDefinition, prompt: string): Promise<PipelineResult> =>
    stack.client.workflow.execute(pipelineWorkflow, {
      workflowId: `answers-${randomUUID()}`,
      taskQueue: stack.temporal.taskQueue,
      args: [{ pipeline, input: { prompt } } satisfies PipelineRunInput],
    });
  const stepFailure = async (pipeline: PipelineDefinition, prompt: string) => {
    const error = await run(pipeline, prompt).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    return ((error as WorkflowFailedError).cause as ApplicationFailure).details?.[0] as PipelineFailureDetails;
  };
  const requests = () => stack.simulator.requests();

  it('a truncated answer fails the step after one attempt', async () => {
    const details = await stepFailure(oneStep('openai'), 'Long essay [[sim:openai:truncate]]');
    expect(details.error.type).toBe(FailureType.ProviderOutputTruncated);
    expect(requests()).toHaveLength(1);
  });

  it('a step with allowTruncated completes with the cut answer, flagged truncated, after one attempt', async () => {
    const done = await run(oneStep('gemini', { allowTruncated: true, maxOutputTokens: 20 }), 'Long essay [[sim:gemini:truncate]]');
    expect(done.steps.only).toMatchObject({ provider: 'gemini', truncated: true, attempt: 1 });
    expect(requests()).toHaveLength(1);
  });

  it('a generation error inside a 200 is retried, and the retry answers', async () => {
    const done = await run(oneStep('cohere'), 'Flaky generation [[sim:cohere:generation-errorx1]]');
    expect((done.steps.only as StepResult).attempt).toBe(2);
    expect(requests().map((record) => record.fault ?? 'ok')).toEqual(['generation-error', 'ok']);
  });

  it('an exhausted quota goes to the fallback at once instead of spending the retries', async () => {
    const done = await run(oneStep('openai', { fallback: [{ provider: 'gemini' }] }), 'Out of credit [[sim:openai:quota]]');
    expect((done.steps.only as StepResult).fallbackFrom).toMatchObject({ provider: 'openai', error: { type: FailureType.ProviderQuotaExhausted } });
    expect(requests().map((record) => record.provider)).toEqual(['openai', 'gemini']);
  });

  it('a step whose usage is unknown marks the run cost incomplete', async () => {
    const done = await run(oneStep('gemini'), 'No usage [[sim:gemini:no-usage]]');
    expect(done.usage.costIncomplete).toBe(true);
    expect((done.steps.only as StepResult).usageUnknown).toBe(true);
  });
});
