import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { keyDigest, SCOPES, type ApiKeyEntry } from '../src/config/auth';
import type { Env } from '../src/config/env';
import { launcherEnvironment, loadLauncherSettings, type LauncherSettings } from '../src/config/launcher';
import { temporalConnectionOptions, loadTemporalSettings, type TemporalSettings } from '../src/config/temporal';
import { PROVIDER_NAMES } from '../src/pipeline/providers';
import { taskQueueOf } from '../src/pipeline/task-queues';
import { projectRoot } from '../src/project-root';
import { chorusVersion, commandLine } from '../src/process/command-line';
import { NODE_FLAGS } from '../src/process/node-flags';
import { describeNode, unsupportedNode } from '../src/process/node-version';
import { ensureTemporalCli } from '../src/temporal/cli';
import { devServerArgs } from '../src/temporal/dev-server';
import { ensureSearchAttributes } from '../src/temporal/search-attributes';
import { pollersOf, workerIdentity } from '../src/temporal/worker-readiness';
import { freeLoopbackPort } from '../src/observability/metrics-server';
import { httpOk, onPath, startProcess, waitUntil, type ManagedProcess } from '../src/process/child-process';
import { redisAnswers, redisServerArgs } from '../src/process/redis';
import { consoleLineFormat } from './console';

/** Only for local runs: printed loudly, and replaced by setting CHORUS_API_KEYS or CHORUS_API_KEYS_FILE. */
const DEV_API_KEY = 'chorus-dev-key-change-me';
const DEV_KEY_ENTRY: ApiKeyEntry = { id: 'dev', tenant: 'dev', scopes: [...SCOPES], sha256: keyDigest(DEV_API_KEY) };
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
 * Whether every worker process started polls the first queue the workers serve: then it has
 * bundled its workflows and connected, and the banner can say Chorus is running.
 */
async function workersPolling(temporal: TemporalSettings, settings: LauncherSettings, workers: ManagedProcess[]): Promise<boolean> {
  const role = settings.workerQueues[0];
  const connection = await Connection.connect({ ...temporalConnectionOptions(temporal), connectTimeout: 2000 });
  try {
    const polling = await pollersOf(connection, temporal.namespace, taskQueueOf(temporal.taskQueue, role), role === 'workflows' ? 'workflow' : 'activity');
    return workers.every((worker) => worker.child.pid !== undefined && polling.has(workerIdentity(worker.child.pid)));
  } finally {
    await connection.close();
  }
}

/**
 * `npm start`: Temporal (unless TEMPORAL_ADDRESS is set), the provider simulator (when a provider
 * has no key), the workers (`--workers N` or CHORUS_WORKERS, default 1) and the API, in dependency order; Ctrl-C or SIGTERM stops them in reverse.
 */
const started: ManagedProcess[] = [];
let stopping = false;

async function shutdown(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (started.length) console.log('Stopping Chorus...');
  for (const processToStop of [...started].reverse()) await processToStop.stop();
  process.exit(exitCode);
}

const program = commandLine(
  'npm start --',
  'Runs Chorus on this machine: a Temporal dev server (unless TEMPORAL_ADDRESS is set), the provider simulator (for providers without an API key), the workers and the API',
).option('--workers <n>', 'worker processes to run (default: CHORUS_WORKERS, else 1)');

async function main() {
  program.parse();
  console.log(`Chorus ${chorusVersion()} on ${describeNode()}`);
  const nodeProblem = unsupportedNode();
  if (nodeProblem) throw new Error(nodeProblem);
  // What the processes get: the launcher adds what it starts for them (Temporal address, Redis, dev key).
  const env = launcherEnvironment();
  const settings = loadLauncherSettings(env, process.argv.slice(2));
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  const { workerCount, api } = settings;
  const apiUrl = `http://${api.host}:${api.port}`;
  const formatLine = consoleLineFormat();
  const launch = (name: string, command: string, args: string[], processEnv: Env = env) => {
    const managed = startProcess(name, command, args, processEnv, console.log, formatLine);
    started.push(managed);
    void managed.exited.then((code) => {
      if (stopping) return;
      console.error(`[${name}] exited unexpectedly (${code}); stopping everything`);
      void shutdown(1);
    });
    return managed;
  };

  let uiUrl: string | undefined;
  let temporalAddress = settings.temporalAddress;
  if (temporalAddress) {
    console.log(`Using the Temporal server at ${temporalAddress}`);
  } else {
    const { devServer } = settings;
    // With encryption on, the dev server's Web UI decrypts payloads through the API's codec endpoint.
    const codecArgs = settings.encryption ? ['--ui-codec-endpoint', `${apiUrl}/codec`] : [];
    if (settings.encryption && settings.codecTrustLoopbackUi === undefined) env.CHORUS_CODEC_TRUST_LOOPBACK_UI = 'true';
    launch('temporal', await ensureTemporalCli(settings.temporalCli), [...devServerArgs(devServer), ...codecArgs]);
    temporalAddress = `${devServer.ip}:${devServer.port}`;
    env.TEMPORAL_ADDRESS = temporalAddress;
    uiUrl = `http://${devServer.ip}:${devServer.uiPort}`;
    await waitUntil(`Temporal at ${temporalAddress}`, () => temporalReachable(env), STARTUP_TIMEOUT_MS, 500);
  }
  const temporal = loadTemporalSettings(env);
  if (!settings.temporalAddress) {
    const connection = await Connection.connect(temporalConnectionOptions(temporal));
    try {
      const added = await ensureSearchAttributes(connection, temporal.namespace);
      if (added.length) console.log(`Registered search attributes ${added.join(', ')} on the dev server`);
    } finally {
      await connection.close();
    }
  }

  const { providers } = settings;
  const simulated = PROVIDER_NAMES.filter((name) => providers.endpoints[name].simulated);
  if (simulated.length) {
    const simulatorUrl = new URL(providers.endpoints[simulated[0]].baseUrl).origin;
    launch('simulator', process.execPath, [dist('simulator', 'main.js')]);
    await waitUntil(`the provider simulator at ${simulatorUrl}`, () => httpOk(`${simulatorUrl}/healthz`), STARTUP_TIMEOUT_MS);
  }

  // One Redis carries token streaming from the workers to the API, and lets several workers hold
  // provider rate limits in every 1 s window: started whenever redis-server is installed.
  let redisNote: string;
  if (settings.redisUrl) {
    redisNote = `  Redis        ${settings.redisUrl} (CHORUS_REDIS_URL: token streaming, shared provider pacing and API rate limits)`;
  } else {
    const redisServer = onPath('redis-server', env);
    if (redisServer) {
      const port = await freeLoopbackPort();
      launch('redis', redisServer, redisServerArgs(port));
      const redisUrl = `redis://127.0.0.1:${port}`;
      env.CHORUS_REDIS_URL = redisUrl;
      await waitUntil(`redis-server on ${port}`, () => redisAnswers(port), STARTUP_TIMEOUT_MS, 200);
      redisNote = `  Redis        ${redisUrl} (token streaming on /v1/workflows/:id/events; the workers share provider pacing, the API its rate limits)`;
    } else {
      redisNote =
        '  Redis        none: no token streaming (live progress has step events only)' +
        (workerCount > 1 ? ', and each worker paces provider calls on its own' : '') +
        '; install redis-server or set CHORUS_REDIS_URL';
    }
  }

  const exampleKey = settings.credentialsConfigured ? '<your API key>' : DEV_API_KEY;
  if (!settings.credentialsConfigured) {
    env.CHORUS_API_KEYS = JSON.stringify([DEV_KEY_ENTRY]);
    console.warn(
      `No API keys configured: using the development key "${DEV_API_KEY}" (tenant "dev", every scope). Create your own with npm run keys:create before exposing the API.`,
    );
  }
  const metricsPort = settings.workerMetricsPort;
  const workers: ManagedProcess[] = [];
  for (let index = 1; index <= workerCount; index += 1) {
    // Each worker's metrics endpoint gets its own port: the configured one, then the next ones.
    const workerEnv = metricsPort ? { ...env, CHORUS_WORKER_METRICS_PORT: String(metricsPort + index - 1) } : env;
    workers.push(launch(workerCount === 1 ? 'worker' : `worker-${index}`, process.execPath, [...NODE_FLAGS.worker, dist('worker', 'main.js')], workerEnv));
  }
  launch('api', process.execPath, [...NODE_FLAGS.api, dist('api', 'main.js')]);
  await waitUntil(`the API at ${apiUrl}`, () => httpOk(`${apiUrl}/healthz`), STARTUP_TIMEOUT_MS);
  await waitUntil(`the worker${workerCount === 1 ? '' : 's'} to poll Temporal`, () => workersPolling(temporal, settings, workers), STARTUP_TIMEOUT_MS, 500);

  console.log(
    [
      '',
      'Chorus is running:',
      `  API          ${apiUrl}   (OpenAPI UI: ${apiUrl}/docs)`,
      `  Temporal     ${temporalAddress}${uiUrl ? `   (Web UI: ${uiUrl})` : ''}`,
      `  Workers      ${workerCount} process${workerCount === 1 ? '' : 'es'}${metricsPort ? ` (metrics on ports ${metricsPort}–${metricsPort + workerCount - 1})` : ''}`,
      simulated.length ? `  Simulated    ${simulated.join(', ')} (no API key set; answers come from the Chorus provider simulator)` : '',
      redisNote,
      '',
      'Try it:',
      `  curl -s -X POST ${apiUrl}/v1/workflows -H 'x-api-key: ${exampleKey}' -H 'content-type: application/json' \\`,
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
