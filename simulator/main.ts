import { z } from 'zod';
import { flag, parseEnv, url, type Env } from '../src/config/env';
import { DEFAULT_SIMULATOR_URL } from '../src/config/providers';
import { parseFaultRates } from './faults';
import { startSimulator, type SimulatorOptions } from './server';

export function loadSimulatorOptions(env: Env): SimulatorOptions {
  const vars = parseEnv(
    {
      CHORUS_SIMULATOR_URL: url().default(DEFAULT_SIMULATOR_URL),
      CHORUS_SIMULATOR_LATENCY_MS: z.coerce.number().int().min(0).default(150),
      CHORUS_SIMULATOR_JITTER_MS: z.coerce.number().int().min(0).default(100),
      CHORUS_SIMULATOR_SEED: z.coerce.number().int().default(1),
      CHORUS_SIMULATOR_FAULTS: z.string().default(''),
      CHORUS_SIMULATOR_RETRY_AFTER_SECONDS: z.coerce.number().int().min(0).default(1),
      CHORUS_SIMULATOR_REQUIRE_KEY: flag(false),
    },
    env,
  );
  let faultRates;
  try {
    faultRates = parseFaultRates(vars.CHORUS_SIMULATOR_FAULTS);
  } catch (error) {
    throw new Error(`Invalid configuration:\n  CHORUS_SIMULATOR_FAULTS: ${(error as Error).message}`);
  }
  // The simulator listens where the worker is told to find it: one setting for both.
  const listenOn = new URL(vars.CHORUS_SIMULATOR_URL);
  return {
    host: listenOn.hostname.replace(/^\[|\]$/g, ''),
    port: Number(listenOn.port || 80),
    latencyMs: vars.CHORUS_SIMULATOR_LATENCY_MS,
    jitterMs: vars.CHORUS_SIMULATOR_JITTER_MS,
    seed: vars.CHORUS_SIMULATOR_SEED,
    faultRates,
    retryAfterSeconds: vars.CHORUS_SIMULATOR_RETRY_AFTER_SECONDS,
    requireCredential: vars.CHORUS_SIMULATOR_REQUIRE_KEY,
  };
}

async function main() {
  const simulator = await startSimulator(loadSimulatorOptions(process.env));
  console.log(`Provider simulator (OpenAI, Cohere, Gemini wire formats; answers are simulated) listening on ${simulator.url}`);
  const stop = () => void simulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
