import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { FailureType } from '../src/pipeline/failures';
import { TemplateError } from '../src/pipeline/template';
import type { BudgetRefusal, PlannedCall } from '../src/pipeline/budget';
import type { StepFailureInfo } from '../src/pipeline/types';

/** The run's own budget refused a call (not a tenant cap): what a budget approval could change. */
export interface RunBudgetRefusal {
  call: string;
  planned: PlannedCall;
  refusal: BudgetRefusal;
}

/** A step that could not produce its answer; becomes the run's PipelineStepFailed failure. */
export class StepFailed extends Error {
  constructor(
    readonly step: string,
    readonly info: StepFailureInfo,
    readonly original: unknown,
    /** Set when the failure is the run budget's refusal of the step's first target. */
    readonly budgetRefusal?: RunBudgetRefusal,
  ) {
    super(info.message);
  }
}

/** An activity whose retry budget (scheduleToClose) ran out: between attempts (the last failure is the cause) or during one (a timeout). */
function budgetSpent(error: ActivityFailure): StepFailureInfo | undefined {
  if (error.retryState !== 'TIMEOUT' && !(error.cause instanceof TimeoutFailure && error.cause.timeoutType === 'SCHEDULE_TO_CLOSE')) return undefined;
  const last =
    error.cause instanceof ApplicationFailure
      ? `; the last attempt failed with ${error.cause.type}: ${error.cause.message}`
      : '; the last attempt was still running';
  return { type: FailureType.RetryBudgetExhausted, message: `Retried for the whole retry budget${last}` };
}

export function failureInfo(error: unknown): StepFailureInfo {
  const spent = error instanceof ActivityFailure ? budgetSpent(error) : undefined;
  if (spent) return spent;
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (error instanceof TemplateError) return { type: FailureType.InvalidPipeline, message: error.message };
  return { type: (cause as Error | undefined)?.name ?? 'Error', message: (cause as Error | undefined)?.message ?? String(error) };
}

/** Runs `work` (template rendering, condition evaluation) and reports what it throws as a failure of `step`. */
export function asStepFailure<T>(step: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw new StepFailed(step, failureInfo(error), error);
  }
}

/** Failures a fallback provider can route around: the provider's, not the definition's or the input's. */
export function canFallBack(info: StepFailureInfo): boolean {
  return info.type !== FailureType.InvalidPipeline && info.type !== FailureType.ImageRejected;
}
