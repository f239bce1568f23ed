import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_BIND_HOST, flag, hostPort, parseEnv, port, type Env } from './env';

export interface TemporalTlsSettings {
  serverName?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface TemporalSettings {
  /** host:port of the Temporal frontend. */
  address: string;
  namespace: string;
  /** Temporal Cloud API key; implies TLS. */
  apiKey?: string;
  tls?: TemporalTlsSettings;
  /** Queue the pipeline workflows (and, for now, their activities) run on. */
  taskQueue: string;
}

export const DEFAULT_TEMPORAL_PORT = 7233;
export const DEFAULT_TEMPORAL_UI_PORT = 8233;

export function loadTemporalSettings(env: Env = process.env): TemporalSettings {
  const vars = parseEnv(
    {
      TEMPORAL_ADDRESS: hostPort().default(`${DEFAULT_BIND_HOST}:${DEFAULT_TEMPORAL_PORT}`),
      TEMPORAL_NAMESPACE: z.string().default('default'),
      TEMPORAL_API_KEY: z.string().optional(),
      TEMPORAL_TLS: flag(false),
      TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
      TEMPORAL_TLS_CA_PATH: z.string().optional(),
      TEMPORAL_TLS_CERT_PATH: z.string().optional(),
      TEMPORAL_TLS_KEY_PATH: z.string().optional(),
      CHORUS_TASK_QUEUE: z.string().default('chorus-pipelines'),
    },
    env,
  );
  if (Boolean(vars.TEMPORAL_TLS_CERT_PATH) !== Boolean(vars.TEMPORAL_TLS_KEY_PATH)) {
    throw new Error('Invalid configuration: TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together');
  }
  const wantsTls = vars.TEMPORAL_TLS || Boolean(vars.TEMPORAL_API_KEY) || Boolean(vars.TEMPORAL_TLS_CERT_PATH);
  return {
    address: vars.TEMPORAL_ADDRESS,
    namespace: vars.TEMPORAL_NAMESPACE,
    apiKey: vars.TEMPORAL_API_KEY,
    taskQueue: vars.CHORUS_TASK_QUEUE,
    tls: wantsTls
      ? {
          serverName: vars.TEMPORAL_TLS_SERVER_NAME,
          serverRootCACertificate: vars.TEMPORAL_TLS_CA_PATH ? readFileSync(vars.TEMPORAL_TLS_CA_PATH) : undefined,
          clientCertPair:
            vars.TEMPORAL_TLS_CERT_PATH && vars.TEMPORAL_TLS_KEY_PATH
              ? { crt: readFileSync(vars.TEMPORAL_TLS_CERT_PATH), key: readFileSync(vars.TEMPORAL_TLS_KEY_PATH) }
              : undefined,
        }
      : undefined,
  };
}

/** Connection options shared by the client (API) and the native connection (worker). */
export function temporalConnectionOptions(settings: TemporalSettings) {
  return { address: settings.address, tls: settings.tls, apiKey: settings.apiKey };
}

export interface DevServerSettings {
  ip: string;
  port: number;
  uiPort: number;
  /** SQLite file of the dev server; runs survive restarts. */
  dbFilename: string;
}

export function loadDevServerSettings(env: Env = process.env): DevServerSettings {
  const vars = parseEnv(
    {
      CHORUS_BIND_HOST: z.string().default(DEFAULT_BIND_HOST),
      CHORUS_TEMPORAL_PORT: port(DEFAULT_TEMPORAL_PORT),
      CHORUS_TEMPORAL_UI_PORT: port(DEFAULT_TEMPORAL_UI_PORT),
      CHORUS_DATA_DIR: z.string().default('.data'),
    },
    env,
  );
  return {
    ip: vars.CHORUS_BIND_HOST,
    port: vars.CHORUS_TEMPORAL_PORT,
    uiPort: vars.CHORUS_TEMPORAL_UI_PORT,
    dbFilename: `${vars.CHORUS_DATA_DIR}/temporal.db`,
  };
}

export interface TemporalCliSettings {
  /** TEMPORAL_CLI: the `temporal` executable to run; else PATH, else the project cache. */
  executable?: string;
  /** The environment PATH is searched in and `go install` runs in when the CLI has to be built. */
  environment: Env;
}

export function loadTemporalCliSettings(env: Env = process.env): TemporalCliSettings {
  const vars = parseEnv({ TEMPORAL_CLI: z.string().optional() }, env);
  return { executable: vars.TEMPORAL_CLI, environment: { ...env } };
}
