import type { ProviderName } from '../../src/pipeline/providers';
import { cohereAdapter } from './cohere';
import { geminiAdapter } from './gemini';
import { openaiAdapter } from './openai';
import type { ProviderAdapter } from './provider';

export const PROVIDER_ADAPTERS: Record<ProviderName, ProviderAdapter> = {
  openai: openaiAdapter,
  cohere: cohereAdapter,
  gemini: geminiAdapter,
};

export type { ProviderAdapter, ProviderAnswer, ProviderCall } from './provider';
