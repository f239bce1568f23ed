/** Every AI provider Chorus can call. Adding one: a name here, an adapter in activities/providers. */
export const PROVIDER_NAMES = ['openai', 'cohere', 'gemini'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export function isProviderName(value: unknown): value is ProviderName {
  return typeof value === 'string' && (PROVIDER_NAMES as readonly string[]).includes(value);
}

/**
 * Model-name prefixes that take images, for providers whose other models are text-only (Cohere's
 * image-inputs guide: Command A Vision, e.g. `command-a-vision-07-2025`, and Aya Vision, e.g.
 * `c4ai-aya-vision-8b`). Providers absent here take images on every model.
 */
export const IMAGE_MODEL_PREFIXES: Partial<Record<ProviderName, readonly string[]>> = {
  cohere: ['command-a-vision', 'c4ai-aya-vision'],
};

/** Whether a provider's model accepts image input. */
export function acceptsImages(provider: ProviderName, model: string): boolean {
  const prefixes = IMAGE_MODEL_PREFIXES[provider];
  return !prefixes || prefixes.some((prefix) => model.startsWith(prefix));
}
