import { ActivityCancellationType, isCancellation, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import { durationMs } from '../src/pipeline/duration';
import type { ChorusActivities, ProviderStepInput } from '../activities';
import { renderTemplate } from '../src/pipeline/template';
import type { FallbackTarget, ParallelStep, ProviderCallSpec, ProviderStep, StepFailureInfo, StepResult } from '../src/pipeline/types';
import type { ProviderName } from '../src/pipeline/providers';
import { providerTaskQueue } from '../src/pipeline/task-queues';
import type { RunState } from './run-state';
import { allCancellingSiblings } from './siblings';
import { asStepFailure, canFallBack, failureInfo, StepFailed } from './step-failure';

/** Step defaults: a provider call gets 5 tries with backoff; a silent worker is noticed within 10 s. */
const DEFAULT_RETRY = { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
const DEFAULT_START_TO_CLOSE = '60s';
const DEFAULT_HEARTBEAT = '10s';

function activityOptions(spec: ProviderCallSpec, activityId: string, provider: ProviderName): ActivityOptions {
  return {
    activityId,
    // Each provider has its own queue (and rate limit); only the scheduling changes, not the activity.
    taskQueue: providerTaskQueue(workflowInfo().taskQueue, provider),
    startToCloseTimeout: durationMs(spec.timeout?.startToClose ?? DEFAULT_START_TO_CLOSE),
    heartbeatTimeout: durationMs(spec.timeout?.heartbeat ?? DEFAULT_HEARTBEAT),
    // A cancelled run closes only after its provider call has really stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: spec.retry?.maximumAttempts ?? DEFAULT_RETRY.maximumAttempts,
      initialInterval: durationMs(spec.retry?.initialInterval ?? DEFAULT_RETRY.initialInterval),
      backoffCoefficient: spec.retry?.backoffCoefficient ?? DEFAULT_RETRY.backoffCoefficient,
      maximumInterval: durationMs(spec.retry?.maximumInterval ?? DEFAULT_RETRY.maximumInterval),
    },
  };
}

/**
 * One provider call site: renders its templates, calls the provider, then each fallback in turn
 * once the one before has failed for good. Fails with the first target's failure.
 */
export async function callWithFallback(spec: ProviderCallSpec, stepId: string, activityId: string, scope: Record<string, unknown>): Promise<StepResult> {
  const request: ProviderStepInput = asStepFailure(stepId, () => ({
    stepId,
    provider: spec.provider,
    model: spec.model,
    task: spec.task,
    prompt: renderTemplate(spec.prompt, scope),
    labels: spec.labels,
    schema: spec.schema,
    image: spec.image === undefined ? undefined : renderTemplate(spec.image, scope),
  }));
  const targets: FallbackTarget[] = [{ provider: spec.provider, model: spec.model }, ...(spec.fallback ?? [])];
  let firstFailure: { provider: ProviderName; info: StepFailureInfo; error: unknown } | undefined;
  for (const [index, target] of targets.entries()) {
    const { callProvider } = proxyActivities<ChorusActivities>(activityOptions(spec, index === 0 ? activityId : `${activityId}~${target.provider}`, target.provider));
    try {
      const result = await callProvider({ ...request, provider: target.provider, model: target.model });
      return firstFailure ? { ...result, fallbackFrom: { provider: firstFailure.provider, error: firstFailure.info } } : result;
    } catch (error) {
      if (isCancellation(error)) throw error;
      const info = failureInfo(error);
      firstFailure ??= { provider: target.provider, info, error };
      if (!canFallBack(info)) break;
    }
  }
  throw new StepFailed(stepId, firstFailure!.info, firstFailure!.error);
}

/** A plain provider step (or one member of a parallel group): its answer becomes `steps.<id>`. */
export async function runProviderStep(step: ProviderStep, run: RunState): Promise<void> {
  const state = run.entry(step.id);
  state.status = 'running';
  try {
    const result = await callWithFallback(step, step.id, step.id, run.scope);
    run.outputs[step.id] = result;
    state.status = 'done';
    state.attempts = result.attempt;
  } catch (error) {
    if (!isCancellation(error)) state.status = 'failed';
    if (error instanceof StepFailed) state.error = error.info;
    throw error;
  }
}

/** The members of a parallel group at once; a member that fails cancels the others. */
export function runParallelStep(step: ParallelStep, run: RunState): Promise<void> {
  return allCancellingSiblings(step.parallel.map((member) => () => runProviderStep(member, run)));
}
