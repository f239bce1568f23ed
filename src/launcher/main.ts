import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { Connection } from '@temporalio/client';
import type { Env } from '../config/env';
import { loadProviderSettings } from '../config/providers';
import { loadDevServerSettings, temporalConnectionOptions, loadTemporalSettings } from '../config/temporal';
import { PROVIDER_NAMES } from '../pipeline/providers';
import { projectRoot } from '../project-root';
import { ensureTemporalCli } from '../temporal/cli';
import { devServerArgs } from '../temporal/dev-server';
import { httpOk, startProcess, waitUntil, type ManagedProcess } from './child-process';

/** Only for local runs: printed loudly, and replaced by setting CHORUS_API_KEYS. */
const DEV_API_KEY = 'chorus-dev-key-change-me';
const STARTUP_TIMEOUT_MS = 90_000;

const dist = (...path: string[]) => join(projectRoot(), 'dist', ...path);

async function temporalReachable(env: Env): Promise<boolean> {
  const connection = await Connection.connect({ ...temporalConnectionOptions(loadTemporalSettings(env)), connectTimeout: 2000 });
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } finally {
    await connection.close();
  }
}

/**
 * `npm start`: Temporal (unless TEMPORAL_ADDRESS is set), the provider simulator (when a provider
 * has no key), a worker and the API, in dependency order; Ctrl-C or SIGTERM stops them in reverse.
 */
const started: ManagedProcess[] = [];
let stopping = false;

async function shutdown(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('Stopping Chorus...');
  for (const processToStop of [...started].reverse()) await processToStop.stop();
  process.exit(exitCode);
}

/** `.env` in the project root, if present, fills in what the real environment leaves unset. */
function environment(): Env {
  const file = join(projectRoot(), '.env');
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...process.env };
}

async function main() {
  const env = environment();
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  const launch = (name: string, command: string, args: string[]) => {
    const managed = startProcess(name, command, args, env);
    started.push(managed);
    void managed.exited.then((code) => {
      if (stopping) return;
      console.error(`[${name}] exited unexpectedly (${code}); stopping everything`);
      void shutdown(1);
    });
    return managed;
  };

  let uiUrl: string | undefined;
  if (env.TEMPORAL_ADDRESS) {
    console.log(`Using the Temporal server at ${env.TEMPORAL_ADDRESS}`);
  } else {
    const devServer = loadDevServerSettings(env);
    launch('temporal', ensureTemporalCli(env), devServerArgs(devServer));
    env.TEMPORAL_ADDRESS = `${devServer.ip}:${devServer.port}`;
    uiUrl = `http://${devServer.ip}:${devServer.uiPort}`;
    await waitUntil(`Temporal at ${env.TEMPORAL_ADDRESS}`, () => temporalReachable(env), STARTUP_TIMEOUT_MS, 500);
  }

  const providers = loadProviderSettings(env);
  const simulated = PROVIDER_NAMES.filter((name) => providers.endpoints[name].simulated);
  if (simulated.length) {
    const simulatorUrl = new URL(providers.endpoints[simulated[0]].baseUrl).origin;
    launch('simulator', process.execPath, [dist('src', 'simulator', 'main.js')]);
    await waitUntil(`the provider simulator at ${simulatorUrl}`, () => httpOk(`${simulatorUrl}/healthz`), STARTUP_TIMEOUT_MS);
  }

  if (!env.CHORUS_API_KEYS) {
    env.CHORUS_API_KEYS = DEV_API_KEY;
    console.warn(`CHORUS_API_KEYS is not set: using the development key "${DEV_API_KEY}". Set your own before exposing the API.`);
  }
  launch('worker', process.execPath, [dist('src', 'worker', 'main.js')]);
  launch('api', process.execPath, [dist('api', 'main.js')]);
  const apiUrl = `http://${env.CHORUS_BIND_HOST ?? '127.0.0.1'}:${env.CHORUS_API_PORT ?? 3000}`;
  await waitUntil(`the API at ${apiUrl}`, () => httpOk(`${apiUrl}/healthz`), STARTUP_TIMEOUT_MS);

  console.log(
    [
      '',
      'Chorus is running:',
      `  API          ${apiUrl}   (OpenAPI UI: ${apiUrl}/docs)`,
      `  Temporal     ${env.TEMPORAL_ADDRESS}${uiUrl ? `   (Web UI: ${uiUrl})` : ''}`,
      simulated.length ? `  Simulated    ${simulated.join(', ')} (no API key set; answers come from the Chorus provider simulator)` : '',
      '',
      'Try it:',
      `  curl -s -X POST ${apiUrl}/v1/workflows -H 'x-api-key: ${env.CHORUS_API_KEYS.split(',')[0]}' -H 'content-type: application/json' \\`,
      `       -d '{"pipeline":"classic","input":{"prompt":"Why durable execution matters for AI"}}'`,
      'Press Ctrl-C to stop.',
      '',
    ]
      .filter((line, index, lines) => line || lines[index - 1])
      .join('\n'),
  );
}

main().catch((error: Error) => {
  console.error(error.message);
  void shutdown(1);
});
