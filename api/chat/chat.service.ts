import { Inject, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import type { ApiSettings } from '../../src/config/api';
import { loadBudgetPricing } from '../../src/config/budget';
import type { ChatCompletion, ChatCompletionRequest, ModelList, RunView, StartedRun } from '../../src/contract/api';
import { checkRunInput } from '../../src/pipeline/run-input';
import { TOKEN_STREAM_START } from '../../src/streaming/token-stream';
import type { PipelineDefinition } from '../../src/pipeline/types';
import type { Principal } from '../auth/principal';
import { badRequest } from '../errors/bad-request';
import { openAiErrorType } from '../errors/problem.filter';
import { PipelinesService } from '../pipelines/pipelines.service';
import { TokenEvents } from '../streaming/token-events';
import { TokenRelay } from '../streaming/token-relay';
import type { RunRequest } from '../temporal/run-starter';
import { API_SETTINGS } from '../tokens';
import { RunReadService } from '../workflows/run-read.service';
import { RunStartService } from '../workflows/run-start.service';
import { answerOf, ChunkWriter, completionOf, runFailure, stillRunning, StreamedAnswer } from './chat-answer';
import {
  chatFieldOf,
  chatPipelineOf,
  idempotentPartOf,
  PIPELINE_MODEL_PREFIX,
  pipelineRequestProblems,
  promptOf,
  resolveChatTarget,
  type ChatTarget,
} from './chat-request';

/** Longest a chat request waits for its run to close; the run goes on after it (504 naming its workflow ID). */
const MAX_CHAT_WAIT_MS = 10 * 60_000;
const KEEP_ALIVE_MS = 15_000;

/** The header every answer carries: the run, to read later by its ID (GET /v1/workflows/{id}). */
export const WORKFLOW_ID_HEADER = 'x-chorus-workflow-id';

/** The step whose tokens a streamed answer forwards: the provider step, or a pipeline's last top-level provider step. */
function answerStepOf(pipeline: PipelineDefinition): string | undefined {
  return pipeline.steps.filter((step) => 'provider' in step).at(-1)?.id;
}

/**
 * POST /v1/chat/completions: each request is a Chorus run, started through the run starter like
 * any other (Idempotency-Key, budgets, input rules, tenant), answered in OpenAI's shapes.
 */
@Injectable()
export class ChatService {
  constructor(
    @Inject(API_SETTINGS) private readonly api: ApiSettings,
    private readonly pipelines: PipelinesService,
    private readonly starts: RunStartService,
    private readonly runs: RunReadService,
    private readonly tokens: TokenEvents,
  ) {}

  /** What `model` may name, for GET /v1/models: each provider's known models, then the named pipelines. */
  models(): ModelList {
    const providerModels = this.pipelines.providers.flatMap((provider) =>
      this.modelsOf(provider).map((model) => ({ id: `${provider}/${model}`, object: 'model' as const, created: 0, owned_by: provider })),
    );
    const pipelines = this.pipelines
      .list()
      .map(({ name }) => ({ id: `${PIPELINE_MODEL_PREFIX}${name}`, object: 'model' as const, created: 0, owned_by: 'chorus' }));
    return { object: 'list', data: [...providerModels, ...pipelines] };
  }

  private catalogPricing?: ReturnType<typeof loadBudgetPricing>;

  /** A provider's models: its allow-list when configured, else its default and every priced model. */
  private modelsOf(provider: string): string[] {
    const allowed = this.api.providerModels?.[provider];
    if (allowed) return [...new Set(allowed)];
    const pricing = this.api.budgetPricing ?? (this.catalogPricing ??= loadBudgetPricing({}));
    return [...new Set([pricing.defaultModels[provider], ...Object.keys(pricing.prices[provider] ?? {})].filter(Boolean))];
  }

  /** Starts the request's run (or finds the one its Idempotency-Key started); the answer's header names it. */
  async start(
    request: ChatCompletionRequest,
    principal: Principal,
    idempotencyKey: string | undefined,
  ): Promise<{ started: StartedRun; pipeline: PipelineDefinition }> {
    const target = resolveChatTarget(request.model, {
      providers: this.pipelines.providers,
      providersOf: (model) => this.pipelines.providers.filter((provider) => this.modelsOf(provider).includes(model)),
      pipelineExists: (name) => this.pipelines.find(name) !== undefined,
    });
    const run = this.runRequest(request, target, principal);
    try {
      return { started: await this.starts.startOnce(run, principal, idempotencyKey, idempotentPartOf(request)), pipeline: run.pipeline };
    } catch (error) {
      // The run starter names the definition's and the input's fields; the caller sent a chat request.
      const problems = (error as { getResponse?: () => unknown }).getResponse?.() as { errors?: { field: string; reason: string }[] } | undefined;
      if (problems?.errors && (error as { getStatus?: () => number }).getStatus?.() === 400) throw badRequest(problems.errors.map(chatFieldOf));
      throw error;
    }
  }

  private runRequest(request: ChatCompletionRequest, target: ChatTarget, principal: Principal): RunRequest {
    const input = { prompt: promptOf(request.messages) };
    if (target.kind === 'pipeline') {
      const problems = pipelineRequestProblems(request);
      if (problems.length) throw badRequest(problems);
      const pipeline = this.pipelines.require(target.name);
      return { pipeline, input, tenant: principal.tenant, source: 'named', namedPipeline: target.name };
    }
    const pipeline = this.pipelines.validate(chatPipelineOf(request, target), '$');
    // Checked here too, so its problems name the chat request's fields before the starter runs.
    const { problems } = checkRunInput(pipeline, input, this.api);
    if (problems.length) throw badRequest(problems.map(chatFieldOf));
    return { pipeline, input, tenant: principal.tenant, source: 'chat' };
  }

  /** Waits for the run to close (or the client to leave, or MAX_CHAT_WAIT_MS) and answers its result as a chat.completion. */
  async complete(workflowId: string, principal: Principal, gone: AbortSignal): Promise<ChatCompletion> {
    return completionOf(await this.closed(workflowId, principal, gone));
  }

  private async closed(workflowId: string, principal: Principal, gone: AbortSignal): Promise<RunView> {
    const deadline = Date.now() + MAX_CHAT_WAIT_MS;
    for (;;) {
      const waitSeconds = Math.max(1, Math.min(this.api.maxWaitSeconds, Math.ceil((deadline - Date.now()) / 1000)));
      const view = await this.runs.waitForRun(workflowId, principal, waitSeconds);
      if (view.status !== 'RUNNING') return view;
      if (gone.aborted || Date.now() >= deadline) throw stillRunning(workflowId);
    }
  }

  /**
   * Streams the run's answer as chat.completion.chunk events: the answer step's tokens as they are
   * written, then what the durable result adds to them, its finish and usage, and `[DONE]`.
   *
   * OpenAI's wire cannot take text back. So once a retried attempt (or a fallback) restarts the
   * answer after some of it was sent, no more live tokens go out: the stream waits for the durable
   * result and sends what it adds to the text already sent; when the result does not begin with
   * that text, the stream ends with an error event (code `stream_restarted`) naming the run,
   * whose durable answer GET /v1/workflows/{id} reads. Text of two attempts is never glued.
   */
  async stream(
    started: StartedRun,
    pipeline: PipelineDefinition,
    request: ChatCompletionRequest,
    principal: Principal,
    gone: AbortSignal,
    response: Response,
  ): Promise<void> {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      [WORKFLOW_ID_HEADER]: started.workflowId,
    });
    const write = (data: string) => {
      if (!response.writableEnded) response.write(data);
    };
    const target = request.model;
    const chunks = new ChunkWriter(write, started.workflowId, Math.floor(Date.now() / 1000), target, request.stream_options?.include_usage === true);
    chunks.role();
    const keepAlive = setInterval(() => write(': keep-alive\n\n'), KEEP_ALIVE_MS);

    const text = new StreamedAnswer(answerStepOf(pipeline));
    const stream = this.tokens.stream;
    // A transport that fails stops the live text; the durable result still completes it.
    const relay = stream
      ? new TokenRelay(
          stream,
          started.runId,
          TOKEN_STREAM_START,
          (event) => chunks.text(text.push(event)),
          () => text.stop(),
        )
      : undefined;
    relay?.start();
    try {
      const view = await this.closed(started.workflowId, principal, gone);
      // Every token is stored before the step's result: what is stored now is the whole text, and no more comes.
      await relay?.drain();
      await relay?.stop();
      if (view.status !== 'COMPLETED') {
        chunks.error(errorOf(runFailure(view)));
        return;
      }
      const answer = answerOf(view);
      const rest = text.rest(answer.content);
      if (rest === undefined) {
        chunks.error({
          message: `the answer restarted after a retry and its text differs from what was streamed; read run ${started.workflowId} at GET /v1/workflows/${encodeURIComponent(started.workflowId)}`,
          type: 'api_error',
          param: null,
          code: 'stream_restarted',
        });
        return;
      }
      chunks.text(rest);
      chunks.finish(answer);
    } catch (error) {
      if (!gone.aborted) chunks.error(errorOf(error));
    } finally {
      clearInterval(keepAlive);
      await relay?.stop();
      response.end();
    }
  }
}

/** An error as the `error` of an OpenAI error body. */
function errorOf(error: unknown) {
  const body = (error as { getResponse?: () => unknown }).getResponse?.() as { message?: string; code?: string } | undefined;
  const status = (error as { getStatus?: () => number }).getStatus?.() ?? 500;
  return { message: body?.message ?? 'The request failed', type: openAiErrorType(status), param: null, code: body?.code ?? null };
}
