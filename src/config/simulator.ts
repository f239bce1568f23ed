import { z } from 'zod';
import { flag, parseEnv, url, type Env } from './env';
import { DEFAULT_SIMULATOR_URL } from './providers';

export interface SimulatorSettings {
  /** CHORUS_BIND_HOST, as the API and the dev server bind. @default the host of CHORUS_SIMULATOR_URL, where the worker is told to find it */
  host: string;
  port: number;
  /** @default 150 */
  latencyMs: number;
  /** @default 100 */
  jitterMs: number;
  /** @default 1 */
  seed: number;
  /** CHORUS_SIMULATOR_FAULTS as written (`503=0.2,hang=0.05`); the simulator parses its fault rates. */
  faults: string;
  /** @default 1 */
  retryAfterSeconds: number;
  /** CHORUS_SIMULATOR_REQUIRE_KEY: answer 401 to requests without a credential header. @default false */
  requireCredential: boolean;
  /** CHORUS_SIMULATOR_CHUNK_MS: delay between two events of a streamed answer. @default 15 */
  chunkDelayMs: number;
}

export function loadSimulatorSettings(env: Env = process.env): SimulatorSettings {
  const vars = parseEnv(
    {
      CHORUS_SIMULATOR_URL: url().default(DEFAULT_SIMULATOR_URL),
      CHORUS_BIND_HOST: z.string().optional(),
      CHORUS_SIMULATOR_LATENCY_MS: z.coerce.number().int().min(0).default(150),
      CHORUS_SIMULATOR_JITTER_MS: z.coerce.number().int().min(0).default(100),
      CHORUS_SIMULATOR_SEED: z.coerce.number().int().default(1),
      CHORUS_SIMULATOR_FAULTS: z.string().default(''),
      CHORUS_SIMULATOR_RETRY_AFTER_SECONDS: z.coerce.number().int().min(0).default(1),
      CHORUS_SIMULATOR_REQUIRE_KEY: flag(false),
      CHORUS_SIMULATOR_CHUNK_MS: z.coerce.number().int().min(0).default(15),
    },
    env,
  );
  const listenOn = new URL(vars.CHORUS_SIMULATOR_URL);
  return {
    host: vars.CHORUS_BIND_HOST ?? listenOn.hostname.replace(/^\[|\]$/g, ''),
    port: Number(listenOn.port || 80),
    latencyMs: vars.CHORUS_SIMULATOR_LATENCY_MS,
    jitterMs: vars.CHORUS_SIMULATOR_JITTER_MS,
    seed: vars.CHORUS_SIMULATOR_SEED,
    faults: vars.CHORUS_SIMULATOR_FAULTS,
    retryAfterSeconds: vars.CHORUS_SIMULATOR_RETRY_AFTER_SECONDS,
    requireCredential: vars.CHORUS_SIMULATOR_REQUIRE_KEY,
    chunkDelayMs: vars.CHORUS_SIMULATOR_CHUNK_MS,
  };
}
