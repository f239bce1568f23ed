import { randomUUID } from 'node:crypto';
import type { ProviderName } from '../src/pipeline/providers';
import type { SimulatedImage, SimulatedPrompt } from './model';

/** A request the simulator understood, whatever wire format it came in. */
export interface ParsedRequest extends SimulatedPrompt {
  model: string;
}

export interface Completion {
  model: string;
  text: string;
  inputTokens: number;
  outputTokens: number;
}

export class WireFormatError extends Error {}

/** One provider's wire format: its route, how to read a request, how to write answers and errors. */
export interface ProviderWire {
  provider: ProviderName;
  /** Matches the path below the provider's simulator prefix; captures the model when it is in the URL. */
  route: RegExp;
  parseRequest(body: unknown, routeMatch: RegExpExecArray): ParsedRequest;
  renderCompletion(completion: Completion): unknown;
  renderError(status: number, message: string): unknown;
  /** The provider's content-filter answer; absent when the provider has no structured signal for it. */
  renderRefusal?(model: string): unknown;
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

const openai: ProviderWire = {
  provider: 'openai',
  route: /^\/chat\/completions$/,
  parseRequest(body) {
    const format = (body as Json).response_format;
    return { ...chatMessages(body), json: isObject(format) && (format.type === 'json_object' || format.type === 'json_schema') };
  },
  renderCompletion({ model, text, inputTokens, outputTokens }) {
    return {
      id: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
      system_fingerprint: 'fp_chorus_simulator',
    };
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
    return { error: { message, type, param: null, code } };
  },
  renderRefusal(model) {
    const completion = openai.renderCompletion({ model, text: '', inputTokens: 1, outputTokens: 0 }) as { choices: Json[] };
    completion.choices = [{ index: 0, message: { role: 'assistant', content: null, refusal: "I'm sorry, I can't help with that." }, logprobs: null, finish_reason: 'content_filter' }];
    return completion;
  },
};

const cohere: ProviderWire = {
  provider: 'cohere',
  route: /^\/v2\/chat$/,
  parseRequest(body) {
    const format = (body as Json).response_format;
    return { ...chatMessages(body), json: isObject(format) && format.type === 'json_object' };
  },
  renderCompletion({ text, inputTokens, outputTokens }) {
    return {
      id: randomUUID(),
      message: { role: 'assistant', content: [{ type: 'text', text }] },
      finish_reason: 'COMPLETE',
      usage: {
        billed_units: { input_tokens: inputTokens, output_tokens: outputTokens },
        tokens: { input_tokens: inputTokens, output_tokens: outputTokens },
      },
    };
  },
  renderError(_status, message) {
    return { id: randomUUID(), message };
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

const gemini: ProviderWire = {
  provider: 'gemini',
  route: /^\/v1(?:beta)?\/models\/([^/:]+):generateContent$/,
  parseRequest(body, match) {
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
    return { model: decodeURIComponent(match[1]), system, prompt, images, json: isObject(config) && config.responseMimeType === 'application/json' };
  },
  renderCompletion({ model, text, inputTokens, outputTokens }) {
    return {
      candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: inputTokens, candidatesTokenCount: outputTokens, totalTokenCount: inputTokens + outputTokens },
      modelVersion: model,
      responseId: randomUUID(),
    };
  },
  renderError(status, message) {
    return { error: { code: status, message, status: GOOGLE_STATUS[status] ?? 'UNKNOWN' } };
  },
  renderRefusal(model) {
    return { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 }, modelVersion: model, responseId: randomUUID() };
  },
};

export const PROVIDER_WIRES: Record<ProviderName, ProviderWire> = { openai, cohere, gemini };
