import { z } from 'zod';
import {
  catalogEntry,
  PROVIDER_CATALOG,
  PROVIDER_NAME_PATTERN,
  PROVIDER_NAMES,
  WIRE_DEFAULTS,
  WIRE_KINDS,
  type ModelPrice,
  type ProviderCapabilities,
  type ProviderName,
  type WireKind,
} from '../pipeline/providers';
import { commaList, ConfigError, flag, parseEnv, positiveInt, url, type Env } from './env';
import { loadPriceTable, type PriceTable } from './prices';

export interface ProviderEndpoint {
  provider: ProviderName;
  wire: WireKind;
  baseUrl: string;
  /** Empty when the provider is served by the simulator or an unauthenticated compatible server. */
  apiKey: string;
  /** Where the key goes: header name, and `Bearer` when it is an authorization header. */
  credential: { header: string; scheme?: 'Bearer' };
  defaultModel: string;
  /** The only models its steps may name (a configured instance's `<NAME>_MODELS`). @default any model */
  models?: readonly string[];
  capabilities: ProviderCapabilities;
  /** True when calls go to the Chorus provider simulator because the provider has no API key. */
  simulated: boolean;
}

export interface ProviderSettings {
  endpoints: Record<ProviderName, ProviderEndpoint>;
  /** Per-request HTTP timeout; an attempt that hits it fails as ProviderTimeout and is retried. */
  requestTimeoutMs: number;
  /** Upper bound for a provider's Retry-After, so one header cannot park a step for hours. */
  maxRetryAfterMs: number;
  prices: PriceTable;
  images: ImageFetchSettings;
}

/** Rules for images an analyze-image step fetches by URL (SSRF guard). */
export interface ImageFetchSettings {
  maxBytes: number;
  /** Plain http:// URLs; https only when false. */
  allowHttp: boolean;
  /** Loopback, private, link-local and other non-public addresses; never in production. */
  allowPrivateHosts: boolean;
  timeoutMs: number;
}

export const DEFAULT_SIMULATOR_URL = 'http://127.0.0.1:8400';

/** A provider's environment prefix: `openai` → OPENAI, `local-vllm` → LOCAL_VLLM. */
export const envPrefix = (provider: ProviderName) => provider.toUpperCase().replace(/-/g, '_');

/** A configured instance of a wire kind (CHORUS_PROVIDERS and its `<NAME>_*` variables). */
export interface ProviderInstance extends Omit<ProviderEndpoint, 'provider' | 'simulated'> {
  name: string;
  prices: Record<string, ModelPrice>;
}

const InstancePrices = z.record(z.string(), z.object({ input: z.number().min(0), output: z.number().min(0) }).strict());

/**
 * Providers beyond the catalog, from configuration only: CHORUS_PROVIDERS names them, and each
 * `<NAME>_BASE_URL`, `<NAME>_MODEL` (required), `<NAME>_MODELS` (the allowed models), `<NAME>_API_KEY`,
 * `<NAME>_WIRE` (default openai-chat), `<NAME>_KEY_HEADER`, `<NAME>_VISION`, `<NAME>_JSON_SCHEMA`,
 * `<NAME>_PRICES` say the rest.
 */
export function loadProviderInstances(env: Env): ProviderInstance[] {
  const { CHORUS_PROVIDERS: names } = parseEnv(
    {
      CHORUS_PROVIDERS: z
        .string()
        .transform((value) =>
          value
            .split(',')
            .map((name) => name.trim())
            .filter(Boolean),
        )
        .pipe(
          z.array(
            z
              .string()
              .regex(PROVIDER_NAME_PATTERN, 'expected provider names of lower-case letters, digits and "-", starting with a letter')
              .refine((name) => !catalogEntry(name), {
                message: `names a built-in provider (${PROVIDER_NAMES.join(', ')}); configure it with its own variables`,
              }),
          ),
        )
        .default([]),
    },
    env,
  );
  if (new Set(names).size !== names.length) throw new ConfigError('Invalid configuration:\n  CHORUS_PROVIDERS: names a provider twice');
  return names.map((name) => {
    const prefix = envPrefix(name);
    const vars = parseEnv(
      {
        [`${prefix}_BASE_URL`]: url(),
        [`${prefix}_MODEL`]: z.string().min(1),
        [`${prefix}_MODELS`]: commaList()
          .pipe(z.array(z.string().min(1).max(200)).min(1, 'expected a comma-separated list of model names'))
          .optional(),
        [`${prefix}_API_KEY`]: z.string().optional(),
        [`${prefix}_WIRE`]: z.enum(WIRE_KINDS).default('openai-chat'),
        [`${prefix}_KEY_HEADER`]: z
          .string()
          .regex(/^[A-Za-z0-9-]+$/, 'expected an HTTP header name')
          .optional(),
        [`${prefix}_VISION`]: flag(false),
        [`${prefix}_JSON_SCHEMA`]: flag(false),
        [`${prefix}_PRICES`]: z
          .string()
          .transform((text, context) => {
            try {
              return JSON.parse(text) as unknown;
            } catch {
              context.addIssue({ code: 'custom', message: 'expected JSON: {"model": {"input": 0.2, "output": 0.6}} (USD per million tokens)' });
              return z.NEVER;
            }
          })
          .pipe(InstancePrices)
          .optional(),
      },
      env,
    ) as Record<string, unknown>;
    const wire = vars[`${prefix}_WIRE`] as WireKind;
    const models = vars[`${prefix}_MODELS`] as string[] | undefined;
    if (models && !models.includes(vars[`${prefix}_MODEL`] as string)) {
      throw new ConfigError(
        `Invalid configuration:\n  ${prefix}_MODEL: "${vars[`${prefix}_MODEL`] as string}" is not one of ${prefix}_MODELS (${models.join(', ')})`,
      );
    }
    const keyHeader = (vars[`${prefix}_KEY_HEADER`] as string | undefined)?.toLowerCase();
    return {
      name,
      wire,
      baseUrl: (vars[`${prefix}_BASE_URL`] as string).replace(/\/$/, ''),
      apiKey: (vars[`${prefix}_API_KEY`] as string | undefined) ?? '',
      // A header of its own (Azure's api-key) takes the bare key; authorization takes it as a Bearer token.
      credential: keyHeader ? { header: keyHeader, ...(keyHeader === 'authorization' ? { scheme: 'Bearer' as const } : {}) } : WIRE_DEFAULTS[wire].credential,
      defaultModel: vars[`${prefix}_MODEL`] as string,
      ...(models ? { models: [...new Set(models)] } : {}),
      capabilities: { vision: vars[`${prefix}_VISION`] as boolean, jsonSchema: vars[`${prefix}_JSON_SCHEMA`] as boolean, streaming: false },
      prices: (vars[`${prefix}_PRICES`] as Record<string, ModelPrice> | undefined) ?? {},
    };
  });
}

/** The models each configured instance with an allow-list (`<NAME>_MODELS`) lets its steps name. */
export function configuredProviderModels(env: Env): Record<ProviderName, readonly string[]> {
  return Object.fromEntries(loadProviderInstances(env).flatMap((instance) => (instance.models ? [[instance.name, instance.models]] : [])));
}

/** Every provider this deployment can call: the catalog's, then the configured instances. */
export function configuredProviderNames(env: Env): ProviderName[] {
  return [...PROVIDER_NAMES, ...loadProviderInstances(env).map((instance) => instance.name)];
}

export function loadProviderSettings(env: Env = process.env): ProviderSettings {
  const perProvider = Object.fromEntries(
    PROVIDER_CATALOG.flatMap((entry) => [
      [entry.credential.variable, z.string().optional()],
      [`${envPrefix(entry.name)}_BASE_URL`, url().optional()],
      [`${envPrefix(entry.name)}_MODEL`, z.string().default(entry.defaultModel)],
    ]),
  );
  const vars = parseEnv(
    {
      ...perProvider,
      CHORUS_SIMULATOR_URL: url().default(DEFAULT_SIMULATOR_URL),
      CHORUS_PROVIDER_TIMEOUT_MS: positiveInt(60_000),
      CHORUS_MAX_RETRY_AFTER_SECONDS: positiveInt(300),
      CHORUS_IMAGE_MAX_BYTES: positiveInt(5 * 1024 * 1024),
      CHORUS_IMAGE_ALLOW_HTTP: flag(false),
      CHORUS_IMAGE_ALLOW_PRIVATE_HOSTS: flag(false),
      CHORUS_IMAGE_TIMEOUT_MS: positiveInt(15_000),
    },
    env,
  ) as Record<string, string | undefined> & {
    CHORUS_SIMULATOR_URL: string;
    CHORUS_PROVIDER_TIMEOUT_MS: number;
    CHORUS_MAX_RETRY_AFTER_SECONDS: number;
    CHORUS_IMAGE_MAX_BYTES: number;
    CHORUS_IMAGE_ALLOW_HTTP: boolean;
    CHORUS_IMAGE_ALLOW_PRIVATE_HOSTS: boolean;
    CHORUS_IMAGE_TIMEOUT_MS: number;
  };
  const builtIn = PROVIDER_CATALOG.map((entry): ProviderEndpoint => {
    const apiKey = vars[entry.credential.variable] ?? '';
    const explicitBaseUrl = vars[`${envPrefix(entry.name)}_BASE_URL`];
    const simulated = !apiKey && !explicitBaseUrl;
    const baseUrl = simulated ? `${vars.CHORUS_SIMULATOR_URL.replace(/\/$/, '')}${entry.simulatorPath}` : (explicitBaseUrl ?? entry.baseUrl);
    return {
      provider: entry.name,
      wire: entry.wire,
      apiKey,
      credential: { header: entry.credential.header, ...(entry.credential.scheme ? { scheme: entry.credential.scheme } : {}) },
      simulated,
      baseUrl: baseUrl.replace(/\/$/, ''),
      defaultModel: vars[`${envPrefix(entry.name)}_MODEL`] as string,
      capabilities: entry.capabilities,
    };
  });
  const instances = loadProviderInstances(env);
  const configured = instances.map((instance): ProviderEndpoint => ({
    provider: instance.name,
    wire: instance.wire,
    apiKey: instance.apiKey,
    credential: instance.credential,
    simulated: false,
    baseUrl: instance.baseUrl,
    defaultModel: instance.defaultModel,
    ...(instance.models ? { models: instance.models } : {}),
    capabilities: instance.capabilities,
  }));
  return {
    endpoints: Object.fromEntries([...builtIn, ...configured].map((endpoint) => [endpoint.provider, endpoint])),
    requestTimeoutMs: vars.CHORUS_PROVIDER_TIMEOUT_MS,
    maxRetryAfterMs: vars.CHORUS_MAX_RETRY_AFTER_SECONDS * 1000,
    prices: loadPriceTable(env, Object.fromEntries(instances.map((instance) => [instance.name, instance.prices]))),
    images: {
      maxBytes: vars.CHORUS_IMAGE_MAX_BYTES,
      allowHttp: vars.CHORUS_IMAGE_ALLOW_HTTP,
      allowPrivateHosts: vars.CHORUS_IMAGE_ALLOW_PRIVATE_HOSTS,
      timeoutMs: vars.CHORUS_IMAGE_TIMEOUT_MS,
    },
  };
}
