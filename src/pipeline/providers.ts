/**
 * The provider catalog: every built-in provider as data. Code exists per wire kind only (an adapter
 * in activities/providers, a wire in simulator/wire.ts); configuration (src/config/providers.ts)
 * adds instances of a wire kind at runtime. Pure: the workflow and the schema read it.
 */

/** The HTTP dialects Chorus speaks; one adapter and one simulator wire each. */
export const WIRE_KINDS = ['openai-chat', 'anthropic-messages', 'cohere-v2', 'gemini'] as const;
export type WireKind = (typeof WIRE_KINDS)[number];

/** USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

export interface ProviderCapabilities {
  /** Images as input: on every model (true), none (false), or on the models whose name starts with one of these. */
  vision: boolean | readonly string[];
  /** The answer can be held to a JSON Schema by the provider itself (structured output). */
  jsonSchema: boolean;
  streaming: boolean;
}

/** Limits of a provider's activity queue; environment variables override them per deployment. */
export interface ProviderLimits {
  /** Requests per second across all workers. @default unlimited */
  maxRps?: number;
  /** Calls one worker process runs at once. @default the worker's maxConcurrentActivities */
  maxConcurrency?: number;
}

export interface ProviderCatalogEntry {
  /** Name in pipeline definitions, task queues, metrics and environment variables (upper-cased). */
  name: string;
  wire: WireKind;
  baseUrl: string;
  /** The API key's environment variable and where the key goes on a request. */
  credential: { variable: string; header: string; scheme?: 'Bearer' };
  defaultModel: string;
  capabilities: ProviderCapabilities;
  /** List prices and the day they were read off the provider's pricing page. */
  prices: { takenOn: string; models: Record<string, ModelPrice> };
  limits: ProviderLimits;
  /** Path prefix under which the Chorus simulator serves this provider. */
  simulatorPath: string;
}

/** What each wire kind needs that its instances share: where the key goes and the simulator's path for it. */
export const WIRE_DEFAULTS: Record<WireKind, { credential: { header: string; scheme?: 'Bearer' }; simulatorPath: string }> = {
  'openai-chat': { credential: { header: 'authorization', scheme: 'Bearer' }, simulatorPath: '/openai/v1' },
  'anthropic-messages': { credential: { header: 'x-api-key' }, simulatorPath: '/anthropic' },
  'cohere-v2': { credential: { header: 'authorization', scheme: 'Bearer' }, simulatorPath: '/cohere' },
  gemini: { credential: { header: 'x-goog-api-key' }, simulatorPath: '/gemini' },
};

export const PROVIDER_CATALOG = [
  {
    name: 'openai',
    wire: 'openai-chat',
    baseUrl: 'https://api.openai.com/v1',
    credential: { variable: 'OPENAI_API_KEY', ...WIRE_DEFAULTS['openai-chat'].credential },
    defaultModel: 'gpt-4o-mini',
    capabilities: { vision: true, jsonSchema: true, streaming: true },
    prices: {
      takenOn: '2025-06-01',
      models: {
        'gpt-4o-mini': { input: 0.15, output: 0.6 },
        'gpt-4o': { input: 2.5, output: 10 },
        'gpt-4.1': { input: 2, output: 8 },
        'gpt-4.1-mini': { input: 0.4, output: 1.6 },
      },
    },
    limits: {},
    simulatorPath: WIRE_DEFAULTS['openai-chat'].simulatorPath,
  },
  {
    name: 'cohere',
    wire: 'cohere-v2',
    baseUrl: 'https://api.cohere.com',
    credential: { variable: 'COHERE_API_KEY', ...WIRE_DEFAULTS['cohere-v2'].credential },
    defaultModel: 'command-r-08-2024',
    // Cohere's image-inputs guide: Command A Vision and Aya Vision read images; its other models are text-only.
    capabilities: { vision: ['command-a-vision', 'c4ai-aya-vision'], jsonSchema: true, streaming: true },
    prices: {
      takenOn: '2025-06-01',
      models: {
        'command-r-08-2024': { input: 0.15, output: 0.6 },
        'command-r-plus-08-2024': { input: 2.5, output: 10 },
        'command-a-03-2025': { input: 2.5, output: 10 },
      },
    },
    limits: {},
    simulatorPath: WIRE_DEFAULTS['cohere-v2'].simulatorPath,
  },
  {
    name: 'gemini',
    wire: 'gemini',
    baseUrl: 'https://generativelanguage.googleapis.com',
    credential: { variable: 'GEMINI_API_KEY', ...WIRE_DEFAULTS.gemini.credential },
    defaultModel: 'gemini-2.0-flash',
    capabilities: { vision: true, jsonSchema: true, streaming: true },
    prices: {
      takenOn: '2025-06-01',
      models: {
        'gemini-2.0-flash': { input: 0.1, output: 0.4 },
        'gemini-2.5-flash': { input: 0.3, output: 2.5 },
        'gemini-2.5-pro': { input: 1.25, output: 10 },
      },
    },
    limits: {},
    simulatorPath: WIRE_DEFAULTS.gemini.simulatorPath,
  },
  {
    name: 'anthropic',
    wire: 'anthropic-messages',
    baseUrl: 'https://api.anthropic.com',
    credential: { variable: 'ANTHROPIC_API_KEY', ...WIRE_DEFAULTS['anthropic-messages'].credential },
    defaultModel: 'claude-haiku-4-5',
    // Structured output goes through a forced tool call; the answer is the tool's input.
    capabilities: { vision: true, jsonSchema: true, streaming: true },
    prices: {
      takenOn: '2025-11-01',
      models: {
        'claude-haiku-4-5': { input: 1, output: 5 },
        'claude-sonnet-4-5': { input: 3, output: 15 },
        'claude-opus-4-1': { input: 15, output: 75 },
        'claude-3-5-haiku': { input: 0.8, output: 4 },
      },
    },
    limits: {},
    simulatorPath: WIRE_DEFAULTS['anthropic-messages'].simulatorPath,
  },
] as const satisfies readonly ProviderCatalogEntry[];

export type BuiltInProviderName = (typeof PROVIDER_CATALOG)[number]['name'];
/** The built-in providers; configured instances come on top at runtime (src/config/providers.ts). */
export const PROVIDER_NAMES: readonly BuiltInProviderName[] = PROVIDER_CATALOG.map((entry) => entry.name);

/**
 * A provider's name: a built-in one or a configured instance. A string, because instances are
 * known only from a deployment's configuration; definitions are checked against the configured names.
 */
export type ProviderName = string;

/** Names of configured instances: lower-case, so their environment prefix and task queue are unambiguous. */
export const PROVIDER_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

export function isProviderName(value: unknown): value is BuiltInProviderName {
  return typeof value === 'string' && (PROVIDER_NAMES as readonly string[]).includes(value);
}

const CATALOG_BY_NAME: ReadonlyMap<string, ProviderCatalogEntry> = new Map(PROVIDER_CATALOG.map((entry) => [entry.name, entry]));

/** A built-in provider's catalog entry. */
export function catalogEntry(name: string): ProviderCatalogEntry | undefined {
  return CATALOG_BY_NAME.get(name);
}

/** Whether a model of a provider with these capabilities accepts image input. */
export function acceptsImages(capabilities: Pick<ProviderCapabilities, 'vision'>, model: string): boolean {
  const { vision } = capabilities;
  return typeof vision === 'boolean' ? vision : vision.some((prefix) => model.startsWith(prefix));
}
