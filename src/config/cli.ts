import { z } from 'zod';
import { DEFAULT_API_URL } from './api';
import { parseEnv, url, type Env } from './env';

export interface CliSettings {
  /** Base URL of the Chorus REST API. @default http://127.0.0.1:3000 */
  apiUrl: string;
  /** API key (sent as x-api-key) or JWT (sent as a bearer token); unset means the CLI refuses to call the API. */
  apiKey?: string;
}

/** The `chorus` CLI's settings: CHORUS_API_URL and CHORUS_API_KEY. */
export function loadCliSettings(env: Env = process.env): CliSettings {
  const parsed = parseEnv({ CHORUS_API_URL: url().default(DEFAULT_API_URL), CHORUS_API_KEY: z.string().optional() }, env);
  return { apiUrl: parsed.CHORUS_API_URL.replace(/\/+$/, ''), apiKey: parsed.CHORUS_API_KEY };
}
