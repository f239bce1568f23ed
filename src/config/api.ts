import { z } from 'zod';
import { commaList, parseEnv, port, positiveInt, type Env } from './env';

export interface ApiSettings {
  host: string;
  port: number;
  /** Accepted `x-api-key` values. */
  apiKeys: string[];
  /** Upper bound of `waitSeconds` on the long-poll result endpoint. */
  maxWaitSeconds: number;
}

export function loadApiSettings(env: Env): ApiSettings {
  const vars = parseEnv(
    {
      CHORUS_BIND_HOST: z.string().default('127.0.0.1'),
      CHORUS_API_PORT: port(3000),
      CHORUS_API_KEYS: commaList().pipe(z.array(z.string().min(16, 'each key needs at least 16 characters')).min(1, 'at least one key')),
      CHORUS_MAX_WAIT_SECONDS: positiveInt(60),
    },
    env,
  );
  return { host: vars.CHORUS_BIND_HOST, port: vars.CHORUS_API_PORT, apiKeys: vars.CHORUS_API_KEYS, maxWaitSeconds: vars.CHORUS_MAX_WAIT_SECONDS };
}
