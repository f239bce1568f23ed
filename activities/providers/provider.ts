import type { ProviderEndpoint } from '../../src/config/providers';
import type { ProviderName } from '../../src/pipeline/providers';
import type { TokenUsage } from '../../src/pipeline/types';
import type { InlineImage } from '../images';

/** What a step asks of a provider, in provider-neutral terms. */
export interface ProviderCall {
  model: string;
  system: string;
  prompt: string;
  /** Ask the model for a JSON object (structured tasks). */
  json: boolean;
  /** An image sent along with the prompt (analyze-image). */
  image?: InlineImage;
}

export interface ProviderAnswer {
  text: string;
  /** The model that answered, as the provider names it. */
  model: string;
  usage: TokenUsage;
  /** Why the provider's content filter blocked the answer, when it did. */
  blockedBy?: string;
}

export interface ProviderHttpRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** One AI provider's wire format. Adding a provider: one file implementing this, one line in the registry. */
export interface ProviderAdapter {
  readonly name: ProviderName;
  toHttpRequest(call: ProviderCall, endpoint: ProviderEndpoint): ProviderHttpRequest;
  /** Reads a 2xx body; throws a ZodError (→ ProviderMalformedResponse) when it is not the documented shape. */
  parseAnswer(body: unknown, call: ProviderCall): ProviderAnswer;
}

/** A credential header, left out when the endpoint has no key (simulator, local compatible servers). */
export function credentialHeader(name: string, value: string): Record<string, string> {
  return value ? { [name]: value } : {};
}

/** OpenAI and Cohere v2 take a user message as text, or as typed parts when an image comes along. */
export function chatUserContent(prompt: string, image?: InlineImage): string | unknown[] {
  if (!image) return prompt;
  return [
    { type: 'text', text: prompt },
    { type: 'image_url', image_url: { url: `data:${image.mimeType};base64,${image.base64}` } },
  ];
}
