import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { ChorusActivities, ProviderStepInput } from '../activities';
import { evaluateCondition } from '../src/pipeline/condition';
import { FailureType } from '../src/pipeline/failures';
import { COST_ATTRIBUTE, ERROR_TYPE_ATTRIBUTE, TOKENS_ATTRIBUTE } from '../src/pipeline/search-attributes';
import { readPath, renderTemplate, TemplateError } from '../src/pipeline/template';
import {
  isApprovalOutcome,
  isApprovalStep,
  isMapResult,
  isMapStep,
  isParallelStep,
  type ApprovalDecision,
  type ApprovalOutcome,
  type ApprovalStep,
  type StepOutput,
  type WebhookState,
  type FallbackTarget,
  type MapStep,
  type PipelineDefinition,
  type PipelineFailureDetails,
  type PipelineResult,
  type PipelineRunInput,
  type PipelineStep,
  type ProviderCallSpec,
  type StepFailureInfo,
  type StepProgress,
  type StepResult,
  type StepUsage,
  type UsageReport,
} from '../src/pipeline/types';
import { MAP_ITEMS_LIMIT } from '../src/pipeline/limits';
import type { ProviderName } from '../src/pipeline/providers';
import { providerTaskQueue } from '../src/pipeline/task-queues';
import { approvalUpdate, progressQuery, webhookQuery } from './definitions';

/** Step defaults: a provider call gets 5 tries with backoff; a silent worker is noticed within 10 s. */
const DEFAULT_RETRY = { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
const DEFAULT_START_TO_CLOSE = '60s';
const DEFAULT_HEARTBEAT = '10s';
const DEFAULT_MAP_CONCURRENCY = 4;
/** A receiver that is down gets retries with backoff for about 10 minutes. */
const WEBHOOK_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '2m' },
};

type StepOutputs = Record<string, StepOutput>;

/** A step that could not produce its answer; becomes the run's PipelineStepFailed failure. */
class StepFailed extends Error {
  constructor(
    readonly step: string,
    readonly info: StepFailureInfo,
    readonly original: unknown,
  ) {
    super(info.message);
  }
}

function activityOptions(spec: ProviderCallSpec, activityId: string, provider: ProviderName): ActivityOptions {
  return {
    activityId,
    // Each provider has its own queue (and rate limit); only the scheduling changes, not the activity.
    taskQueue: providerTaskQueue(workflowInfo().taskQueue, provider),
    startToCloseTimeout: (spec.timeout?.startToClose ?? DEFAULT_START_TO_CLOSE) as Duration,
    heartbeatTimeout: (spec.timeout?.heartbeat ?? DEFAULT_HEARTBEAT) as Duration,
    // A cancelled run closes only after its provider call has really stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: spec.retry?.maximumAttempts ?? DEFAULT_RETRY.maximumAttempts,
      initialInterval: (spec.retry?.initialInterval ?? DEFAULT_RETRY.initialInterval) as Duration,
      backoffCoefficient: spec.retry?.backoffCoefficient ?? DEFAULT_RETRY.backoffCoefficient,
      maximumInterval: (spec.retry?.maximumInterval ?? DEFAULT_RETRY.maximumInterval) as Duration,
    },
  };
}

function failureInfo(error: unknown): StepFailureInfo {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (error instanceof TemplateError) return { type: FailureType.InvalidPipeline, message: error.message };
  return { type: (cause as Error | undefined)?.name ?? 'Error', message: (cause as Error | undefined)?.message ?? String(error) };
}

/** Failures a fallback provider can route around: the provider's, not the definition's or the input's. */
function canFallBack(info: StepFailureInfo): boolean {
  return info.type !== FailureType.InvalidPipeline && info.type !== FailureType.ImageRejected;
}

function readOutput(paths: string | string[], context: { input: Record<string, unknown>; steps: StepOutputs }): unknown {
  for (const path of Array.isArray(paths) ? paths : [paths]) {
    const value = readPath(context, path);
    if (value !== undefined && value !== null) return value;
  }
  return null;
}

function outputOf(pipeline: PipelineDefinition, context: { input: Record<string, unknown>; steps: StepOutputs }): Record<string, unknown> {
  if (!pipeline.output) {
    const textOf = (result: StepOutput) => (isMapResult(result) ? result.texts : isApprovalOutcome(result) ? result.decision : result.text);
    return Object.fromEntries(Object.entries(context.steps).map(([id, result]) => [id, textOf(result)]));
  }
  return Object.fromEntries(Object.entries(pipeline.output).map(([field, paths]) => [field, readOutput(paths, context)]));
}

function usageOf(steps: StepOutputs): UsageReport {
  const callsOf = (id: string, result: StepOutput): (readonly [string, StepResult])[] => {
    if (isApprovalOutcome(result)) return [];
    return isMapResult(result) ? result.items.map((item, index) => [`${id}[${index}]`, item] as const) : [[id, result] as const];
  };
  const calls: StepUsage[] = Object.entries(steps).flatMap(([id, result]) =>
    callsOf(id, result).map(([step, call]) => ({
      step,
      provider: call.provider,
      model: call.model,
      inputTokens: call.usage.inputTokens,
      outputTokens: call.usage.outputTokens,
      latencyMs: call.latencyMs,
      attempts: call.attempt,
      costUsd: call.costUsd,
      simulated: call.simulated,
    })),
  );
  const total = calls.reduce(
    (sum, call) => ({
      inputTokens: sum.inputTokens + call.inputTokens,
      outputTokens: sum.outputTokens + call.outputTokens,
      costUsd: sum.costUsd + (call.costUsd ?? 0),
      latencyMs: sum.latencyMs + call.latencyMs,
      calls: sum.calls + 1,
    }),
    { inputTokens: 0, outputTokens: 0, costUsd: 0, latencyMs: 0, calls: 0 },
  );
  return { steps: calls, total: { ...total, costUsd: Math.round(total.costUsd * 1e8) / 1e8 }, costIncomplete: calls.some((call) => call.costUsd === null) };
}

/** The progress entries of one pipeline step: one per provider call site (parallel members each have theirs). */
function progressEntries(step: PipelineStep): StepProgress[] {
  if (isParallelStep(step)) return step.parallel.map((member) => ({ id: member.id, provider: member.provider, status: 'pending' }));
  if (isMapStep(step)) return [{ id: step.id, provider: step.map.step.provider, status: 'pending', items: { done: 0, total: 0 } }];
  if (isApprovalStep(step)) return [{ id: step.id, provider: 'human', status: 'pending' }];
  return [{ id: step.id, provider: step.provider, status: 'pending' }];
}

/**
 * Runs a pipeline definition: steps in order, `parallel` groups at once, `map` steps over a list
 * with bounded concurrency, `when` conditions, and fallbacks once a provider's retries are exhausted.
 */
export async function pipelineWorkflow({ pipeline, input, tenant, callbackUrl }: PipelineRunInput): Promise<PipelineResult> {
  const progress = pipeline.steps.flatMap(progressEntries);
  setHandler(progressQuery, () => progress);
  const entry = (id: string) => progress.find((candidate) => candidate.id === id)!;
  const steps: StepOutputs = {};
  const webhook: WebhookState | undefined = callbackUrl && tenant ? { url: callbackUrl, status: 'pending' } : undefined;
  setHandler(webhookQuery, () => webhook ?? null);

  /** Tells the run's callback URL how it ended. A webhook that cannot be delivered never changes the run's outcome. */
  async function notify(event: 'run.completed' | 'run.failed', outcome: Record<string, unknown>): Promise<void> {
    if (!webhook || !tenant) return;
    const { workflowId, runId } = workflowInfo();
    const { deliverWebhook } = proxyActivities<ChorusActivities>(WEBHOOK_ACTIVITY);
    webhook.status = 'delivering';
    try {
      const delivered = await deliverWebhook({ url: webhook.url, tenant, event, deliveryId: `${workflowId}/${runId}`, body: { event, workflowId, runId, pipeline: pipeline.name, ...outcome } });
      Object.assign(webhook, { status: 'delivered', attempts: delivered.attempt, deliveredAt: new Date().toISOString() });
    } catch (error) {
      if (isCancellation(error)) throw error;
      Object.assign(webhook, { status: 'failed', error: failureInfo(error) });
    }
  }

  /** The approval step waiting for a decision, and the decision once it arrives. */
  let awaiting: { step: string; decision?: ApprovalDecision } | undefined;
  setHandler(
    approvalUpdate,
    (decision: ApprovalDecision) => {
      awaiting!.decision = decision;
      return { step: awaiting!.step };
    },
    {
      validator: (_decision: ApprovalDecision) => {
        if (!awaiting || awaiting.decision) throw new Error('No approval step is waiting for a decision');
      },
    },
  );

  async function runApprovalStep(step: ApprovalStep): Promise<void> {
    const state = entry(step.id);
    let prompt: string | null;
    try {
      prompt = step.approval.prompt === undefined ? null : renderTemplate(step.approval.prompt, { input, steps });
    } catch (error) {
      throw new StepFailed(step.id, failureInfo(error), error);
    }
    const timeoutMs = step.approval.timeout === undefined ? undefined : msToNumber(step.approval.timeout as Duration);
    state.status = 'waiting';
    state.approval = { prompt, timeoutAt: timeoutMs === undefined ? null : new Date(Date.now() + timeoutMs).toISOString() };
    awaiting = { step: step.id };
    const decided = timeoutMs === undefined ? (await condition(() => Boolean(awaiting?.decision)), true) : await condition(() => Boolean(awaiting?.decision), timeoutMs);
    const decision = awaiting.decision;
    awaiting = undefined;
    const outcome: ApprovalOutcome = decided && decision
      ? { decision: decision.decision, comment: decision.comment ?? null, by: decision.by, decidedAt: new Date().toISOString(), timedOut: false }
      : { decision: step.approval.onTimeout === 'approve' ? 'approved' : 'rejected', comment: null, by: null, decidedAt: new Date().toISOString(), timedOut: true };
    steps[step.id] = outcome;
    delete state.approval;
    if (outcome.decision === 'rejected' && (step.approval.onReject ?? 'fail') === 'fail') {
      state.status = 'failed';
      state.error = {
        type: FailureType.ApprovalRejected,
        message: outcome.timedOut ? 'No decision before the approval timeout' : `Rejected by ${outcome.by}${outcome.comment ? `: ${outcome.comment}` : ''}`,
      };
      throw new StepFailed(step.id, state.error, undefined);
    }
    state.status = 'done';
  }

  /** One provider call site: renders its templates, calls the activity, then each fallback in turn. */
  async function call(spec: ProviderCallSpec, stepId: string, activityId: string, scope: Record<string, unknown>): Promise<StepResult> {
    let request: ProviderStepInput;
    try {
      request = {
        stepId,
        provider: spec.provider,
        model: spec.model,
        task: spec.task,
        prompt: renderTemplate(spec.prompt, scope),
        labels: spec.labels,
        schema: spec.schema,
        image: spec.image === undefined ? undefined : renderTemplate(spec.image, scope),
      };
    } catch (error) {
      throw new StepFailed(stepId, failureInfo(error), error);
    }
    const targets: FallbackTarget[] = [{ provider: spec.provider, model: spec.model }, ...(spec.fallback ?? [])];
    let firstFailure: { provider: FallbackTarget['provider']; info: StepFailureInfo; error: unknown } | undefined;
    for (const [index, target] of targets.entries()) {
      const { callProvider } = proxyActivities<ChorusActivities>(
        activityOptions(spec, index === 0 ? activityId : `${activityId}~${target.provider}`, target.provider),
      );
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

  async function runProviderStep(spec: ProviderCallSpec & { id: string }): Promise<void> {
    const state = entry(spec.id);
    state.status = 'running';
    try {
      const result = await call(spec, spec.id, spec.id, { input, steps });
      steps[spec.id] = result;
      state.status = 'done';
      state.attempts = result.attempt;
    } catch (error) {
      if (!isCancellation(error)) state.status = 'failed';
      if (error instanceof StepFailed) state.error = error.info;
      throw error;
    }
  }

  async function runMapStep(step: MapStep): Promise<void> {
    const state = entry(step.id);
    const list = readPath({ input, steps }, step.map.over);
    if (!Array.isArray(list) || list.length > MAP_ITEMS_LIMIT) {
      state.status = 'failed';
      state.error = { type: FailureType.InvalidPipeline, message: `${step.map.over} must be a list of at most ${MAP_ITEMS_LIMIT} elements` };
      throw new StepFailed(step.id, state.error, undefined);
    }
    state.status = 'running';
    state.items = { done: 0, total: list.length };
    const results: StepResult[] = new Array(list.length);
    let next = 0;
    // A fixed pool of lanes, each taking the next element: at most `concurrency` calls in flight.
    const lane = async () => {
      while (next < list.length) {
        const index = next++;
        results[index] = await call(step.map.step, step.id, `${step.id}[${index}]`, { input, steps, item: list[index], index });
        state.items!.done += 1;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(step.map.concurrency ?? DEFAULT_MAP_CONCURRENCY, list.length) }, lane));
    } catch (error) {
      if (!isCancellation(error)) state.status = 'failed';
      if (error instanceof StepFailed) state.error = error.info;
      throw error;
    }
    steps[step.id] = { items: results, texts: results.map((result) => result.text), data: results.map((result) => result.data ?? null) };
    state.status = 'done';
    state.attempts = results.reduce((sum, result) => sum + result.attempt, 0);
  }

  try {
    for (const step of pipeline.steps) {
      let runs: boolean;
      try {
        runs = step.when === undefined || evaluateCondition(step.when, { input, steps });
      } catch (error) {
        throw new StepFailed(step.id, failureInfo(error), error);
      }
      if (!runs) {
        for (const skippedEntry of progressEntries(step)) entry(skippedEntry.id).status = 'skipped';
        continue;
      }
      if (isParallelStep(step)) await Promise.all(step.parallel.map(runProviderStep));
      else if (isMapStep(step)) await runMapStep(step);
      else if (isApprovalStep(step)) await runApprovalStep(step);
      else await runProviderStep(step);
    }
  } catch (error) {
    // Calls still in flight (parallel siblings, other map lanes) are abandoned with the run.
    for (const unfinished of progress) if (unfinished.status === 'running' || unfinished.status === 'waiting') unfinished.status = 'cancelled';
    if (isCancellation(error)) {
      for (const unfinished of progress) if (unfinished.status === 'pending') unfinished.status = 'cancelled';
      throw error;
    }
    const failed = error instanceof StepFailed ? error : new StepFailed('?', failureInfo(error), error);
    await notify('run.failed', { status: 'FAILED', error: { ...failed.info, step: failed.step } });
    const details: PipelineFailureDetails = { step: failed.step, error: failed.info, progress, ...(webhook ? { webhook } : {}) };
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

  const usage = usageOf(steps);
  upsertSearchAttributes([
    { key: COST_ATTRIBUTE, value: usage.total.costUsd },
    { key: TOKENS_ATTRIBUTE, value: usage.total.inputTokens + usage.total.outputTokens },
  ]);
  const result: PipelineResult = { pipeline: pipeline.name, output: outputOf(pipeline, { input, steps }), steps, progress, usage };
  await notify('run.completed', { status: 'COMPLETED', result });
  return webhook ? { ...result, webhook } : result;
}
