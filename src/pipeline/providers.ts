/** Every AI provider Chorus can call. Adding one: a name here, an adapter in activities/providers. */
export const PROVIDER_NAMES = ['openai', 'cohere', 'gemini'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export function isProviderName(value: unknown): value is ProviderName {
  return typeof value === 'string' && (PROVIDER_NAMES as readonly string[]).includes(value);
}
