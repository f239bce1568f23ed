import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../src/pipeline/failures';
import type { AxiosInstance } from 'axios';
import { ZodError } from 'zod';
import type { ProviderSettings } from '../src/config/providers';
import { estimateCostUsd, priceOf } from '../src/config/prices';
import type { ProviderCallSpec, StepResult } from '../src/pipeline/types';
import { malformedResponse, toProviderFailure } from './errors';
import { NO_PROVIDER_CALL_METRICS, type ProviderCallMetrics } from './metrics';
import { NO_PACING, waitForTurn, type ProviderPacer } from './provider-pacer';
import { PROVIDER_ADAPTERS } from './providers';
import { resolveImage } from './images';
import { planTask } from './tasks';

/** A step's call as the activity gets it: the definition's call spec, with its templates rendered. */
export interface ProviderStepInput extends Pick<ProviderCallSpec, 'provider' | 'model' | 'task' | 'labels' | 'schema'> {
  stepId: string;
  /** The rendered prompt. */
  prompt: string;
  /** analyze-image: the rendered image reference (http(s) URL or data URL). */
  image?: string;
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
}

const failureTypeOf = (error: unknown) => (error instanceof ApplicationFailure ? (error.type ?? 'Error') : ((error as Error | undefined)?.name ?? 'Error'));

/** Calls one provider for one pipeline step, under Temporal's retry policy and timeouts. */
export function createCallProvider({ http, providers, clock = Date.now, metrics = NO_PROVIDER_CALL_METRICS, pacer = NO_PACING }: ActivityDeps) {
  return async function callProvider(input: ProviderStepInput): Promise<StepResult> {
    const context = Context.current();
    const endpoint = providers.endpoints[input.provider];
    const model = input.model ?? endpoint.defaultModel;
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
    const adapter = PROVIDER_ADAPTERS[input.provider];
    const task = planTask(input.task, input);

    // Heartbeats let Temporal notice a dead worker early and deliver cancellation to this call.
    const heartbeatEvery = context.info.heartbeatTimeoutMs ? Math.max(context.info.heartbeatTimeoutMs / 3, 100) : undefined;
    const heartbeat = heartbeatEvery ? setInterval(() => context.heartbeat(), heartbeatEvery) : undefined;
    try {
      const image = input.image ? await resolveImage(input.image, http, providers.images, context.cancellationSignal) : undefined;
      const call = { model, system: task.system, prompt: input.prompt, json: task.json, image };
      const request = adapter.toHttpRequest(call, endpoint);
      pacedMs = await waitForTurn(pacer, input.provider, (ms) => context.sleep(ms));
      const startedAt = clock();
      const response = await http.post(request.url, request.body, {
        headers: request.headers,
        timeout: providers.requestTimeoutMs,
        signal: context.cancellationSignal,
        responseType: 'json',
      });
      const latencyMs = clock() - startedAt;
      let answer;
      try {
        answer = adapter.parseAnswer(response.data, call);
      } catch (error) {
        if (error instanceof ZodError) {
          const typeOfBody = typeof response.data === 'string' ? 'not JSON' : error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
          throw malformedResponse(input.provider, typeOfBody);
        }
        throw error;
      }
      if (answer.blockedBy) {
        // The same input would be blocked again: retrying only costs money.
        throw ApplicationFailure.create({
          type: FailureType.ProviderContentFiltered,
          message: `${input.provider} content filter blocked the answer (${answer.blockedBy})`,
          nonRetryable: true,
          details: [{ provider: input.provider }],
        });
      }
      const result: StepResult = {
        provider: input.provider,
        model: answer.model,
        text: answer.text,
        data: task.parse?.(answer.text),
        usage: answer.usage,
        costUsd: estimateCostUsd(priceOf(providers.prices, input.provider, answer.model), answer.usage.inputTokens, answer.usage.outputTokens),
        latencyMs,
        simulated: endpoint.simulated,
        attempt: context.info.attempt,
      };
      report('success', result);
      context.log.info('provider call succeeded', { provider: input.provider, model: result.model, latencyMs, pacedMs: Math.round(pacedMs), tokens: result.usage.inputTokens + result.usage.outputTokens });
      return result;
    } catch (error) {
      if (context.cancellationSignal.aborted) {
        report('cancelled');
        throw context.cancellationSignal.reason;
      }
      const failure = toProviderFailure(error, { provider: input.provider, nowMs: clock(), maxRetryAfterMs: providers.maxRetryAfterMs });
      report(failureTypeOf(failure));
      context.log.warn('provider call failed', { provider: input.provider, model, failureType: failureTypeOf(failure), message: failure.message });
      throw failure;
    } finally {
      clearInterval(heartbeat);
    }
  };
}
