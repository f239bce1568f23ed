import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  proxyActivities,
  setHandler,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ChorusActivities } from '../activities';
import { FailureType } from '../src/pipeline/failures';
import { readPath, renderTemplate, TemplateError } from '../src/pipeline/template';
import type {
  PipelineDefinition,
  PipelineFailureDetails,
  PipelineResult,
  PipelineRunInput,
  StepDefinition,
  StepFailureInfo,
  StepProgress,
  StepResult,
  TokenUsage,
} from '../src/pipeline/types';
import { progressQuery } from './definitions';

/** Step defaults: a provider call gets 5 tries with backoff; a silent worker is noticed within 10 s. */
const DEFAULT_RETRY = { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
const DEFAULT_START_TO_CLOSE = '60s';
const DEFAULT_HEARTBEAT = '10s';

function activityOptions(step: StepDefinition): ActivityOptions {
  return {
    activityId: step.id,
    // A cancelled run closes only after its provider call has really stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    startToCloseTimeout: (step.timeout?.startToClose ?? DEFAULT_START_TO_CLOSE) as Duration,
    heartbeatTimeout: (step.timeout?.heartbeat ?? DEFAULT_HEARTBEAT) as Duration,
    retry: {
      maximumAttempts: step.retry?.maximumAttempts ?? DEFAULT_RETRY.maximumAttempts,
      initialInterval: (step.retry?.initialInterval ?? DEFAULT_RETRY.initialInterval) as Duration,
      backoffCoefficient: step.retry?.backoffCoefficient ?? DEFAULT_RETRY.backoffCoefficient,
      maximumInterval: (step.retry?.maximumInterval ?? DEFAULT_RETRY.maximumInterval) as Duration,
    },
  };
}

function failureInfo(error: unknown): StepFailureInfo {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (error instanceof TemplateError) return { type: FailureType.InvalidPipeline, message: error.message };
  return { type: (cause as Error | undefined)?.name ?? 'Error', message: (cause as Error | undefined)?.message ?? String(error) };
}

function outputOf(pipeline: PipelineDefinition, context: { input: Record<string, unknown>; steps: Record<string, StepResult> }) {
  if (!pipeline.output) return Object.fromEntries(Object.entries(context.steps).map(([id, result]) => [id, result.text]));
  return Object.fromEntries(Object.entries(pipeline.output).map(([field, path]) => [field, readPath(context, path) ?? null]));
}

function totalUsage(results: StepResult[]): TokenUsage {
  return results.reduce(
    (total, { usage }) => ({ inputTokens: total.inputTokens + usage.inputTokens, outputTokens: total.outputTokens + usage.outputTokens }),
    { inputTokens: 0, outputTokens: 0 },
  );
}

/** Runs a pipeline's steps in order; each step is one provider call with its own retry policy and timeouts. */
export async function pipelineWorkflow({ pipeline, input }: PipelineRunInput): Promise<PipelineResult> {
  const progress: StepProgress[] = pipeline.steps.map((step) => ({ id: step.id, provider: step.provider, status: 'pending' }));
  setHandler(progressQuery, () => progress);
  const results: Record<string, StepResult> = {};

  for (const [index, step] of pipeline.steps.entries()) {
    const state = progress[index];
    state.status = 'running';
    try {
      const prompt = renderTemplate(step.prompt, { input, steps: results });
      const { callProvider } = proxyActivities<ChorusActivities>(activityOptions(step));
      const result = await callProvider({ stepId: step.id, provider: step.provider, model: step.model, task: step.task, prompt });
      results[step.id] = result;
      state.status = 'done';
      state.attempts = result.attempt;
    } catch (error) {
      if (isCancellation(error)) {
        for (const unfinished of progress.slice(index)) unfinished.status = 'cancelled';
        throw error;
      }
      state.status = 'failed';
      state.error = failureInfo(error);
      const details: PipelineFailureDetails = { step: step.id, error: state.error, progress };
      throw ApplicationFailure.create({
        type: FailureType.PipelineStepFailed,
        message: `Step "${step.id}" (${step.provider}) failed: ${state.error.message}`,
        nonRetryable: true,
        details: [details],
        cause: error instanceof Error ? error : undefined,
      });
    }
  }

  return { pipeline: pipeline.name, output: outputOf(pipeline, { input, steps: results }), steps: results, usage: totalUsage(Object.values(results)) };
}
