import { PROVIDER_CATALOG, type WireKind } from '../../src/pipeline/providers';
import { anthropicAdapter } from './anthropic';
import { cohereAdapter } from './cohere';
import { geminiAdapter } from './gemini';
import { openaiAdapter } from './openai';
import type { ProviderAdapter } from './provider';

/** One adapter per wire kind; every provider of a kind, built-in or configured, goes through it. */
export const WIRE_ADAPTERS: Record<WireKind, ProviderAdapter> = {
  'openai-chat': openaiAdapter,
  'anthropic-messages': anthropicAdapter,
  'cohere-v2': cohereAdapter,
  gemini: geminiAdapter,
};

export type { ProviderAdapter, ProviderAnswer, ProviderCall, ResponseSchema } from './provider';

/** The built-in providers' adapters, by provider name. */
export const PROVIDER_ADAPTERS: Record<string, ProviderAdapter> = Object.fromEntries(PROVIDER_CATALOG.map((entry) => [entry.name, WIRE_ADAPTERS[entry.wire]]));
