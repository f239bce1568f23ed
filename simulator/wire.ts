import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { acceptsImages, catalogEntry, type WireKind } from '../src/pipeline/providers';
import type { SimulatedImage, SimulatedPrompt } from './model';

/** A request the simulator understood, whatever wire format it came in. */
export interface ParsedRequest extends SimulatedPrompt {
  model: string;
  /** The tool the request forces the model to call (Anthropic structured output): the answer goes in its input. */
  tool?: string;
  /** The request's output-token limit, in whichever field its wire has it; a longer answer is cut there. */
  maxOutputTokens?: number;
  /** The answer goes out as server-sent events, in the wire's stream format; `usage`: OpenAI's `stream_options.include_usage`. */
  stream?: { usage: boolean };
}

/** One server-sent event: its `event:` name where the wire names its events, and its `data:` line. */
export interface StreamEvent {
  event?: string;
  data: string;
}

const positiveNumber = (value: unknown) => (typeof value === 'number' && value > 0 ? value : undefined);

/** `stream: true` in the body (OpenAI, Anthropic, Cohere); OpenAI sends usage in a last chunk only when `stream_options.include_usage` asks. */
function streamOf(body: unknown): ParsedRequest['stream'] {
  if (!isObject(body) || body.stream !== true) return undefined;
  return { usage: isObject(body.stream_options) && body.stream_options.include_usage === true };
}

const sseData = (data: unknown, event?: string): StreamEvent => ({ ...(event ? { event } : {}), data: JSON.stringify(data) });

export interface Completion {
  model: string;
  /** Absent: the answer carries no content (optional in every provider's spec). */
  text?: string;
  inputTokens: number;
  /** Tokens of the text; thinking comes on top. */
  outputTokens: number;
  thinkingTokens?: number;
  /** In the provider's own words, e.g. `length`, `MAX_TOKENS`. */
  finishReason: string;
  /** False: the answer leaves out its (optional) usage. */
  usage: boolean;
  /** Answer through this forced tool (ParsedRequest.tool). */
  tool?: string;
}

/** A whole answer: status, body and the headers that go with it. */
export interface WireAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** The requests and tokens a provider saw in its current rate-limit window, for the headers that report them. */
export interface RateWindow {
  requests: number;
  tokens: number;
  /** Until the window's oldest request leaves it. */
  resetMs: number;
}

export class WireFormatError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** One wire kind's format: its route, how to read a request, how to write answers and errors. */
export interface ProviderWire {
  wire: WireKind;
  /** Matches the path below the provider's simulator prefix; captures the model when it is in the URL. */
  route: RegExp;
  /** The credential the request carries where this provider reads it. */
  credential(headers: IncomingHttpHeaders): string | undefined;
  parseRequest(body: unknown, routeMatch: RegExpExecArray): ParsedRequest;
  /** Finish reasons in the provider's words; no `error` when a failed generation is not a 2xx answer there. */
  finishReasons: { stop: string; truncated: string; error?: string };
  renderCompletion(completion: Completion): unknown;
  /** The same answer as a stream: the events before, one per piece of the text (concatenated, the whole text), and after. */
  renderStream(completion: Completion, pieces: string[], stream: { usage: boolean }): StreamEvent[];
  renderError(status: number, message: string): unknown;
  /** 429, with the delay where this provider puts it (a header, or Gemini's RetryInfo in the body). */
  renderRateLimited(retryAfterSeconds: number, model: string): WireAnswer;
  renderQuotaExhausted(model: string): WireAnswer;
  renderCredentialError(problem: 'missing' | 'invalid'): WireAnswer;
  /** The provider's content-filter answer; absent when the provider has no structured signal for it. */
  renderRefusal?(model: string): unknown;
  /** Rate-limit headers the provider sends with every answer (OpenAI's x-ratelimit-*). */
  rateLimitHeaders?(window: RateWindow): Record<string, string>;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageFromDataUrl(url: unknown): SimulatedImage {
  const match = typeof url === 'string' ? DATA_URL.exec(url) : null;
  // The simulator cannot fetch remote URLs (no network); clients of Chorus always send inline data.
  if (!match) throw new WireFormatError('image_url.url must be a data: URL in the simulator');
  return { mimeType: match[1], bytes: Buffer.from(match[2], 'base64') };
}

/** OpenAI and Cohere messages carry content as a string or as a list of typed parts (text, image_url). */
function messageContent(content: unknown): { text: string; images: SimulatedImage[] } {
  if (typeof content === 'string') return { text: content, images: [] };
  if (Array.isArray(content)) {
    const parts = content.filter(isObject);
    return {
      text: parts
        .filter((part) => part.type === 'text' && typeof part.text === 'string')
        .map((part) => part.text as string)
        .join('\n'),
      images: parts.filter((part) => part.type === 'image_url').map((part) => imageFromDataUrl(isObject(part.image_url) ? part.image_url.url : undefined)),
    };
  }
  throw new WireFormatError('message content must be a string or an array of content parts');
}

function chatMessages(body: unknown): { model: string; system?: string; prompt: string; images: SimulatedImage[] } {
  if (!isObject(body)) throw new WireFormatError('request body must be a JSON object');
  if (typeof body.model !== 'string' || !body.model) throw new WireFormatError("'model' is required");
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new WireFormatError("'messages' must be a non-empty array");
  const messages = body.messages.map((message) => {
    if (!isObject(message) || typeof message.role !== 'string') throw new WireFormatError('each message needs a role and content');
    return { role: message.role, ...messageContent(message.content) };
  });
  const system = messages.filter((message) => message.role === 'system' || message.role === 'developer').map((message) => message.text);
  const user = messages.filter((message) => message.role === 'user');
  return {
    model: body.model,
    system: system.join('\n') || undefined,
    prompt: user.map((message) => message.text).join('\n\n'),
    images: user.flatMap((message) => message.images),
  };
}

const bearer = (headers: IncomingHttpHeaders) => /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];

/** OpenAI's per-minute limits as the simulator reports them in x-ratelimit-* headers. */
const OPENAI_LIMITS = { requests: 10_000, tokens: 2_000_000 };

/** OpenAI writes reset times as Go-style durations: `6ms`, `1s`, `59.5s`. */
const openaiDuration = (ms: number) => (ms < 1000 ? `${Math.max(0, Math.round(ms))}ms` : `${Math.round(ms / 100) / 10}s`);

function openaiRateHeaders({ requests, tokens, resetMs }: RateWindow): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': String(OPENAI_LIMITS.requests),
    'x-ratelimit-remaining-requests': String(Math.max(0, OPENAI_LIMITS.requests - requests)),
    'x-ratelimit-reset-requests': openaiDuration(resetMs),
    'x-ratelimit-limit-tokens': String(OPENAI_LIMITS.tokens),
    'x-ratelimit-remaining-tokens': String(Math.max(0, OPENAI_LIMITS.tokens - tokens)),
    'x-ratelimit-reset-tokens': openaiDuration(resetMs),
  };
}

const openaiError = (message: string, type: string, code: string | null) => ({ error: { message, type, param: null, code } });

/** OpenAI counts reasoning inside completion_tokens, and apart in completion_tokens_details. */
function openaiUsage({ inputTokens, outputTokens, thinkingTokens = 0 }: Completion) {
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens + thinkingTokens,
    total_tokens: inputTokens + outputTokens + thinkingTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: thinkingTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

const openai: ProviderWire = {
  wire: 'openai-chat',
  route: /^\/chat\/completions$/,
  credential: bearer,
  parseRequest(body) {
    const format = (body as Json).response_format;
    const limits = body as Json;
    return {
      ...chatMessages(body),
      json: isObject(format) && (format.type === 'json_object' || format.type === 'json_schema'),
      maxOutputTokens: positiveNumber(limits.max_completion_tokens) ?? positiveNumber(limits.max_tokens),
      stream: streamOf(body),
    };
  },
  finishReasons: { stop: 'stop', truncated: 'length' },
  renderCompletion(completion) {
    const { model, text, finishReason, usage } = completion;
    return {
      id: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        { index: 0, message: { role: 'assistant', content: text ?? null, refusal: null, annotations: [] }, logprobs: null, finish_reason: finishReason },
      ],
      ...(usage ? { usage: openaiUsage(completion) } : {}),
      service_tier: 'default',
      system_fingerprint: 'fp_chorus_simulator',
    };
  },
  renderStream(completion, pieces, stream) {
    // Every chunk repeats the completion's id, creation time and model; the finish reason comes in a chunk with an empty delta.
    const head = {
      id: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: completion.model,
    };
    const tail = { service_tier: 'default', system_fingerprint: 'fp_chorus_simulator', ...(stream.usage ? { usage: null } : {}) };
    const chunk = (delta: Json, finishReason: string | null) =>
      sseData({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...tail });
    return [
      chunk({ role: 'assistant', content: '', refusal: null }, null),
      ...pieces.map((piece) => chunk({ content: piece }, null)),
      chunk({}, completion.finishReason),
      // With include_usage, one more chunk: no choices, the whole call's usage (left out by the no-usage fault, as compatible servers do).
      ...(stream.usage && completion.usage ? [sseData({ ...head, choices: [], ...tail, usage: openaiUsage(completion) })] : []),
      { data: '[DONE]' },
    ];
  },
  renderError(status, message) {
    const kinds: Record<number, [string, string | null]> = {
      400: ['invalid_request_error', null],
      401: ['invalid_request_error', 'invalid_api_key'],
      403: ['invalid_request_error', 'unsupported_country_region_territory'],
      404: ['invalid_request_error', 'model_not_found'],
      429: ['requests', 'rate_limit_exceeded'],
    };
    const [type, code] = kinds[status] ?? ['server_error', null];
    return openaiError(message, type, code);
  },
  renderRateLimited(retryAfterSeconds) {
    return {
      status: 429,
      body: openai.renderError(429, 'Rate limit reached for requests (simulated).'),
      headers: {
        'retry-after': String(retryAfterSeconds),
        ...openaiRateHeaders({ requests: OPENAI_LIMITS.requests, tokens: 0, resetMs: retryAfterSeconds * 1000 }),
      },
    };
  },
  renderQuotaExhausted() {
    // No Retry-After: waiting does not bring the quota back.
    return {
      status: 429,
      body: openaiError('You exceeded your current quota, please check your plan and billing details (simulated).', 'insufficient_quota', 'insufficient_quota'),
    };
  },
  renderCredentialError(problem) {
    return problem === 'missing'
      ? {
          status: 401,
          body: openaiError(
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (simulated).",
            'invalid_request_error',
            null,
          ),
        }
      : { status: 401, body: openaiError('Incorrect API key provided (simulated).', 'invalid_request_error', 'invalid_api_key') };
  },
  renderRefusal(model) {
    const completion = openai.renderCompletion({ model, text: '', inputTokens: 1, outputTokens: 0, finishReason: 'content_filter', usage: true }) as {
      choices: Json[];
    };
    completion.choices = [
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: "I'm sorry, I can't help with that." },
        logprobs: null,
        finish_reason: 'content_filter',
      },
    ];
    return completion;
  },
  rateLimitHeaders: openaiRateHeaders,
};

/** Cohere wraps the messages in its prompt template: it counts those tokens in `tokens` but does not bill them. */
const COHERE_TEMPLATE_TOKENS = 66;

const cohereError = (message: string) => ({ id: randomUUID(), message });

const cohereUsage = ({ inputTokens, outputTokens }: Completion) => ({
  billed_units: { input_tokens: inputTokens, output_tokens: outputTokens },
  tokens: { input_tokens: inputTokens + COHERE_TEMPLATE_TOKENS, output_tokens: outputTokens },
});

const COHERE_CAPABILITIES = catalogEntry('cohere')!.capabilities;

const cohere: ProviderWire = {
  wire: 'cohere-v2',
  route: /^\/v2\/chat$/,
  credential: bearer,
  parseRequest(body) {
    const format = (body as Json).response_format;
    const parsed = {
      ...chatMessages(body),
      json: isObject(format) && format.type === 'json_object',
      maxOutputTokens: positiveNumber((body as Json).max_tokens),
      stream: streamOf(body),
    };
    if (parsed.images.length && !acceptsImages(COHERE_CAPABILITIES, parsed.model)) {
      throw new WireFormatError(`invalid request: model '${parsed.model}' does not accept image inputs; use a vision model (simulated)`);
    }
    return parsed;
  },
  finishReasons: { stop: 'COMPLETE', truncated: 'MAX_TOKENS', error: 'ERROR' },
  renderCompletion(completion) {
    const { text, finishReason, usage } = completion;
    return {
      id: randomUUID(),
      message: { role: 'assistant', ...(text === undefined ? {} : { content: [{ type: 'text', text }] }) },
      finish_reason: finishReason,
      ...(usage ? { usage: cohereUsage(completion) } : {}),
    };
  },
  renderStream(completion, pieces) {
    // Each event names itself twice, in `event:` and in the data's `type`; the SDK stops at `[DONE]`.
    const event = (type: string, fields: Json) => sseData({ type, ...fields }, type);
    const content =
      completion.text === undefined
        ? []
        : [
            event('content-start', { index: 0, delta: { message: { content: { type: 'text', text: '' } } } }),
            ...pieces.map((text) => event('content-delta', { index: 0, delta: { message: { content: { text } } } })),
            event('content-end', { index: 0 }),
          ];
    return [
      event('message-start', { id: randomUUID(), delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } }),
      ...content,
      event('message-end', { delta: { finish_reason: completion.finishReason, ...(completion.usage ? { usage: cohereUsage(completion) } : {}) } }),
      { data: '[DONE]' },
    ];
  },
  renderError(_status, message) {
    return cohereError(message);
  },
  renderRateLimited(retryAfterSeconds) {
    return {
      status: 429,
      body: cohereError('You are using a Trial key, which is limited to 20 API calls / minute (simulated).'),
      headers: { 'retry-after': String(retryAfterSeconds) },
    };
  },
  renderQuotaExhausted() {
    return { status: 402, body: cohereError('Your account has reached its billing limit: add or update your payment method to continue (simulated).') };
  },
  renderCredentialError(problem) {
    return { status: 401, body: cohereError(problem === 'missing' ? 'no api key supplied' : 'invalid api token') };
  },
};

const GOOGLE_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

function geminiUsage({ text, inputTokens, outputTokens, thinkingTokens }: Completion) {
  return {
    promptTokenCount: inputTokens,
    ...(text === undefined ? {} : { candidatesTokenCount: outputTokens }),
    totalTokenCount: inputTokens + outputTokens + (thinkingTokens ?? 0),
    ...(thinkingTokens ? { thoughtsTokenCount: thinkingTokens } : {}),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: inputTokens }],
  };
}

const googleError = (status: number, message: string, details?: Json[]) => ({
  error: { code: status, message, status: GOOGLE_STATUS[status] ?? 'UNKNOWN', ...(details ? { details } : {}) },
});

/** Gemini's quota answer: which quota ran out (QuotaFailure), where to read about it, and when to come back (RetryInfo). */
function geminiQuotaError(model: string, quotaId: string, quotaMetric: string, retryDelaySeconds: number, message: string) {
  return googleError(429, message, [
    {
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [{ quotaMetric, quotaId, quotaDimensions: { location: 'global', model }, quotaValue: '15' }],
    },
    {
      '@type': 'type.googleapis.com/google.rpc.Help',
      links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }],
    },
    { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryDelaySeconds}s` },
  ]);
}

const gemini: ProviderWire = {
  wire: 'gemini',
  // The model is a resource name, `models/{model}` or `tunedModels/{model}`, as @google/genai writes it.
  // streamGenerateContent answers server-sent events with `?alt=sse` (the query is not part of the path matched here).
  route: /^\/v1(?:beta)?\/(models|tunedModels)\/([^/:]+):(generateContent|streamGenerateContent)$/,
  credential: (headers) => (typeof headers['x-goog-api-key'] === 'string' && headers['x-goog-api-key'] ? headers['x-goog-api-key'] : undefined),
  parseRequest(body, match) {
    const name = decodeURIComponent(match[2]);
    // An escaped `/` (models%2Fgemini-…) names no model: Gemini answers 404 for it.
    if (name.includes('/'))
      throw new WireFormatError(`${match[1]}/${name} is not found for API version v1beta, or is not supported for generateContent (simulated).`, 404);
    if (!isObject(body)) throw new WireFormatError('request body must be a JSON object');
    const partsOf = (content: unknown): Json[] => {
      if (!isObject(content) || !Array.isArray(content.parts)) throw new WireFormatError('each content needs a parts array');
      return content.parts.filter(isObject);
    };
    const partsText = (content: unknown): string =>
      partsOf(content)
        .filter((part) => typeof part.text === 'string')
        .map((part) => part.text as string)
        .join('\n');
    if (!Array.isArray(body.contents) || body.contents.length === 0) throw new WireFormatError('contents must be a non-empty array');
    const prompt = body.contents.map(partsText).join('\n\n');
    const images = body.contents
      .flatMap(partsOf)
      .map((part) => part.inlineData)
      .filter(isObject)
      .map((data) => ({ mimeType: String(data.mimeType), bytes: Buffer.from(String(data.data), 'base64') }));
    const system = body.systemInstruction === undefined ? undefined : partsText(body.systemInstruction);
    const config = body.generationConfig;
    const model = match[1] === 'models' ? name : `${match[1]}/${name}`;
    return {
      model,
      system,
      prompt,
      images,
      json: isObject(config) && config.responseMimeType === 'application/json',
      maxOutputTokens: isObject(config) ? positiveNumber(config.maxOutputTokens) : undefined,
      stream: match[3] === 'streamGenerateContent' ? { usage: true } : undefined,
    };
  },
  finishReasons: { stop: 'STOP', truncated: 'MAX_TOKENS', error: 'OTHER' },
  renderCompletion(completion) {
    const { model, text, finishReason, usage } = completion;
    return {
      // Without text (e.g. thinking used the whole output budget) the content has no parts at all.
      candidates: [{ content: { ...(text === undefined ? {} : { parts: [{ text }] }), role: 'model' }, finishReason, index: 0 }],
      ...(usage ? { usageMetadata: geminiUsage(completion) } : {}),
      modelVersion: model,
      responseId: randomUUID(),
    };
  },
  renderStream(completion, pieces) {
    // Each event is a whole GenerateContentResponse holding the next piece; the last one adds the finish reason and the usage.
    const responseId = randomUUID();
    const response = (parts: Json[], last: boolean) =>
      sseData({
        candidates: [{ content: { ...(parts.length ? { parts } : {}), role: 'model' }, ...(last ? { finishReason: completion.finishReason } : {}), index: 0 }],
        ...(last && completion.usage ? { usageMetadata: geminiUsage(completion) } : {}),
        modelVersion: completion.model,
        responseId,
      });
    if (!pieces.length) return [response([], true)];
    return pieces.map((text, index) => response([{ text }], index === pieces.length - 1));
  },
  renderError(status, message) {
    return googleError(status, message);
  },
  renderRateLimited(retryAfterSeconds, model) {
    // No Retry-After header: Gemini says when to retry only in the body.
    const message = 'You exceeded your current quota, please check your plan and billing details (simulated).';
    return {
      status: 429,
      body: geminiQuotaError(
        model,
        'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
        'generativelanguage.googleapis.com/generate_content_free_tier_requests',
        retryAfterSeconds,
        message,
      ),
    };
  },
  renderQuotaExhausted(model) {
    const message = 'You exceeded your current quota, please check your plan and billing details (simulated).';
    return {
      status: 429,
      body: geminiQuotaError(
        model,
        'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
        'generativelanguage.googleapis.com/generate_content_free_tier_requests',
        3600,
        message,
      ),
    };
  },
  renderCredentialError(problem) {
    if (problem === 'missing') {
      return {
        status: 403,
        body: googleError(
          403,
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API (simulated).",
        ),
      };
    }
    const message = 'API key not valid. Please pass a valid API key (simulated).';
    return {
      status: 400,
      body: googleError(400, message, [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'API_KEY_INVALID',
          domain: 'googleapis.com',
          metadata: { service: 'generativelanguage.googleapis.com' },
        },
        { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message },
      ]),
    };
  },
  renderRefusal(model) {
    return {
      promptFeedback: { blockReason: 'SAFETY' },
      usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 },
      modelVersion: model,
      responseId: randomUUID(),
    };
  },
};

const anthropicError = (type: string, message: string) => ({ type: 'error', error: { type, message }, request_id: `req_${randomUUID().replace(/-/g, '')}` });

/** Anthropic's error types by status (its errors page); 529 is overloaded_error. */
const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

function anthropicUsage({ inputTokens, outputTokens, thinkingTokens = 0 }: Completion) {
  return {
    input_tokens: inputTokens,
    // Thinking counts inside output_tokens, and apart in output_tokens_details.
    output_tokens: outputTokens + thinkingTokens,
    output_tokens_details: { thinking_tokens: thinkingTokens },
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: null,
    inference_geo: null,
    server_tool_use: null,
    service_tier: 'standard',
  };
}

/** Anthropic takes the image as a content block with a base64 source. */
function anthropicContent(content: unknown): { text: string; images: SimulatedImage[] } {
  if (typeof content === 'string') return { text: content, images: [] };
  if (!Array.isArray(content)) throw new WireFormatError('messages.0.content: Input should be a valid list');
  const blocks = content.filter(isObject);
  return {
    text: blocks
      .filter((block) => block.type === 'text' && typeof block.text === 'string')
      .map((block) => block.text as string)
      .join('\n'),
    images: blocks
      .filter((block) => block.type === 'image')
      .map((block) => {
        const source = isObject(block.source) ? block.source : {};
        if (source.type !== 'base64') throw new WireFormatError('the simulator takes base64 image sources only');
        return { mimeType: String(source.media_type), bytes: Buffer.from(String(source.data), 'base64') };
      }),
  };
}

/** Anthropic Messages (POST /v1/messages, API version 2023-06-01): content blocks, stop_reason, usage. */
const anthropic: ProviderWire = {
  wire: 'anthropic-messages',
  route: /^\/v1\/messages$/,
  // x-api-key, as Chorus sends it with version 2023-06-01; @anthropic-ai/sdk 1.x sends the key as a Bearer token.
  credential: (headers) => (typeof headers['x-api-key'] === 'string' && headers['x-api-key'] ? headers['x-api-key'] : bearer(headers)),
  parseRequest(body) {
    if (!isObject(body)) throw new WireFormatError('request body must be a JSON object');
    if (typeof body.model !== 'string' || !body.model) throw new WireFormatError('model: Field required');
    // Required by the API, unlike the other providers' output limits.
    if (typeof body.max_tokens !== 'number' || body.max_tokens < 1) throw new WireFormatError('max_tokens: Field required');
    if (!Array.isArray(body.messages) || body.messages.length === 0) throw new WireFormatError('messages: Field required');
    const user = body.messages
      .filter((message): message is Json => isObject(message) && message.role === 'user')
      .map((message) => anthropicContent(message.content));
    const system = typeof body.system === 'string' ? body.system : Array.isArray(body.system) ? anthropicContent(body.system).text : undefined;
    const choice = isObject(body.tool_choice) ? body.tool_choice : undefined;
    const tool = choice?.type === 'tool' && typeof choice.name === 'string' ? choice.name : undefined;
    if (tool && !(Array.isArray(body.tools) && body.tools.some((candidate) => isObject(candidate) && candidate.name === tool))) {
      throw new WireFormatError(`tool_choice: tool '${tool}' is not among the tools`);
    }
    return {
      model: body.model,
      system,
      prompt: user.map((content) => content.text).join('\n\n'),
      images: user.flatMap((content) => content.images),
      json: tool !== undefined,
      tool,
      maxOutputTokens: body.max_tokens,
      stream: streamOf(body),
    };
  },
  finishReasons: { stop: 'end_turn', truncated: 'max_tokens' },
  renderCompletion(completion) {
    const { model, text, finishReason, usage, tool } = completion;
    const structured = tool !== undefined && text !== undefined ? parseObject(text) : undefined;
    const content = structured
      ? [{ type: 'tool_use', id: `toolu_${randomUUID().replace(/-/g, '')}`, name: tool, input: structured }]
      : text === undefined
        ? []
        : [{ type: 'text', text, citations: null }];
    return {
      id: `msg_${randomUUID().replace(/-/g, '')}`,
      type: 'message',
      role: 'assistant',
      model,
      content,
      container: null,
      diagnostics: null,
      stop_reason: structured && finishReason === 'end_turn' ? 'tool_use' : finishReason,
      stop_sequence: null,
      stop_details: finishReason === 'refusal' ? { type: 'refusal', category: null, explanation: null } : null,
      // usage is required in Anthropic's answers; the no-usage fault still leaves it out, as compatible gateways do.
      ...(usage ? { usage: anthropicUsage(completion) } : {}),
    };
  },
  renderStream(completion, pieces) {
    const { text, tool, finishReason } = completion;
    const event = (type: string, fields: Json = {}) => sseData({ type, ...fields }, type);
    // A forced tool streams its input as JSON fragments; text streams as text deltas.
    const structured = tool !== undefined && text !== undefined && parseObject(text) !== undefined;
    const block = structured
      ? {
          start: { type: 'tool_use', id: `toolu_${randomUUID().replace(/-/g, '')}`, name: tool, input: {} },
          delta: (piece: string) => ({ type: 'input_json_delta', partial_json: piece }),
        }
      : { start: { type: 'text', text: '', citations: null }, delta: (piece: string) => ({ type: 'text_delta', text: piece }) };
    const start = anthropic.renderCompletion({ ...completion, text: undefined }) as Json;
    return [
      // message_start carries the message without content, and the usage known so far (input, one output token).
      event('message_start', {
        message: {
          ...start,
          stop_reason: null,
          stop_details: null,
          ...(completion.usage ? { usage: { ...anthropicUsage(completion), output_tokens: 1 } } : {}),
        },
      }),
      ...(text === undefined
        ? []
        : [
            event('content_block_start', { index: 0, content_block: block.start }),
            event('ping'),
            ...pieces.map((piece) => event('content_block_delta', { index: 0, delta: block.delta(piece) })),
            event('content_block_stop', { index: 0 }),
          ]),
      event('message_delta', {
        delta: { stop_reason: structured && finishReason === 'end_turn' ? 'tool_use' : finishReason, stop_sequence: null, stop_details: null },
        ...(completion.usage ? { usage: { output_tokens: anthropicUsage(completion).output_tokens } } : {}),
      }),
      event('message_stop'),
    ];
  },
  renderError(status, message) {
    return anthropicError(ANTHROPIC_ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message);
  },
  renderRateLimited(retryAfterSeconds) {
    return {
      status: 429,
      body: anthropicError('rate_limit_error', 'This request would exceed the rate limit for your organization of 50 requests per minute (simulated).'),
      headers: { 'retry-after': String(retryAfterSeconds), 'anthropic-ratelimit-requests-limit': '50', 'anthropic-ratelimit-requests-remaining': '0' },
    };
  },
  renderQuotaExhausted() {
    return {
      status: 402,
      body: anthropicError(
        'billing_error',
        'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits (simulated).',
      ),
    };
  },
  renderCredentialError(problem) {
    return {
      status: 401,
      body: anthropicError('authentication_error', problem === 'missing' ? 'x-api-key header is required (simulated)' : 'invalid x-api-key (simulated)'),
    };
  },
  renderRefusal(model) {
    return anthropic.renderCompletion({ model, text: undefined, inputTokens: 1, outputTokens: 0, finishReason: 'refusal', usage: true });
  },
};

function parseObject(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** One wire per wire kind; providers and configured instances of a kind share it. */
export const WIRES: Record<WireKind, ProviderWire> = { 'openai-chat': openai, 'anthropic-messages': anthropic, 'cohere-v2': cohere, gemini };
