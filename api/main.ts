import 'reflect-metadata';
import { loadObservabilitySettings } from '../src/config/observability';
import { startTracing } from '../src/observability/tracing';
import { commandLine } from '../src/process/command-line';

// --help and --version answer before anything starts; all settings come from the environment.
commandLine('npm run start:api --', 'Serves the Chorus REST API on CHORUS_BIND_HOST:CHORUS_API_PORT (settings: .env.example)').parse();

// Tracing before Nest and express load: incoming requests become the root span of each run's trace.
const observability = loadObservabilitySettings();
const tracing = startTracing('chorus-api', observability);

import { loadApiSettings } from '../src/config/api';
import { loadEncryptionSettings } from '../src/config/encryption';
import { loadTemporalSettings } from '../src/config/temporal';
import { createLogger } from '../src/observability/logger';
import { createChorusApp } from './app';

async function main() {
  const api = loadApiSettings();
  const logger = createLogger(observability.logLevel, { service: 'chorus-api' });
  const app = await createChorusApp({ api, temporal: loadTemporalSettings(), encryption: loadEncryptionSettings(), logger });
  // Spans still buffered are flushed once the server has closed (SIGTERM runs Nest's shutdown hooks).
  if (tracing) app.getHttpServer().once('close', () => void tracing.shutdown());
  await app.listen(api.port, api.host);
  logger.info(`Chorus API listening on ${await app.getUrl()} (OpenAPI UI at /docs, metrics at /metrics)`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
