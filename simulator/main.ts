import { ConfigError, type Env } from '../src/config/env';
import { loadSimulatorSettings } from '../src/config/simulator';
import { commandLine } from '../src/process/command-line';
import { parseFaultRates } from './faults';
import { startSimulator, type SimulatorOptions } from './server';

/** The simulator's settings, with CHORUS_SIMULATOR_FAULTS parsed into fault rates. */
export function loadSimulatorOptions(env?: Env): SimulatorOptions {
  const { faults, ...settings } = loadSimulatorSettings(env);
  try {
    return { ...settings, faultRates: parseFaultRates(faults) };
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  CHORUS_SIMULATOR_FAULTS: ${(error as Error).message}`);
  }
}

async function main() {
  const simulator = await startSimulator(loadSimulatorOptions());
  console.log(`Provider simulator (OpenAI, Cohere, Gemini wire formats; answers are simulated) listening on ${simulator.url}`);
  const stop = () => void simulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  commandLine('npm run start:simulator --', 'Serves the OpenAI, Cohere and Gemini wire formats with simulated answers at CHORUS_SIMULATOR_URL').parse();
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
