import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import type { ProviderStepInput } from '../../activities';
import { FailureType } from '../../src/pipeline/failures';
import type { ApprovalOutcome, PipelineDefinition, PipelineFailureDetails, PipelineRunInput, StepResult } from '../../src/pipeline/types';
import { pipelineWorkflow } from '../../workflows';
import { approvalUpdate, progressQuery } from '../../workflows/definitions';
import { waitFor } from '../helpers/wait';
import { withStubbedActivities, type StubbedRuns } from '../helpers/stub-workers';

/**
 * The pipeline workflow with plain functions as its activities: what depends on time (approval
 * timeouts) and the order of retries and fallbacks, without a provider or the simulator.
 *
 * Temporal's time-skipping environment (TestWorkflowEnvironment.createTimeSkipping) runs the Java
 * test server, which the SDK downloads as a prebuilt binary; nothing may be downloaded here, and
 * the Temporal CLI's dev server does not skip time. So these run on the shared dev server with
 * timeouts of a second or less.
 */

/** One provider call as the stub saw it: `<provider>#<attempt>`. */
type CallRecord = string;

function answer(input: ProviderStepInput): StepResult {
  return {
    provider: input.provider,
    model: input.model ?? 'stub-model',
    text: `${input.provider} says: ${input.prompt}`,
    usage: { inputTokens: 3, outputTokens: 4 },
    costUsd: 0,
    latencyMs: 1,
    simulated: true,
    attempt: Context.current().info.attempt,
  };
}

/** A callProvider whose providers behave as `behaviour` says, recording every attempt in order. */
function stubProvider(behaviour: (input: ProviderStepInput, attempt: number) => StepResult | Error) {
  const calls: CallRecord[] = [];
  const callProvider = async (input: ProviderStepInput): Promise<StepResult> => {
    const { attempt } = Context.current().info;
    calls.push(`${input.provider}#${attempt}`);
    const outcome = behaviour(input, attempt);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
  return { calls, callProvider };
}

const unavailable = () => ApplicationFailure.retryable('Simulated outage', FailureType.ProviderUnavailable);
const refusedKey = () => ApplicationFailure.nonRetryable('Simulated bad key', FailureType.ProviderAuthFailed);

const start = (runs: StubbedRuns, pipeline: PipelineDefinition, input: Record<string, unknown> = { topic: 'durable jobs' }) =>
  runs.client.workflow.start(pipelineWorkflow, {
    workflowId: `${pipeline.name}-${randomUUID()}`,
    taskQueue: runs.taskQueue,
    args: [{ pipeline, input } satisfies PipelineRunInput],
  });

async function stepFailure(result: Promise<unknown>): Promise<PipelineFailureDetails> {
  const error = await result.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause.type).toBe(FailureType.PipelineStepFailed);
  return cause.details?.[0] as PipelineFailureDetails;
}

const reviewed = (approval: Record<string, unknown>): PipelineDefinition =>
  ({
    name: 'reviewed',
    steps: [
      { id: 'review', approval: { prompt: 'Publish {{input.topic}}?', ...approval } },
      { id: 'teaser', provider: 'cohere', task: 'summarize', prompt: 'Teaser of {{input.topic}}' },
    ],
  }) as PipelineDefinition;

describe('pipeline workflow with stubbed activities: approval timeouts', () => {
  it('onTimeout approve: the timeout approves, and the later steps run', async () => {
    const provider = stubProvider((input) => answer(input));
    await withStubbedActivities('approval-timeout-approve', { callProvider: provider.callProvider }, async (runs) => {
      const handle = await start(runs, reviewed({ timeout: '1s', onTimeout: 'approve' }));
      const result = await handle.result();
      const review = result.steps.review as ApprovalOutcome;
      expect(review).toEqual({ decision: 'approved', comment: null, by: null, decidedAt: expect.any(String), timedOut: true });
      const startedAt = (await handle.describe()).startTime.getTime();
      expect(Date.parse(review.decidedAt) - startedAt).toBeGreaterThanOrEqual(1000);
      expect(result.progress.map((step) => step.status)).toEqual(['done', 'done']);
      expect(provider.calls).toEqual(['cohere#1']);
    });
  });

  it('onTimeout reject (the default): the timeout rejects and fails the run as ApprovalRejected, before any later call', async () => {
    const provider = stubProvider((input) => answer(input));
    await withStubbedActivities('approval-timeout-reject', { callProvider: provider.callProvider }, async (runs) => {
      const details = await stepFailure(start(runs, reviewed({ timeout: '1s' })).then((handle) => handle.result()));
      expect(details.step).toBe('review');
      expect(details.error).toEqual({ type: FailureType.ApprovalRejected, message: 'No decision before the approval timeout' });
      expect(details.progress.map((step) => step.status)).toEqual(['failed', 'pending']);
      expect(provider.calls).toEqual([]);
    });
  });

  it('a decision before the timeout wins over it: the run waits with its deadline shown, then goes on', async () => {
    const provider = stubProvider((input) => answer(input));
    await withStubbedActivities('approval-decided', { callProvider: provider.callProvider }, async (runs) => {
      const handle = await start(runs, reviewed({ timeout: '1h', onTimeout: 'reject' }));
      const waiting = await waitFor('the run to wait at its approval', () => handle.query(progressQuery), {
        timeoutMs: 10_000,
        until: (progress) => progress[0].status === 'waiting',
      });
      const startedAt = (await handle.describe()).startTime.getTime();
      expect(waiting[0].approval).toEqual({ prompt: 'Publish durable jobs?', timeoutAt: expect.any(String) });
      expect(Date.parse(waiting[0].approval!.timeoutAt!) - startedAt).toBeGreaterThanOrEqual(3_600_000 - 1000);
      expect(await handle.executeUpdate(approvalUpdate, { args: [{ decision: 'approved', comment: 'ship it', by: 'editor' }] })).toEqual({ step: 'review' });
      const result = await handle.result();
      expect(result.steps.review).toMatchObject({ decision: 'approved', comment: 'ship it', by: 'editor', timedOut: false });
      expect(provider.calls).toEqual(['cohere#1']);
    });
  });
});

describe('pipeline workflow with stubbed activities: retries and fallbacks', () => {
  const fallbackStep = (retry: Record<string, unknown>): PipelineDefinition => ({
    name: 'fallbacks',
    steps: [
      {
        id: 'only',
        provider: 'openai',
        task: 'generate',
        prompt: 'About {{input.topic}}',
        retry: { initialInterval: '50ms', backoffCoefficient: 1, ...retry },
        fallback: [{ provider: 'cohere' }, { provider: 'gemini', model: 'gemini-2.5-flash' }],
      },
    ],
  });

  it('the primary exhausts its retries, then fallback 1 exhausts its own, then fallback 2 answers', async () => {
    const provider = stubProvider((input) => (input.provider === 'gemini' ? answer(input) : unavailable()));
    await withStubbedActivities('fallback-order', { callProvider: provider.callProvider }, async (runs: StubbedRuns) => {
      const result = await (await start(runs, fallbackStep({ maximumAttempts: 3 }))).result();
      expect(provider.calls).toEqual(['openai#1', 'openai#2', 'openai#3', 'cohere#1', 'cohere#2', 'cohere#3', 'gemini#1']);
      expect(result.steps.only).toMatchObject({
        provider: 'gemini',
        model: 'gemini-2.5-flash',
        attempt: 1,
        fallbackFrom: { provider: 'openai', error: { type: FailureType.ProviderUnavailable, message: 'Simulated outage' } },
      });
    });
  });

  it('a non-retryable failure moves to the next fallback at once; when every target fails, the first failure is reported', async () => {
    const provider = stubProvider((input) => (input.provider === 'cohere' ? refusedKey() : unavailable()));
    await withStubbedActivities('fallback-all-fail', { callProvider: provider.callProvider }, async (runs: StubbedRuns) => {
      const details = await stepFailure((await start(runs, fallbackStep({ maximumAttempts: 2 }))).result());
      expect(provider.calls).toEqual(['openai#1', 'openai#2', 'cohere#1', 'gemini#1', 'gemini#2']);
      expect(details).toMatchObject({ step: 'only', error: { type: FailureType.ProviderUnavailable } });
      expect(details.progress).toEqual([
        { id: 'only', provider: 'openai', status: 'failed', error: { type: FailureType.ProviderUnavailable, message: 'Simulated outage' } },
      ]);
    });
  });

  it('a failure of the step itself (a rejected image) fails the step without trying a fallback', async () => {
    const provider = stubProvider(() => ApplicationFailure.nonRetryable('Not an image', FailureType.ImageRejected));
    await withStubbedActivities('fallback-image', { callProvider: provider.callProvider }, async (runs: StubbedRuns) => {
      const details = await stepFailure((await start(runs, fallbackStep({ maximumAttempts: 2 }))).result());
      expect(provider.calls).toEqual(['openai#1']);
      expect(details.error.type).toBe(FailureType.ImageRejected);
    });
  });
});

describe('pipeline workflow with stubbed activities: open circuit breakers', () => {
  /** The breaker as the activity applies it: an open provider answers ProviderUnhealthy to a call with a fallback left, and is called otherwise. */
  const openBreakers = (open: string[]) => {
    const seen: string[] = [];
    const provider = stubProvider((input) => {
      seen.push(`${input.provider}:${input.fallbackAvailable === true ? 'has-fallback' : 'last'}`);
      return open.includes(input.provider) && input.fallbackAvailable
        ? ApplicationFailure.nonRetryable('breaker open', FailureType.ProviderUnhealthy)
        : answer(input);
    });
    return { ...provider, seen };
  };
  const pipeline: PipelineDefinition = {
    name: 'breakers',
    steps: [
      { id: 'plain', provider: 'openai', task: 'generate', prompt: 'x', fallback: [{ provider: 'cohere' }, { provider: 'openai', model: 'gpt-4o' }] },
      {
        id: 'each',
        map: { over: 'input.docs', concurrency: 2, step: { provider: 'openai', task: 'summarize', prompt: '{{item}}', fallback: [{ provider: 'gemini' }] } },
      },
      { id: 'healthy', provider: 'cohere', task: 'generate', prompt: 'y', fallback: [{ provider: 'gemini' }] },
    ],
  };

  it('tells each target whether a fallback follows it, skips open providers at once, and marks the steps skippedUnhealthy', async () => {
    const provider = openBreakers(['openai']);
    await withStubbedActivities('breakers', { callProvider: provider.callProvider }, async (runs: StubbedRuns) => {
      const result = await (await start(runs, pipeline, { docs: ['a', 'b', 'c'] })).result();
      // One attempt each: ProviderUnhealthy is not retried.
      expect(provider.calls.filter((call) => call.startsWith('openai'))).toEqual(['openai#1', 'openai#1', 'openai#1', 'openai#1']);
      expect([...provider.seen].sort()).toEqual([
        ...Array(2).fill('cohere:has-fallback'),
        ...Array(3).fill('gemini:last'),
        ...Array(4).fill('openai:has-fallback'),
      ]);
      expect(result.steps.plain).toMatchObject({ provider: 'cohere', fallbackFrom: { provider: 'openai', error: { type: FailureType.ProviderUnhealthy } } });
      expect(result.progress.map(({ id, status, skippedUnhealthy }) => ({ id, status, skippedUnhealthy }))).toEqual([
        { id: 'plain', status: 'done', skippedUnhealthy: ['openai'] },
        { id: 'each', status: 'done', skippedUnhealthy: ['openai'] },
        { id: 'healthy', status: 'done', skippedUnhealthy: undefined },
      ]);
    });
  });
});
