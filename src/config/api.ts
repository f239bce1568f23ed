import { join } from 'node:path';
import { z } from 'zod';
import { DURATION_PATTERN } from '../pipeline/duration';
import type { PipelineRunInput, RunDefaults } from '../pipeline/types';
import { projectRoot } from '../project-root';
import { loadAuthSettings, type AuthSettings } from './auth';
import { commaList, ConfigError, DEFAULT_BIND_HOST, flag, parseEnv, port, positiveInt, redisUrl, type Env } from './env';
import { loadBudgetPricing, type BudgetPricing } from './budget';
import { loadSpendSettings, type SpendSettings } from './spend';
import { configuredProviderModels, configuredProviderNames } from './providers';
import type { AllowedModels } from '../pipeline/validate';
import { DEFAULT_TEMPORAL_UI_PORT } from './temporal';

export interface RateLimitSettings {
  /** Requests per minute per API key (or JWT subject), unless its tenant has its own. */
  perMinute: number;
  byTenant: Record<string, number>;
  /** Shared store for several API instances; in-memory (one process) when absent. */
  redisUrl?: string;
}

export interface CodecEndpointSettings {
  /** Browser origins of the Temporal Web UI allowed to call /codec (CORS). */
  uiOrigins: string[];
  /**
   * Development only: accept unauthenticated /codec calls from a UI origin over loopback, because
   * the dev server's UI cannot send credentials. Never enable on an exposed API.
   */
  trustLoopbackUi: boolean;
}

/** Where the API listens: the API binds to it, the launcher and the CLI find the API there. */
export interface ApiAddress {
  /** CHORUS_BIND_HOST. @default 127.0.0.1 */
  host: string;
  /** CHORUS_API_PORT. @default 3000 */
  port: number;
}

export const DEFAULT_API_PORT = 3000;
export const DEFAULT_API_URL = `http://${DEFAULT_BIND_HOST}:${DEFAULT_API_PORT}`;

const API_ADDRESS = { CHORUS_BIND_HOST: z.string().default(DEFAULT_BIND_HOST), CHORUS_API_PORT: port(DEFAULT_API_PORT) };

export function loadApiAddress(env: Env = process.env): ApiAddress {
  const vars = parseEnv(API_ADDRESS, env);
  return { host: vars.CHORUS_BIND_HOST, port: vars.CHORUS_API_PORT };
}

export interface ApiSettings extends ApiAddress {
  auth: AuthSettings;
  rateLimit: RateLimitSettings;
  /** Largest request body accepted (413 beyond). */
  maxBodyBytes: number;
  /** Largest `input` of a run, as JSON (413 beyond): it is stored in Temporal history. */
  maxInputBytes: number;
  /** Upper bound of `waitSeconds` on the long-poll result endpoint. */
  maxWaitSeconds: number;
  /**
   * How long an idle keep-alive connection stays open (CHORUS_KEEP_ALIVE_TIMEOUT_SECONDS). Longer
   * than the idle timeout of the clients and proxies in front of the API, so that the API never
   * closes a connection a client is just reusing. @default 65 (Node's own is 5)
   */
  keepAliveTimeoutSeconds?: number;
  /** Folder of named pipeline definitions (YAML or JSON), validated at start. */
  pipelinesDir: string;
  /** Whether inline definitions are accepted at all (callers also need the pipelines:adhoc scope). */
  allowAdhocPipelines: boolean;
  /** Most schedules one tenant may have. */
  maxSchedulesPerTenant: number;
  /** Browser origins allowed by CORS; none by default. */
  corsOrigins: string[];
  codec: CodecEndpointSettings;
  /** Step defaults every run started here carries (workflows cannot read the environment). @default none: the workflow's own */
  runDefaults: RunDefaults;
  /** Providers a definition may name: the catalog's and the configured instances (CHORUS_PROVIDERS). @default the catalog's */
  providers?: readonly string[];
  /** Prices and default models a budgeted run's calls are held to. @default the catalog's */
  budgetPricing?: BudgetPricing;
  /** The models a step may name on a configured instance that lists them (`<NAME>_MODELS`). @default any model on any provider */
  providerModels?: AllowedModels;
  /** The tenant ledger GET /v1/usage reads, and the caps it reports. @default none: GET /v1/usage answers 503 */
  spend?: SpendSettings;
}

/**
 * Above the 60 s idle timeout of the usual proxies and load balancers (nginx's upstream keepalive,
 * AWS ALB) and of clients that ignore the `Keep-Alive: timeout` hint (a Node `http.Agent` without a
 * `timeout` of its own keeps idle sockets forever): with Node's 5 s, the server closed idle
 * connections while such clients were reusing them, and their requests failed with `socket hang up`.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS = 65;

const RateLimitsByTenant = z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.number().int().positive());

export function loadApiSettings(env: Env = process.env): ApiSettings {
  const vars = parseEnv(
    {
      ...API_ADDRESS,
      CHORUS_MAX_WAIT_SECONDS: positiveInt(60),
      CHORUS_KEEP_ALIVE_TIMEOUT_SECONDS: positiveInt(DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS),
      CHORUS_PIPELINES_DIR: z.string().default(join(projectRoot(), 'pipelines')),
      CHORUS_ADHOC_PIPELINES: flag(true),
      CHORUS_RATE_LIMIT_PER_MINUTE: positiveInt(600),
      CHORUS_RATE_LIMITS_BY_TENANT: z.string().default('{}'),
      CHORUS_REDIS_URL: redisUrl(),
      CHORUS_MAX_BODY_BYTES: positiveInt(1_000_000),
      CHORUS_MAX_INPUT_BYTES: positiveInt(256_000),
      CHORUS_MAX_SCHEDULES_PER_TENANT: positiveInt(100),
      CHORUS_CORS_ORIGINS: commaList().default([]),
      CHORUS_CODEC_UI_ORIGINS: commaList().default([`http://127.0.0.1:${DEFAULT_TEMPORAL_UI_PORT}`, `http://localhost:${DEFAULT_TEMPORAL_UI_PORT}`]),
      CHORUS_CODEC_TRUST_LOOPBACK_UI: flag(false),
      CHORUS_STEP_RETRY_BUDGET: z.string().regex(DURATION_PATTERN, 'expected a duration such as 90s, 10m or 1h').optional(),
    },
    env,
  );
  let byTenant: Record<string, number>;
  try {
    byTenant = RateLimitsByTenant.parse(JSON.parse(vars.CHORUS_RATE_LIMITS_BY_TENANT));
  } catch {
    throw new ConfigError('Invalid configuration:\n  CHORUS_RATE_LIMITS_BY_TENANT: expected JSON such as {"acme": 120} (requests per minute)');
  }
  return {
    host: vars.CHORUS_BIND_HOST,
    port: vars.CHORUS_API_PORT,
    auth: loadAuthSettings(env),
    rateLimit: { perMinute: vars.CHORUS_RATE_LIMIT_PER_MINUTE, byTenant, redisUrl: vars.CHORUS_REDIS_URL },
    maxBodyBytes: vars.CHORUS_MAX_BODY_BYTES,
    maxInputBytes: vars.CHORUS_MAX_INPUT_BYTES,
    maxWaitSeconds: vars.CHORUS_MAX_WAIT_SECONDS,
    keepAliveTimeoutSeconds: vars.CHORUS_KEEP_ALIVE_TIMEOUT_SECONDS,
    pipelinesDir: vars.CHORUS_PIPELINES_DIR,
    allowAdhocPipelines: vars.CHORUS_ADHOC_PIPELINES,
    maxSchedulesPerTenant: vars.CHORUS_MAX_SCHEDULES_PER_TENANT,
    corsOrigins: vars.CHORUS_CORS_ORIGINS,
    codec: { uiOrigins: vars.CHORUS_CODEC_UI_ORIGINS, trustLoopbackUi: vars.CHORUS_CODEC_TRUST_LOOPBACK_UI },
    runDefaults: vars.CHORUS_STEP_RETRY_BUDGET ? { retryBudget: vars.CHORUS_STEP_RETRY_BUDGET } : {},
    providers: configuredProviderNames(env),
    budgetPricing: loadBudgetPricing(env),
    providerModels: configuredProviderModels(env),
    spend: loadSpendSettings(env),
  };
}

/** The `defaults` of a run the API starts; absent when none is configured, so run inputs stay as they were. */
export function runDefaultsOf(settings: Pick<ApiSettings, 'runDefaults'>): Pick<PipelineRunInput, 'defaults'> {
  return Object.keys(settings.runDefaults).length ? { defaults: settings.runDefaults } : {};
}
