import type { ProviderEndpoint } from '../../src/config/providers';
import type { WireKind } from '../../src/pipeline/providers';
import type { TokenUsage } from '../../src/pipeline/types';
import type { InlineImage } from '../images';

/** What a step asks of a provider, in provider-neutral terms. */
export interface ProviderCall {
  model: string;
  system: string;
  prompt: string;
  /** Ask the model for a JSON object (structured tasks). */
  json: boolean;
  /**
   * The JSON Schema the answer must satisfy (extract, classify, sentiment), sent natively when the
   * endpoint's capabilities say it holds answers to one; Chorus validates the answer either way.
   */
  responseSchema?: ResponseSchema;
  /** An image sent along with the prompt (analyze-image). */
  image?: InlineImage;
  /** Upper bound of the answer's tokens (thinking included where the provider counts it so). */
  maxOutputTokens?: number;
  temperature?: number;
  /** The generation stops before any of these. */
  stopSequences?: string[];
}

export interface ResponseSchema {
  /** A name for the schema, as OpenAI's json_schema and Anthropic's tool ask for one. */
  name: string;
  schema: Record<string, unknown>;
  /** Whether the schema meets OpenAI's strict subset (every object closed, every property required). */
  strict: boolean;
}

/**
 * How a generation ended, in Chorus's terms: `complete` is a usable answer; the others become typed
 * failures (activities/errors.ts). `reason` is the provider's own word for it (`length`, `MAX_TOKENS`).
 */
export interface AnswerFinish {
  outcome: 'complete' | 'truncated' | 'failed' | 'blocked';
  reason: string;
}

export interface ProviderAnswer {
  /** The answer's text parts only (no thinking or tool parts); empty when the answer has none. */
  text: string;
  /** The model that answered, as the provider names it. */
  model: string;
  /** Tokens processed; absent when the answer did not report them (usage is optional in every provider's spec). */
  usage?: TokenUsage;
  /** Tokens billed, when the provider reports them apart from `usage` (Cohere `billed_units`). */
  billed?: TokenUsage;
  finish: AnswerFinish;
}

export interface ProviderHttpRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** One wire kind. Adding one: a file implementing this, a line in the registry; providers of a kind are catalog data or configuration. */
export interface ProviderAdapter {
  readonly wire: WireKind;
  /** Throws an ApplicationFailure (activities/errors.ts) for a call this provider cannot take, before anything is sent. */
  toHttpRequest(call: ProviderCall, endpoint: ProviderEndpoint): ProviderHttpRequest;
  /** Reads a 2xx body; throws a ZodError (→ ProviderMalformedResponse) when it is not the documented shape. */
  parseAnswer(body: unknown, call: ProviderCall): ProviderAnswer;
}

/** The endpoint's credential header, left out when it has no key (simulator, local compatible servers). */
export function credentialHeader({ apiKey, credential }: Pick<ProviderEndpoint, 'apiKey' | 'credential'>): Record<string, string> {
  if (!apiKey) return {};
  return { [credential.header]: credential.scheme ? `${credential.scheme} ${apiKey}` : apiKey };
}

/** OpenAI and Cohere v2 take a user message as text, or as typed parts when an image comes along. */
export function chatUserContent(prompt: string, image?: InlineImage): string | unknown[] {
  if (!image) return prompt;
  return [
    { type: 'text', text: prompt },
    { type: 'image_url', image_url: { url: `data:${image.mimeType};base64,${image.base64}` } },
  ];
}
