import { ApplicationFailure, Context, type Info } from '@temporalio/activity';
import type { AxiosInstance } from 'axios';
import { ZodError } from 'zod';
import type { ProviderSettings } from '../src/config/providers';
import { estimateCostUsd, priceOf } from '../src/config/prices';
import { acceptsImages } from '../src/pipeline/providers';
import type { ProviderCallSpec, StepResult } from '../src/pipeline/types';
import type { AnsweredCalls } from './answered-calls';
import { malformedResponse, modelLacksCapability, modelNotAllowed, providerUnhealthy, toProviderFailure, unfinishedAnswer, unknownProvider } from './errors';
import { callHealth, NO_BREAKER, type Admission, type ProviderBreaker } from './provider-breaker';
import { NO_PROVIDER_CALL_METRICS, type ProviderCallMetrics } from './metrics';
import { NO_PACING, waitForTurn, type ProviderPacer } from './provider-pacer';
import type { ProviderSlots } from './provider-slots';
import { WIRE_ADAPTERS } from './providers';
import { createTenantSpend, holdId, type TenantSpendDeps } from './tenant-spend';
import { responseCacheKey, type ResponseCache } from './response-cache';
import { resolveImage } from './images';
import type { RunIsOpen } from './run-status';
import { planTask } from './tasks';
import { WIRE_STREAMS } from './providers/streams';
import { postStreamed } from './streamed-call';
import { attemptTokens } from './token-publisher';
import type { TokenStream } from '../src/streaming/token-stream';

/** A step's call as the activity gets it: the definition's call spec, with its templates rendered. */
export interface ProviderStepInput extends Pick<
  ProviderCallSpec,
  'provider' | 'model' | 'task' | 'labels' | 'schema' | 'maxOutputTokens' | 'temperature' | 'stopSequences' | 'allowTruncated'
> {
  stepId: string;
  /** The rendered prompt. */
  prompt: string;
  /** analyze-image: the rendered image reference (http(s) URL or data URL). */
  image?: string;
  /** The step has a fallback after this target: an open circuit breaker sends it there instead of calling. @default false */
  fallbackAvailable?: boolean;
  /** The run's tenant: the call is held to its caps and counted in its usage. @default none: not metered (runs started before Chorus sent it) */
  tenant?: string;
  /** The run's pipeline, which the tenant's usage is reported by. */
  pipeline?: string;
  /** Reuse an identical earlier call's answer for this long (the step's or pipeline's `cache`). @default not cached */
  cacheTtlMs?: number;
}

export interface ActivityDeps {
  /** Shared HTTP client; its own retries stay off, Temporal is the only retry loop. */
  http: AxiosInstance;
  providers: ProviderSettings;
  /** @default Date.now */
  clock?: () => number;
  /** Calls, latency, retries, tokens and cost per provider and model. @default no metrics */
  metrics?: ProviderCallMetrics;
  /** Spaces each provider's requests to its per-second limit. @default no pacing */
  pacer?: ProviderPacer;
  /** Answers of this process, so a retry Temporal schedules after losing an attempt's completion does not pay twice. @default none */
  answered?: AnsweredCalls;
  /** Whether a run is still open, so a call kept for a retry stops once its run has closed. @default unknown: such a call runs to its end */
  runIsOpen?: RunIsOpen;
  /**
   * Where token events go: with it, every provider call streams from the provider and publishes its
   * text as it comes (the result is the same StepResult). @default none: calls do not stream
   */
  tokens?: Pick<TokenStream, 'publish'>;
  /** Bounds each provider's calls at once in this process, local activities included. @default unbounded (remote: the queue's worker slots) */
  slots?: ProviderSlots;
  /** Circuit breakers of the providers: a call with a fallback skips a provider whose breaker is open. @default none */
  breaker?: ProviderBreaker;
  /** The shared tenant ledger: each call is held to its tenant's caps before it is sent and counted in its usage. @default none */
  spend?: TenantSpendDeps;
  /** Answers of earlier calls, for steps with `cache`. @default none: such steps call every time */
  cache?: ResponseCache;
}

/**
 * Aborts the HTTP call when the attempt is cancelled, unless a retry is coming for reasons that
 * are not the provider's: the server lost track of the attempt (NOT_FOUND) or stopped hearing its
 * heartbeats (TIMED_OUT before the step's own startToClose), as when it was down. The provider is
 * then already answering (and charging for) this request, so the call goes on for the retry to
 * pick its answer up (AnsweredCalls). A step's startToClose means "too slow, call again", and a
 * workflow cancel or a worker shutdown means stop: those abort. A local activity's CANCELLED is
 * both a workflow's cancel and its workflow task being dropped (the replay runs it again), which the
 * worker cannot tell apart: it goes on while its run is open, so a cancelled run's local call stops
 * within `recheckEveryMs` after the run closed.
 *
 * A retry comes only while the run is open: a run that failed, was terminated or timed out also
 * answers NOT_FOUND. So the call asks at once whether its run is open, and again every
 * `recheckEveryMs` while it goes on, and aborts once the run has closed. When the server cannot
 * say (it is down), the call goes on: that is the outage a retry will follow.
 */
function answerableSignal(
  cancellation: AbortSignal,
  {
    stepTimedOut,
    runClosed,
    recheckEveryMs,
    local,
  }: { stepTimedOut: () => boolean; runClosed: () => Promise<boolean>; recheckEveryMs: number; local: boolean },
): { signal: AbortSignal; release: () => void } {
  const http = new AbortController();
  let released = false;
  let recheck: NodeJS.Timeout | undefined;
  const watchRun = async () => {
    if (released) return;
    if (await runClosed()) http.abort(cancellation.reason);
    else if (!released) recheck = setTimeout(() => void watchRun(), recheckEveryMs);
  };
  const onCancel = () => {
    const reason = (cancellation.reason as Error | undefined)?.message;
    // A local activity is CANCELLED too when the worker drops its run's workflow task (evicted: the
    // server was down or lost the task), and the replay runs it again: while the run is open, that is a retry coming.
    const retryComing = reason === 'NOT_FOUND' || (reason === 'TIMED_OUT' && !stepTimedOut()) || (local && reason === 'CANCELLED');
    if (retryComing) void watchRun();
    else http.abort(cancellation.reason);
  };
  if (cancellation.aborted) onCancel();
  else cancellation.addEventListener('abort', onCancel, { once: true });
  return {
    signal: http.signal,
    release: () => {
      released = true;
      clearTimeout(recheck);
      cancellation.removeEventListener('abort', onCancel);
    },
  };
}

/** How often a call kept for a retry asks whether its run is open, when the step has no heartbeat. */
const RUN_RECHECK_WITHOUT_HEARTBEAT_MS = 1000;

/** Clocks of worker and server differ a little: a TIMED_OUT this close to startToClose is that timeout. */
const STEP_TIMEOUT_SLACK_MS = 250;

/**
 * One activity of one run: Temporal retries keep it, a reset run gets a new one. A local
 * activity's ID is its sequence number in the run, which a replay of the run gives it again.
 */
function answeredCallKey(info: Info): string | undefined {
  const run = info.workflowExecution;
  return run ? `${run.workflowId}/${run.runId}/${info.isLocal ? 'local:' : ''}${info.activityId}` : undefined;
}

/**
 * Whether an earlier execution of this call may have got an answer: a remote activity's retry; any
 * local activity, since one whose workflow task was lost (server down, task timed out) runs again
 * from attempt 1 when the workflow is replayed.
 */
const mayHaveAnsweredBefore = (info: Info) => info.isLocal || info.attempt > 1;

const failureTypeOf = (error: unknown) => (error instanceof ApplicationFailure ? (error.type ?? 'Error') : ((error as Error | undefined)?.name ?? 'Error'));

/** Calls one provider for one pipeline step, under Temporal's retry policy and timeouts. */
export function createCallProvider({
  http,
  providers,
  clock = Date.now,
  metrics = NO_PROVIDER_CALL_METRICS,
  pacer = NO_PACING,
  answered,
  runIsOpen,
  tokens,
  slots,
  breaker = NO_BREAKER,
  spend,
  cache,
}: ActivityDeps) {
  const metered = spend ? createTenantSpend(spend, providers.prices, clock) : undefined;
  return async function callProvider(input: ProviderStepInput): Promise<StepResult> {
    const context = Context.current();
    const endpoint = providers.endpoints[input.provider];
    // A definition validated by an API configured with more providers than this worker.
    if (!endpoint) throw unknownProvider(input.provider, Object.keys(providers.endpoints));
    const model = input.model ?? endpoint.defaultModel;
    // A definition checked by an API without this instance's allow-list (or before it had one).
    if (endpoint.models && !endpoint.models.includes(model)) throw modelNotAllowed(input.provider, model, endpoint.models);
    const attemptStartedAt = clock();
    let pacedMs: number | undefined;
    const report = (outcome: string, result?: StepResult) =>
      metrics.record({
        provider: input.provider,
        model: result?.model ?? model,
        outcome,
        durationSeconds: (clock() - attemptStartedAt) / 1000,
        attempt: context.info.attempt,
        inputTokens: result?.usage.inputTokens,
        outputTokens: result?.usage.outputTokens,
        costUsd: result?.costUsd,
        pacedSeconds: pacedMs === undefined ? undefined : pacedMs / 1000,
      });
    const adapter = WIRE_ADAPTERS[endpoint.wire];
    const task = planTask(input.task, input);

    // Heartbeats let Temporal notice a dead worker early and deliver cancellation to this call.
    const heartbeatEvery = context.info.heartbeatTimeoutMs ? Math.max(context.info.heartbeatTimeoutMs / 3, 100) : undefined;
    const heartbeat = heartbeatEvery ? setInterval(() => context.heartbeat(), heartbeatEvery) : undefined;
    const runClosed = async (): Promise<boolean> => {
      const run = context.info.workflowExecution;
      if (!runIsOpen || !run) return false;
      try {
        const open = await runIsOpen(run.workflowId, run.runId);
        if (!open) context.log.info('provider call stopped: its run has closed, no retry will take the answer', { provider: input.provider });
        return !open;
      } catch {
        // The server cannot say (it is down): that is the outage a retry follows.
        return false;
      }
    };
    // A call with nowhere else to go is not the breaker's to stop; its own retry policy governs it.
    let admission: Admission = 'call';
    try {
      const key = answered && answeredCallKey(context.info);
      // When this attempt's own startToClose runs out: a call still going then is one the step gave up on as too slow.
      const stepDeadline = attemptStartedAt + context.info.startToCloseTimeoutMs - STEP_TIMEOUT_SLACK_MS;
      if (key && mayHaveAnsweredBefore(context.info)) {
        const earlier = await answered!.earlier(key);
        if (earlier) {
          context.log.info('provider answer reused: Temporal had not recorded the attempt that got it', {
            provider: input.provider,
            answeredInAttempt: earlier.attempt,
          });
          return { ...earlier, attempt: context.info.attempt };
        }
      }
      const cacheKey =
        cache && input.cacheTtlMs
          ? responseCacheKey({
              tenant: input.tenant ?? '',
              provider: input.provider,
              model,
              request: [
                input.task,
                input.prompt,
                input.labels,
                input.schema,
                input.image,
                input.maxOutputTokens,
                input.temperature,
                input.stopSequences,
                input.allowTruncated,
              ],
            })
          : undefined;
      if (cacheKey) {
        // A cache that cannot answer is a miss: the call is made.
        const hit = await cache!.get(cacheKey).catch(() => undefined);
        if (hit) {
          const { fallbackFrom: _fallbackFrom, ...answer } = hit;
          const result: StepResult = { ...answer, costUsd: 0, cached: true, latencyMs: clock() - attemptStartedAt, attempt: context.info.attempt };
          report('cached', { ...result, usage: { inputTokens: 0, outputTokens: 0 } });
          return result;
        }
      }
      if (input.fallbackAvailable) admission = await breaker.admit(input.provider);
      if (admission === 'skip') throw providerUnhealthy(input.provider);
      const produce = async (): Promise<StepResult> => {
        // A text-only model would answer about an image it never saw: fail the step before paying for that.
        if (input.image && !acceptsImages(endpoint.capabilities, model)) {
          const { vision } = endpoint.capabilities;
          throw modelLacksCapability(
            input.provider,
            model,
            `does not accept images${Array.isArray(vision) ? `: name a vision model (${vision.map((prefix) => `${prefix}-…`).join(', ')}) in the step` : ''}`,
          );
        }
        const image = input.image ? await resolveImage(input.image, http, providers.images, context.cancellationSignal) : undefined;
        const call = {
          model,
          system: task.system,
          prompt: input.prompt,
          json: task.json,
          responseSchema: task.responseSchema,
          image,
          maxOutputTokens: input.maxOutputTokens,
          temperature: input.temperature,
          stopSequences: input.stopSequences,
        };
        const request = adapter.toHttpRequest(call, endpoint);
        // A call waits for a free slot of its provider, then for its turn in the provider's pace.
        const releaseSlot = slots ? await slots.acquire(input.provider, context.cancellationSignal) : undefined;
        let body: unknown;
        let latencyMs;
        try {
          pacedMs = await waitForTurn(pacer, input.provider, (ms) => context.sleep(ms));
          const startedAt = clock();
          const answerable = key
            ? answerableSignal(context.cancellationSignal, {
                stepTimedOut: () => clock() >= stepDeadline,
                runClosed,
                recheckEveryMs: heartbeatEvery ?? RUN_RECHECK_WITHOUT_HEARTBEAT_MS,
                local: context.info.isLocal,
              })
            : undefined;
          const run = context.info.workflowExecution;
          const streamed =
            tokens && run ? attemptTokens(tokens, run.runId, { step: input.stepId, call: context.info.activityId, attempt: context.info.attempt }) : undefined;
          const signal = answerable?.signal ?? context.cancellationSignal;
          try {
            body = streamed
              ? await postStreamed(http, request, WIRE_STREAMS[endpoint.wire], { timeoutMs: providers.requestTimeoutMs, signal, onText: streamed.text })
              : (await http.post(request.url, request.body, { headers: request.headers, timeout: providers.requestTimeoutMs, signal, responseType: 'json' }))
                  .data;
          } finally {
            answerable?.release();
            // Every token is stored before the result is: a reader that sees the step done has all its text.
            await streamed?.flushed();
          }
          latencyMs = clock() - startedAt;
        } finally {
          releaseSlot?.();
        }
        let answer;
        try {
          answer = adapter.parseAnswer(body, call);
        } catch (error) {
          if (error instanceof ZodError) {
            const typeOfBody = typeof body === 'string' ? 'not JSON' : error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
            throw malformedResponse(input.provider, typeOfBody);
          }
          throw error;
        }
        // A step that allows a cut answer takes its first part; any other unfinished answer fails.
        const truncated = answer.finish.outcome === 'truncated' && input.allowTruncated === true;
        const unfinished = truncated ? undefined : unfinishedAnswer(input.provider, answer.finish);
        if (unfinished) throw unfinished;
        const billable = answer.billed ?? answer.usage;
        return {
          provider: input.provider,
          model: answer.model,
          text: answer.text,
          data: task.parse?.(answer.text),
          usage: answer.usage ?? { inputTokens: 0, outputTokens: 0 },
          ...(answer.usage ? {} : { usageUnknown: true }),
          ...(answer.billed ? { billedUsage: answer.billed } : {}),
          costUsd: billable ? estimateCostUsd(priceOf(providers.prices, input.provider, answer.model), billable.inputTokens, billable.outputTokens) : null,
          latencyMs,
          simulated: endpoint.simulated,
          attempt: context.info.attempt,
          ...(truncated ? { truncated: true as const } : {}),
        };
      };
      const tenant = input.tenant;
      // Held and settled around the request itself, so a call that goes on for a retry still settles its hold.
      const call =
        metered && tenant
          ? () =>
              metered(
                {
                  tenant,
                  pipeline: input.pipeline ?? '',
                  provider: input.provider,
                  model,
                  inputChars: input.prompt.length + (input.schema ? JSON.stringify(input.schema).length : 0) + (input.labels?.join(', ').length ?? 0),
                  hasImage: input.image !== undefined,
                  maxOutputTokens: input.maxOutputTokens,
                },
                holdId(context.info),
                context.log,
                produce,
              )
          : produce;
      // The attempt ends when it is cancelled; a call still answering for a retry goes on without it.
      const result = key ? await Promise.race([answered!.track(key, stepDeadline, call), context.cancelled]) : await call();
      report('success', result);
      if (cacheKey) await cache!.set(cacheKey, result, input.cacheTtlMs!).catch(() => undefined);
      await breaker.record(input.provider, 'healthy', admission === 'probe');
      context.log.info('provider call succeeded', {
        provider: input.provider,
        model: result.model,
        latencyMs: result.latencyMs,
        pacedMs: Math.round(pacedMs ?? 0),
        tokens: result.usage.inputTokens + result.usage.outputTokens,
      });
      return result;
    } catch (error) {
      if (context.cancellationSignal.aborted) {
        report('cancelled');
        if (admission === 'probe') await breaker.record(input.provider, 'neutral', true);
        throw context.cancellationSignal.reason;
      }
      const failure = toProviderFailure(error, { provider: input.provider, wire: endpoint.wire, nowMs: clock(), maxRetryAfterMs: providers.maxRetryAfterMs });
      report(failureTypeOf(failure));
      if (admission !== 'skip') await breaker.record(input.provider, callHealth(failureTypeOf(failure)), admission === 'probe');
      context.log.warn('provider call failed', { provider: input.provider, model, failureType: failureTypeOf(failure), message: failure.message });
      throw failure;
    } finally {
      clearInterval(heartbeat);
    }
  };
}
