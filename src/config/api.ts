import { z } from 'zod';
import { join } from 'node:path';
import { projectRoot } from '../project-root';
import { commaList, flag, parseEnv, port, positiveInt, type Env } from './env';

export interface ApiSettings {
  host: string;
  port: number;
  /** Accepted `x-api-key` values. */
  apiKeys: string[];
  /** Upper bound of `waitSeconds` on the long-poll result endpoint. */
  maxWaitSeconds: number;
  /** Folder of named pipeline definitions (YAML or JSON), validated at start. */
  pipelinesDir: string;
  /** Whether POST /v1/workflows accepts an inline `definition`. */
  allowAdhocPipelines: boolean;
}

export function loadApiSettings(env: Env): ApiSettings {
  const vars = parseEnv(
    {
      CHORUS_BIND_HOST: z.string().default('127.0.0.1'),
      CHORUS_API_PORT: port(3000),
      CHORUS_API_KEYS: commaList().pipe(z.array(z.string().min(16, 'each key needs at least 16 characters')).min(1, 'at least one key')),
      CHORUS_MAX_WAIT_SECONDS: positiveInt(60),
      CHORUS_PIPELINES_DIR: z.string().default(join(projectRoot(), 'pipelines')),
      CHORUS_ADHOC_PIPELINES: flag(true),
    },
    env,
  );
  return {
    host: vars.CHORUS_BIND_HOST,
    port: vars.CHORUS_API_PORT,
    apiKeys: vars.CHORUS_API_KEYS,
    maxWaitSeconds: vars.CHORUS_MAX_WAIT_SECONDS,
    pipelinesDir: vars.CHORUS_PIPELINES_DIR,
    allowAdhocPipelines: vars.CHORUS_ADHOC_PIPELINES,
  };
}
