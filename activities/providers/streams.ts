import { AxiosError, AxiosHeaders, type AxiosResponse } from 'axios';
import type { WireKind } from '../../src/pipeline/providers';
import type { ProviderHttpRequest } from './provider';
import type { ServerSentEvent } from './sse';

/**
 * One streamed answer being read: each event goes in, the answer text it adds comes out, and at the
 * end the body the unstreamed answer would have had, so the wire's `parseAnswer` (finish reasons,
 * usage, typed failures) reads a streamed answer exactly as an unstreamed one.
 */
export interface StreamAssembly {
  /** Reads one event; returns the text it adds to the answer, if any. Throws an AxiosError for an error event, SyntaxError for data that is not JSON. */
  push(event: ServerSentEvent): string | undefined;
  /** The wire's last event came: a stream that ends before it was cut short. */
  readonly ended: boolean;
  /** The body the same request would have got without streaming. */
  body(): unknown;
}

/** A wire kind's stream form: how to ask for it, and how to fold its events back into an answer. */
export interface WireStream {
  toStreamRequest(request: ProviderHttpRequest): ProviderHttpRequest;
  assemble(): StreamAssembly;
}

/** Event payloads are read field by field; parseAnswer's schema checks the assembled body. */
type Json = Record<string, any>;

const withBody = (request: ProviderHttpRequest, fields: Json): ProviderHttpRequest => ({
  ...request,
  headers: { ...request.headers, accept: 'text/event-stream' },
  body: { ...(request.body as Json), ...fields },
});

/** An error the provider sends inside a stream, as the HTTP error it stands for, so activities/errors.ts classifies it like one. */
function streamedError(status: number, data: unknown): AxiosError {
  const response = { status, statusText: 'error event', headers: new AxiosHeaders(), data, config: { headers: new AxiosHeaders() } } as AxiosResponse;
  return new AxiosError(`error event in the stream (HTTP ${status})`, AxiosError.ERR_BAD_RESPONSE, undefined, undefined, response);
}

/** An `{error: {code?, …}}` chunk (OpenAI, Gemini), as the HTTP error it stands for. */
function errorChunk(chunk: Json): AxiosError | undefined {
  if (typeof chunk.error !== 'object' || chunk.error === null) return undefined;
  const code = Number(chunk.error.code);
  return streamedError(Number.isInteger(code) && code >= 400 && code < 600 ? code : 500, chunk);
}

/** OpenAI Chat Completions: `chat.completion.chunk`s with deltas, the finish reason in its own chunk, usage in a last one (include_usage), then `[DONE]`. */
const openaiStream: WireStream = {
  toStreamRequest: (request) => withBody(request, { stream: true, stream_options: { include_usage: true } }),
  assemble() {
    let model: string | undefined;
    const content: string[] = [];
    const refusal: string[] = [];
    let finishReason: string | null = null;
    let usage: unknown;
    let sawChoice = false;
    let ended = false;
    return {
      get ended() {
        return ended;
      },
      push(event) {
        if (event.data === '[DONE]') {
          ended = true;
          return undefined;
        }
        const chunk = JSON.parse(event.data) as Json;
        const failure = errorChunk(chunk);
        if (failure) throw failure;
        model ??= chunk.model;
        if (chunk.usage) usage = chunk.usage;
        const choice = Array.isArray(chunk.choices) ? chunk.choices.find((candidate: Json) => (candidate.index ?? 0) === 0) : undefined;
        if (!choice) return undefined;
        sawChoice = true;
        if (choice.finish_reason) finishReason = choice.finish_reason;
        if (typeof choice.delta?.refusal === 'string') refusal.push(choice.delta.refusal);
        const piece = choice.delta?.content;
        if (typeof piece !== 'string' || piece === '') return undefined;
        content.push(piece);
        return piece;
      },
      body: () => ({
        model,
        choices: sawChoice
          ? [{ message: { content: content.length ? content.join('') : null, refusal: refusal.length ? refusal.join('') : null }, finish_reason: finishReason }]
          : [],
        ...(usage ? { usage } : {}),
      }),
    };
  },
};

/** Anthropic's error types as the HTTP statuses they come with outside a stream. */
const ANTHROPIC_ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Anthropic Messages: message_start, per content block start/deltas/stop, message_delta (stop reason, output usage), message_stop; `error` events mid-stream. */
const anthropicStream: WireStream = {
  toStreamRequest: (request) => withBody(request, { stream: true }),
  assemble() {
    let message: Json = {};
    const blocks: Json[] = [];
    const partialJson = new Map<number, string[]>();
    let ended = false;
    return {
      get ended() {
        return ended;
      },
      push(event) {
        const data = JSON.parse(event.data) as Json;
        switch (data.type) {
          case 'message_start':
            message = { ...data.message, content: [] };
            return undefined;
          case 'content_block_start':
            blocks[data.index] = { ...data.content_block };
            return undefined;
          case 'content_block_delta': {
            const block = blocks[data.index] ?? (blocks[data.index] = { type: 'text', text: '' });
            if (data.delta?.type === 'text_delta') {
              block.text = `${block.text ?? ''}${data.delta.text}`;
              return data.delta.text || undefined;
            }
            if (data.delta?.type === 'input_json_delta') {
              partialJson.set(data.index, [...(partialJson.get(data.index) ?? []), data.delta.partial_json]);
              return data.delta.partial_json || undefined;
            }
            // Thinking and signature deltas are not the answer.
            return undefined;
          }
          case 'content_block_stop': {
            const json = partialJson.get(data.index);
            if (json && blocks[data.index]) blocks[data.index].input = json.join('') ? JSON.parse(json.join('')) : {};
            return undefined;
          }
          case 'message_delta':
            // The delta's usage is cumulative: it updates message_start's counts.
            message = { ...message, ...data.delta, ...(message.usage || data.usage ? { usage: { ...message.usage, ...data.usage } } : {}) };
            return undefined;
          case 'message_stop':
            ended = true;
            return undefined;
          case 'error':
            throw streamedError(ANTHROPIC_ERROR_STATUS[data.error?.type] ?? 500, data);
          default:
            // ping, and event types added later, carry no part of the answer.
            return undefined;
        }
      },
      body: () => ({ ...message, content: blocks.filter(Boolean) }),
    };
  },
};

/** Cohere Chat v2: message-start, content-start/-delta/-end per part, message-end with finish reason and usage. */
const cohereStream: WireStream = {
  toStreamRequest: (request) => withBody(request, { stream: true }),
  assemble() {
    const parts: Json[] = [];
    let end: Json | undefined;
    return {
      get ended() {
        return end !== undefined;
      },
      push(event) {
        if (event.data === '[DONE]') return undefined;
        const data = JSON.parse(event.data) as Json;
        const content = data.delta?.message?.content;
        switch (data.type) {
          case 'content-start':
            parts[data.index ?? 0] = { ...content };
            return undefined;
          case 'content-delta': {
            const part = parts[data.index ?? 0] ?? (parts[data.index ?? 0] = { type: 'text', text: '' });
            if (typeof content?.thinking === 'string') part.thinking = `${part.thinking ?? ''}${content.thinking}`;
            if (typeof content?.text !== 'string') return undefined;
            part.text = `${part.text ?? ''}${content.text}`;
            return part.type === 'text' && content.text ? content.text : undefined;
          }
          case 'message-end':
            end = data.delta ?? {};
            return undefined;
          default:
            return undefined;
        }
      },
      body: () => ({
        ...(end?.finish_reason ? { finish_reason: end.finish_reason } : {}),
        message: parts.length ? { content: parts.filter(Boolean) } : {},
        ...(end?.usage ? { usage: end.usage } : {}),
      }),
    };
  },
};

/** Gemini streamGenerateContent?alt=sse: each event a GenerateContentResponse with the next parts; the last has the finish reason and usage. */
const geminiStream: WireStream = {
  toStreamRequest: (request) => ({
    ...request,
    url: request.url.replace(/:generateContent$/, ':streamGenerateContent?alt=sse'),
    headers: { ...request.headers, accept: 'text/event-stream' },
  }),
  assemble() {
    const parts: Json[] = [];
    let finishReason: string | undefined;
    let sawCandidate = false;
    let promptFeedback: unknown;
    let usageMetadata: unknown;
    let modelVersion: string | undefined;
    return {
      get ended() {
        return finishReason !== undefined || promptFeedback !== undefined;
      },
      push(event) {
        const chunk = JSON.parse(event.data) as Json;
        const failure = errorChunk(chunk);
        if (failure) throw failure;
        if (chunk.promptFeedback?.blockReason) promptFeedback = chunk.promptFeedback;
        if (chunk.usageMetadata) usageMetadata = chunk.usageMetadata;
        if (chunk.modelVersion) modelVersion = chunk.modelVersion;
        const candidate = chunk.candidates?.[0];
        if (!candidate) return undefined;
        sawCandidate = true;
        if (candidate.finishReason) finishReason = candidate.finishReason;
        const added: Json[] = candidate.content?.parts ?? [];
        parts.push(...added);
        const text = added
          .filter((part) => !part.thought && typeof part.text === 'string')
          .map((part) => part.text as string)
          .join('');
        return text || undefined;
      },
      body: () => ({
        ...(sawCandidate
          ? { candidates: [{ content: parts.length ? { parts, role: 'model' } : { role: 'model' }, ...(finishReason ? { finishReason } : {}) }] }
          : {}),
        ...(promptFeedback ? { promptFeedback } : {}),
        ...(usageMetadata ? { usageMetadata } : {}),
        ...(modelVersion ? { modelVersion } : {}),
      }),
    };
  },
};

/** One stream form per wire kind, beside WIRE_ADAPTERS. */
export const WIRE_STREAMS: Record<WireKind, WireStream> = {
  'openai-chat': openaiStream,
  'anthropic-messages': anthropicStream,
  'cohere-v2': cohereStream,
  gemini: geminiStream,
};
