import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv as parseDotEnv } from 'node:util';
import { z } from 'zod';
import { projectRoot } from '../project-root';
import { loadApiAddress, type ApiAddress } from './api';
import { loadEncryptionSettings } from './encryption';
import { hostPort, optionalFlag, parseEnv, port, redisUrl, url, type Env } from './env';
import { loadProviderSettings, type ProviderSettings } from './providers';
import { loadDevServerSettings, loadTemporalCliSettings, type DevServerSettings, type TemporalCliSettings } from './temporal';
import { QUEUE_ROLES, type QueueRole } from '../pipeline/task-queues';
import { loadWorkerCount, loadWorkerSettings } from './worker';

export interface LauncherSettings {
  /** TEMPORAL_ADDRESS: a Temporal server to use. @default none: the launcher starts a dev server */
  temporalAddress?: string;
  devServer: DevServerSettings;
  temporalCli: TemporalCliSettings;
  /** Where the API the launcher starts listens, with the API's own defaults. */
  api: ApiAddress;
  /** `--workers N` or CHORUS_WORKERS. @default 1 */
  workerCount: number;
  /** CHORUS_WORKER_QUEUES: the queues the workers serve. @default every queue */
  workerQueues: readonly QueueRole[];
  /** CHORUS_WORKER_METRICS_PORT of the first worker; the next workers take the next ports. @default 0 (off) */
  workerMetricsPort: number;
  /** CHORUS_REDIS_URL. @default none: the launcher starts a redis-server when one is installed (token streaming, shared pacing) */
  redisUrl?: string;
  /** CHORUS_ENCRYPTION_KEYS is set: the dev server's Web UI then decodes payloads through the API's /codec. */
  encryption: boolean;
  /** CHORUS_CODEC_TRUST_LOOPBACK_UI as set. @default unset: the launcher trusts its own dev server's UI */
  codecTrustLoopbackUi?: boolean;
  /** API keys (CHORUS_API_KEYS, CHORUS_API_KEYS_FILE) or JWTs (CHORUS_JWT_JWKS_URL) are configured; else the launcher uses the development key. */
  credentialsConfigured: boolean;
  providers: ProviderSettings;
}

/**
 * `npm start`'s settings. Every process it starts validates its own settings again; the launcher
 * checks these up front so a malformed variable stops it before anything is started.
 */
export function loadLauncherSettings(env: Env = process.env, argv: readonly string[] = []): LauncherSettings {
  const vars = parseEnv(
    {
      TEMPORAL_ADDRESS: hostPort().optional(),
      CHORUS_WORKER_METRICS_PORT: port(0),
      CHORUS_REDIS_URL: redisUrl(),
      CHORUS_CODEC_TRUST_LOOPBACK_UI: optionalFlag(),
      CHORUS_API_KEYS: z.string().optional(),
      CHORUS_API_KEYS_FILE: z.string().optional(),
      CHORUS_JWT_JWKS_URL: url().optional(),
    },
    env,
  );
  return {
    temporalAddress: vars.TEMPORAL_ADDRESS,
    devServer: loadDevServerSettings(env),
    temporalCli: loadTemporalCliSettings(env),
    api: loadApiAddress(env),
    workerCount: loadWorkerCount(env, argv),
    workerQueues: loadWorkerSettings(env).queues ?? QUEUE_ROLES,
    workerMetricsPort: vars.CHORUS_WORKER_METRICS_PORT,
    redisUrl: vars.CHORUS_REDIS_URL,
    encryption: loadEncryptionSettings(env) !== undefined,
    codecTrustLoopbackUi: vars.CHORUS_CODEC_TRUST_LOOPBACK_UI,
    credentialsConfigured: Boolean(vars.CHORUS_API_KEYS || vars.CHORUS_API_KEYS_FILE || vars.CHORUS_JWT_JWKS_URL),
    providers: loadProviderSettings(env),
  };
}

/**
 * The environment `npm start` runs in and hands to its processes: `.env` in the project root, if
 * present, fills in what the real environment leaves unset.
 */
export function launcherEnvironment(env: Env = process.env, dotEnvPath: string = join(projectRoot(), '.env')): Env {
  const fromFile = existsSync(dotEnvPath) ? parseDotEnv(readFileSync(dotEnvPath, 'utf8')) : {};
  return { ...fromFile, ...env };
}
