import { ApplicationFailure, isCancellation, patched, upsertSearchAttributes } from '@temporalio/workflow';
import { evaluateCondition } from '../src/pipeline/condition';
import { FailureType } from '../src/pipeline/failures';
import { COST_ATTRIBUTE, ERROR_TYPE_ATTRIBUTE, TOKENS_ATTRIBUTE } from '../src/pipeline/search-attributes';
import {
  isApprovalStep,
  isMapStep,
  isParallelStep,
  type PipelineFailureDetails,
  type PipelineResult,
  type PipelineRunInput,
  type PipelineStep,
} from '../src/pipeline/types';
import { runApprovalStep } from './approval-step';
import { runMapStep } from './map-step';
import { runParallelStep, runProviderStep } from './provider-step';
import { outputOf, usageOf } from './run-result';
import { RunState } from './run-state';
import { asStepFailure, failureInfo, StepFailed } from './step-failure';
import { notifyWebhook } from './webhook';

/**
 * Runs a pipeline definition: steps in order, `parallel` groups at once, `map` steps over a list
 * with bounded concurrency, `when` conditions, and fallbacks once a provider's retries are exhausted.
 */
export async function pipelineWorkflow(input: PipelineRunInput): Promise<PipelineResult> {
  const run = new RunState(input);
  try {
    for (const step of input.pipeline.steps) {
      if (asStepFailure(step.id, () => step.when === undefined || evaluateCondition(step.when, run.scope))) await runStep(step, run);
      else run.markSkipped(step);
    }
  } catch (error) {
    return failRun(run, error);
  }
  return completeRun(run);
}

function runStep(step: PipelineStep, run: RunState): Promise<void> {
  if (isParallelStep(step)) return runParallelStep(step, run);
  if (isMapStep(step)) return runMapStep(step, run);
  if (isApprovalStep(step)) return runApprovalStep(step, run);
  return runProviderStep(step, run);
}

async function completeRun(run: RunState): Promise<PipelineResult> {
  const usage = usageOf(run.outputs);
  upsertSearchAttributes([
    { key: COST_ATTRIBUTE, value: usage.total.costUsd },
    { key: TOKENS_ATTRIBUTE, value: usage.total.inputTokens + usage.total.outputTokens },
  ]);
  const result: PipelineResult = {
    pipeline: run.run.pipeline.name,
    output: outputOf(run.run.pipeline, run.scope),
    steps: run.outputs,
    progress: run.progress,
    usage,
    ...(run.budget ? { budget: run.budget.status() } : {}),
  };
  await notifyWebhook(run, 'run.completed', { status: 'COMPLETED', result });
  return run.webhook ? { ...result, webhook: run.webhook } : result;
}

/** Ends the run: a cancellation as such; anything else as PipelineStepFailed naming the step, after the webhook. */
async function failRun(run: RunState, error: unknown): Promise<never> {
  run.endUnfinished(isCancellation(error));
  if (isCancellation(error)) throw error;
  const failed = error instanceof StepFailed ? error : new StepFailed('?', failureInfo(error), error);
  await notifyWebhook(run, 'run.failed', { status: 'FAILED', error: { ...failed.info, step: failed.step } });
  const details: PipelineFailureDetails = {
    step: failed.step,
    error: failed.info,
    progress: run.progress,
    ...(run.webhook ? { webhook: run.webhook } : {}),
    ...(run.budget ? { budget: run.budget.status() } : {}),
  };
  // Patched: runs recorded before this existed failed without the upsert.
  if (patched('chorus-error-type-attribute')) upsertSearchAttributes([{ key: ERROR_TYPE_ATTRIBUTE, value: failed.info.type }]);
  throw ApplicationFailure.create({
    type: FailureType.PipelineStepFailed,
    message: `Step "${failed.step}" failed: ${failed.info.message}`,
    nonRetryable: true,
    details: [details],
    cause: failed.original instanceof Error ? failed.original : undefined,
  });
}
