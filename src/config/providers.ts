import { z } from 'zod';
import { PROVIDER_NAMES, type ProviderName } from '../pipeline/providers';
import { flag, parseEnv, positiveInt, url, type Env } from './env';
import { loadPriceTable, type PriceTable } from './prices';

export interface ProviderEndpoint {
  provider: ProviderName;
  baseUrl: string;
  /** Empty when the provider is served by the simulator or an unauthenticated compatible server. */
  apiKey: string;
  defaultModel: string;
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

const REAL_PROVIDERS: Record<ProviderName, { baseUrl: string; model: string; simulatorPath: string }> = {
  openai: { baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o-mini', simulatorPath: '/openai/v1' },
  cohere: { baseUrl: 'https://api.cohere.com', model: 'command-r-08-2024', simulatorPath: '/cohere' },
  gemini: { baseUrl: 'https://generativelanguage.googleapis.com', model: 'gemini-2.0-flash', simulatorPath: '/gemini' },
};

export const DEFAULT_SIMULATOR_URL = 'http://127.0.0.1:8400';

const envPrefix = (provider: ProviderName) => provider.toUpperCase();

export function loadProviderSettings(env: Env = process.env): ProviderSettings {
  const perProvider = Object.fromEntries(
    PROVIDER_NAMES.flatMap((provider) => [
      [`${envPrefix(provider)}_API_KEY`, z.string().optional()],
      [`${envPrefix(provider)}_BASE_URL`, url().optional()],
      [`${envPrefix(provider)}_MODEL`, z.string().default(REAL_PROVIDERS[provider].model)],
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
  const endpoint = (provider: ProviderName): ProviderEndpoint => {
    const apiKey = vars[`${envPrefix(provider)}_API_KEY`] ?? '';
    const explicitBaseUrl = vars[`${envPrefix(provider)}_BASE_URL`];
    const simulated = !apiKey && !explicitBaseUrl;
    const baseUrl = simulated
      ? `${vars.CHORUS_SIMULATOR_URL.replace(/\/$/, '')}${REAL_PROVIDERS[provider].simulatorPath}`
      : (explicitBaseUrl ?? REAL_PROVIDERS[provider].baseUrl);
    return {
      provider,
      apiKey,
      simulated,
      baseUrl: baseUrl.replace(/\/$/, ''),
      defaultModel: vars[`${envPrefix(provider)}_MODEL`] as string,
    };
  };
  return {
    endpoints: Object.fromEntries(PROVIDER_NAMES.map((provider) => [provider, endpoint(provider)])) as Record<ProviderName, ProviderEndpoint>,
    requestTimeoutMs: vars.CHORUS_PROVIDER_TIMEOUT_MS,
    maxRetryAfterMs: vars.CHORUS_MAX_RETRY_AFTER_SECONDS * 1000,
    prices: loadPriceTable(env),
    images: {
      maxBytes: vars.CHORUS_IMAGE_MAX_BYTES,
      allowHttp: vars.CHORUS_IMAGE_ALLOW_HTTP,
      allowPrivateHosts: vars.CHORUS_IMAGE_ALLOW_PRIVATE_HOSTS,
      timeoutMs: vars.CHORUS_IMAGE_TIMEOUT_MS,
    },
  };
}

/** The simulator's path prefix per provider, shared with the simulator's router. */
export const SIMULATOR_PATHS: Record<ProviderName, string> = Object.fromEntries(
  PROVIDER_NAMES.map((provider) => [provider, REAL_PROVIDERS[provider].simulatorPath]),
) as Record<ProviderName, string>;
