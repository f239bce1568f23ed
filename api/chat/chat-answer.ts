import { HttpException, HttpStatus } from '@nestjs/common';
import type { ChatCompletion, ChatCompletionChunk, OpenAiError, RunView } from '../../src/contract/api';
import { FailureType } from '../../src/pipeline/failures';
import { isApprovalOutcome, isMapResult, type StepOutput, type StepResult } from '../../src/pipeline/types';
import type { TokenEvent } from '../../src/streaming/token-stream';
import { CHAT_PIPELINE, PIPELINE_MODEL_PREFIX } from './chat-request';

type Completed = RunView & { result: NonNullable<RunView['result']> };

/** The answer of a closed run: its text and how it ended; for a pipeline, the last step that produced text. */
export interface ChatAnswer {
  content: string;
  finishReason: 'stop' | 'length';
  model: string;
  usage: ChatCompletion['usage'];
}

/** Failures the request itself caused (the same request fails again): a 400; any other failure of a closed run is the providers': a 502. */
const REQUEST_FAILURES = new Set<string>([
  FailureType.ProviderRejectedRequest,
  FailureType.ProviderContentFiltered,
  FailureType.ProviderOutputTruncated,
  FailureType.ModelLacksCapability,
  FailureType.ModelNotAllowed,
  FailureType.InvalidPipeline,
  FailureType.ImageRejected,
  FailureType.BudgetExceeded,
]);

/** Why a run that closed gave no answer, as an HTTP error the filter answers in OpenAI's error body (`code`: the failure type). */
export function runFailure(view: RunView): HttpException {
  const about = `run ${view.workflowId}`;
  if (view.status === 'FAILED') {
    const type = view.error?.type ?? 'Error';
    const status = REQUEST_FAILURES.has(type) ? HttpStatus.BAD_REQUEST : HttpStatus.BAD_GATEWAY;
    const step = view.error?.step ? ` (step ${view.error.step})` : '';
    return new HttpException({ message: `${about} failed${step}: ${type}: ${view.error?.message ?? ''}`, code: type }, status);
  }
  return new HttpException({ message: `${about} ended ${view.status} before it answered`, code: `run_${view.status.toLowerCase()}` }, HttpStatus.CONFLICT);
}

/** A run that has not closed by the time the request may wait: it goes on, and is read by its workflow ID. */
export function stillRunning(workflowId: string): HttpException {
  return new HttpException(
    { message: `run ${workflowId} is still running; read it at GET /v1/workflows/${encodeURIComponent(workflowId)}`, code: 'run_still_running' },
    HttpStatus.GATEWAY_TIMEOUT,
  );
}

/** The model a chat answer names: the provider model that answered, or the pipeline. */
const modelOf = (view: Completed, answer: StepResult | undefined) =>
  view.pipeline === CHAT_PIPELINE && answer ? `${answer.provider}/${answer.model}` : `${PIPELINE_MODEL_PREFIX}${view.pipeline}`;

/** The answer of a completed run: the text of the last step (in definition order) that produced text. */
export function answerOf(view: RunView): ChatAnswer {
  if (view.status !== 'COMPLETED' || !view.result) throw runFailure(view);
  const completed = view as Completed;
  const { progress, usage } = completed.result;
  // The contract's schema of a step's output is the workflow's StepOutput.
  const steps = completed.result.steps as Record<string, StepOutput>;
  const produced = progress
    .filter((step) => step.status === 'done')
    .map((step) => steps[step.id])
    .filter((output) => output !== undefined && !isApprovalOutcome(output));
  const last = produced.at(-1);
  const answer = last && !isMapResult(last) && !isApprovalOutcome(last) ? last : undefined;
  const content = answer ? answer.text : last && isMapResult(last) ? last.texts.join('\n\n') : '';
  return {
    content,
    finishReason: answer?.truncated ? 'length' : 'stop',
    model: modelOf(completed, answer),
    usage: {
      prompt_tokens: usage.total.inputTokens,
      completion_tokens: usage.total.outputTokens,
      total_tokens: usage.total.inputTokens + usage.total.outputTokens,
    },
  };
}

export const createdOf = (view: Pick<RunView, 'startedAt'>) => Math.floor(Date.parse(view.startedAt) / 1000);

export function completionOf(view: RunView): ChatCompletion {
  const answer = answerOf(view);
  return {
    id: view.workflowId,
    object: 'chat.completion',
    created: createdOf(view),
    model: answer.model,
    choices: [{ index: 0, message: { role: 'assistant', content: answer.content, refusal: null }, finish_reason: answer.finishReason, logprobs: null }],
    usage: answer.usage,
  };
}

/** Writes a streamed completion's events: chunks of one run, then `[DONE]`, or an error event in its place. */
export class ChunkWriter {
  constructor(
    private readonly write: (data: string) => void,
    private readonly id: string,
    private readonly created: number,
    private model: string,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(choices: ChatCompletionChunk['choices'], usage?: ChatCompletion['usage']): void {
    const chunk: ChatCompletionChunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices,
      ...(this.includeUsage ? { usage: usage ?? null } : {}),
    };
    this.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }

  role(): void {
    this.chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }]);
  }

  text(content: string): void {
    if (content) this.chunk([{ index: 0, delta: { content }, finish_reason: null, logprobs: null }]);
  }

  /** The last chunks: how the answer ended, its usage when asked for, and `[DONE]`. */
  finish(answer: ChatAnswer): void {
    this.model = answer.model;
    this.chunk([{ index: 0, delta: {}, finish_reason: answer.finishReason, logprobs: null }]);
    if (this.includeUsage) this.chunk([], answer.usage);
    this.write('data: [DONE]\n\n');
  }

  /** An error in place of the rest: OpenAI's SDKs raise it as an APIError. */
  error(error: OpenAiError['error']): void {
    this.write(`data: ${JSON.stringify({ error })}\n\n`);
  }
}

/**
 * The answer's text as a streamed completion sends it: one attempt's tokens, live, until another
 * attempt (a retry, a fallback) writes after some text went out; from then on none, and the
 * durable result decides the rest. OpenAI's wire cannot take text back, so text of two attempts is
 * never glued: `rest` is what the result adds to the text sent, or undefined when it does not begin
 * with it.
 */
export class StreamedAnswer {
  private sent = '';
  private writer?: string;
  private stopped = false;

  constructor(private readonly step: string | undefined) {}

  /** The text of a token event to send now, or '' (another step's, or after a restart). */
  push(event: Pick<TokenEvent, 'kind' | 'step' | 'call' | 'attempt' | 'text'>): string {
    if (event.step !== this.step || this.stopped) return '';
    const attempt = `${event.call}#${event.attempt}`;
    if (this.writer !== attempt) {
      if (this.sent) {
        this.stopped = true;
        return '';
      }
      this.writer = attempt;
    }
    if (event.kind !== 'token' || !event.text) return '';
    this.sent += event.text;
    return event.text;
  }

  /** No more live text (the transport failed): the durable result completes it. */
  stop(): void {
    this.stopped = true;
  }

  rest(content: string): string | undefined {
    return content.startsWith(this.sent) ? content.slice(this.sent.length) : undefined;
  }
}
