import {
  ActivityCancellationType,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { ChorusActivities, ProviderStepInput } from '../activities';
import { describeRefusal, type BudgetLedger, type PlannedCall } from '../src/pipeline/budget';
import { durationMs } from '../src/pipeline/duration';
import { FailureType } from '../src/pipeline/failures';
import { renderTemplate } from '../src/pipeline/template';
import {
  DEFAULT_EXECUTION,
  DEFAULT_STEP_RETRY_BUDGET,
  type ExecutionMode,
  type FallbackTarget,
  type ParallelStep,
  type ProviderCallSpec,
  type PipelineRunInput,
  type ProviderStep,
  type RunDefaults,
  type StepFailureInfo,
  type StepResult,
} from '../src/pipeline/types';
import type { ProviderName } from '../src/pipeline/providers';
import { providerTaskQueue } from '../src/pipeline/task-queues';
import type { RunState } from './run-state';
import { allCancellingSiblings } from './siblings';
import { asStepFailure, canFallBack, failureInfo, StepFailed, type RunBudgetRefusal } from './step-failure';

/** Step defaults: transient failures are retried with backoff for a time budget; a silent worker is noticed within 10 s. */
const DEFAULT_BACKOFF = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
const DEFAULT_START_TO_CLOSE = '60s';
const DEFAULT_HEARTBEAT = '10s';

/**
 * How long (or how often) a call is retried: by count when the step sets maximumAttempts, by its
 * budget when it sets one, else by the run's default budget.
 */
function retryLimits(spec: ProviderCallSpec, defaults: RunDefaults | undefined): { maximumAttempts?: number; budget?: string } {
  const maximumAttempts = spec.retry?.maximumAttempts;
  const budget = spec.retry?.budget ?? (maximumAttempts === undefined ? (defaults?.retryBudget ?? DEFAULT_STEP_RETRY_BUDGET) : undefined);
  return { maximumAttempts, budget };
}

function retryPolicy(spec: ProviderCallSpec, maximumAttempts: number | undefined): RetryPolicy {
  return {
    ...(maximumAttempts === undefined ? {} : { maximumAttempts }),
    initialInterval: durationMs(spec.retry?.initialInterval ?? DEFAULT_BACKOFF.initialInterval),
    backoffCoefficient: spec.retry?.backoffCoefficient ?? DEFAULT_BACKOFF.backoffCoefficient,
    maximumInterval: durationMs(spec.retry?.maximumInterval ?? DEFAULT_BACKOFF.maximumInterval),
  };
}

function activityOptions(spec: ProviderCallSpec, activityId: string, provider: ProviderName, defaults: RunDefaults | undefined): ActivityOptions {
  const { maximumAttempts, budget } = retryLimits(spec, defaults);
  return {
    activityId,
    // Each provider has its own queue (and rate limit); only the scheduling changes, not the activity.
    taskQueue: providerTaskQueue(workflowInfo().taskQueue, provider),
    startToCloseTimeout: durationMs(spec.timeout?.startToClose ?? DEFAULT_START_TO_CLOSE),
    heartbeatTimeout: durationMs(spec.timeout?.heartbeat ?? DEFAULT_HEARTBEAT),
    ...(budget === undefined ? {} : { scheduleToCloseTimeout: durationMs(budget) }),
    // A cancelled run closes only after its provider call has really stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: retryPolicy(spec, maximumAttempts),
  };
}

/** The text a call sends besides its prompt, as the ledger estimates its input: the task's schema and labels go into its instructions. */
function instructionChars(spec: ProviderCallSpec): number {
  return (spec.schema ? JSON.stringify(spec.schema).length : 0) + (spec.labels?.join(', ').length ?? 0);
}

/**
 * A retry wait up to this long stays in the worker (no server round trip); a longer one becomes a
 * durable timer, so a crash during it repeats nothing and the workflow task is not held open.
 */
const LOCAL_RETRY_THRESHOLD = '5s';

/**
 * The same policy for a local activity: the budget bounds every attempt and wait (scheduleToClose),
 * startToClose each attempt. No heartbeat: a dead worker is noticed by its workflow task's timeout.
 */
function localActivityOptions(spec: ProviderCallSpec, defaults: RunDefaults | undefined): LocalActivityOptions {
  const { maximumAttempts, budget } = retryLimits(spec, defaults);
  return {
    startToCloseTimeout: durationMs(spec.timeout?.startToClose ?? DEFAULT_START_TO_CLOSE),
    ...(budget === undefined ? {} : { scheduleToCloseTimeout: durationMs(budget) }),
    localRetryThreshold: LOCAL_RETRY_THRESHOLD,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: retryPolicy(spec, maximumAttempts),
  };
}

/** A step's own cache at any temperature; its pipeline's only where sampling cannot make answers differ on purpose. */
function cacheOf(spec: ProviderCallSpec, run: PipelineRunInput): Pick<ProviderStepInput, 'cacheTtlMs'> {
  const cache = spec.cache ?? ((spec.temperature ?? 0) > 0 ? undefined : run.pipeline.cache);
  return cache ? { cacheTtlMs: durationMs(cache.ttl) } : {};
}

/** A step's own mode, else its pipeline's, else the default. */
export function executionOf(spec: ProviderCallSpec, run: PipelineRunInput): ExecutionMode {
  return spec.execution ?? run.pipeline.execution ?? DEFAULT_EXECUTION;
}

function callProviderFor(spec: ProviderCallSpec, activityId: string, provider: ProviderName, run: PipelineRunInput): ChorusActivities['callProvider'] {
  if (executionOf(spec, run) === 'local') return proxyLocalActivities<ChorusActivities>(localActivityOptions(spec, run.defaults)).callProvider;
  return proxyActivities<ChorusActivities>(activityOptions(spec, activityId, provider, run.defaults)).callProvider;
}

/**
 * One provider call site: renders its templates, calls the provider, then each fallback in turn
 * once the one before has failed for good. Fails with the first target's failure. Under a budget,
 * each target's worst case is reserved before it is called: a target that does not fit is not
 * called (BudgetExceeded), and a cheaper fallback may still be. A target whose circuit breaker is
 * open answers ProviderUnhealthy at once; `onSkippedUnhealthy` hears of it.
 */
export async function callWithFallback(
  spec: ProviderCallSpec,
  stepId: string,
  activityId: string,
  scope: Record<string, unknown>,
  run: PipelineRunInput,
  budget?: BudgetLedger,
  onSkippedUnhealthy: (provider: ProviderName) => void = () => undefined,
): Promise<StepResult> {
  const request: ProviderStepInput = asStepFailure(stepId, () => ({
    stepId,
    provider: spec.provider,
    model: spec.model,
    task: spec.task,
    prompt: renderTemplate(spec.prompt, scope),
    labels: spec.labels,
    schema: spec.schema,
    image: spec.image === undefined ? undefined : renderTemplate(spec.image, scope),
    maxOutputTokens: spec.maxOutputTokens,
    temperature: spec.temperature,
    stopSequences: spec.stopSequences,
    allowTruncated: spec.allowTruncated,
    ...cacheOf(spec, run),
  }));
  const targets: FallbackTarget[] = [{ provider: spec.provider, model: spec.model }, ...(spec.fallback ?? [])];
  let firstFailure: { provider: ProviderName; info: StepFailureInfo; error: unknown; budgetRefusal?: RunBudgetRefusal } | undefined;
  // Patched: runs recorded before circuit breakers scheduled their calls without this field.
  const breakerAware = patched('chorus-provider-breaker');
  // Patched: runs recorded before tenant caps scheduled their calls without their tenant.
  const metered = run.tenant !== undefined && patched('chorus-tenant-spend') ? { tenant: run.tenant, pipeline: run.pipeline.name } : {};
  for (const [index, target] of targets.entries()) {
    const targetActivityId = index === 0 ? activityId : `${activityId}~${target.provider}`;
    const planned: PlannedCall = {
      provider: target.provider,
      model: target.model,
      inputChars: request.prompt.length + instructionChars(spec),
      hasImage: request.image !== undefined,
      maxOutputTokens: spec.maxOutputTokens,
    };
    const refusal = budget?.reserve(targetActivityId, planned);
    if (refusal) {
      firstFailure ??= {
        provider: target.provider,
        info: { type: FailureType.BudgetExceeded, message: describeRefusal(refusal) },
        error: undefined,
        budgetRefusal: { call: targetActivityId, planned, refusal },
      };
      continue;
    }
    const callProvider = callProviderFor(spec, targetActivityId, target.provider, run);
    try {
      const result = await callProvider({
        ...request,
        provider: target.provider,
        model: target.model,
        ...(breakerAware ? { fallbackAvailable: index < targets.length - 1 } : {}),
        ...metered,
      });
      budget?.settle(targetActivityId, result);
      return firstFailure ? { ...result, fallbackFrom: { provider: firstFailure.provider, error: firstFailure.info } } : result;
    } catch (error) {
      const info = isCancellation(error) ? undefined : failureInfo(error);
      // An answer cut at its output limit was generated, and billed, in full: its hold is spent; any other failure has no answer to pay for.
      if (info?.type === FailureType.ProviderOutputTruncated) budget?.spendHold(targetActivityId);
      else budget?.release(targetActivityId);
      if (!info) throw error;
      if (info.type === FailureType.ProviderUnhealthy) onSkippedUnhealthy(target.provider);
      firstFailure ??= { provider: target.provider, info, error };
      if (!canFallBack(info)) break;
    }
  }
  throw new StepFailed(stepId, firstFailure!.info, firstFailure!.error, firstFailure!.budgetRefusal);
}

/** A plain provider step (or one member of a parallel group): its answer becomes `steps.<id>`. */
export async function runProviderStep(step: ProviderStep, run: RunState): Promise<void> {
  const state = run.entry(step.id);
  state.status = 'running';
  try {
    let result: StepResult;
    for (;;) {
      try {
        result = await callWithFallback(step, step.id, step.id, run.scope, run.run, run.budget, (provider) => run.markSkippedUnhealthy(step.id, provider));
        break;
      } catch (error) {
        if (!run.awaitsBudgetApproval(error)) throw error;
        // Returns once an approval raised the budget: the call is then reserved again.
        await run.awaitBudgetApproval(step.id, error);
      }
    }
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
