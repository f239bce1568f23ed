import { loadObservabilitySettings } from '../src/config/observability';
import { startTracing } from '../src/observability/tracing';
import { commandLine } from '../src/process/command-line';

// --help and --version answer before anything starts; all settings come from the environment.
commandLine(
  'npm run start:worker --',
  'Runs a Chorus worker: polls the workflow and provider task queues of TEMPORAL_ADDRESS (settings: .env.example)',
).parse();

// Tracing first: the HTTP instrumentation has to be in place before provider calls are made.
const observability = loadObservabilitySettings();
const tracing = startTracing('chorus-worker', observability);

import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { chorusDataConverter } from '../src/codec/encryption-codec';
import { loadEncryptionSettings } from '../src/config/encryption';
import { loadWebhookSettings } from '../src/config/webhooks';
import { loadProviderSettings } from '../src/config/providers';
import { loadTemporalSettings } from '../src/config/temporal';
import { loadSpendSettings } from '../src/config/spend';
import { loadWorkerSettings } from '../src/config/worker';
import { connectRedisTenantLedger } from '../src/spend/tenant-ledger';
import { connectRedisResponseCache } from '../activities/response-cache';
import { createLogger, PinoTemporalLogger } from '../src/observability/logger';
import { freeLoopbackPort, startMetricsServer, type MetricsServer } from '../src/observability/metrics-server';
import { createBreakerMetrics, createProviderCallMetrics, createTenantSpendMetrics } from './provider-metrics';
import { createRunMetrics } from './run-metrics';
import { PROVIDER_NAMES } from '../src/pipeline/providers';
import { taskQueueOf } from '../src/pipeline/task-queues';
import { workerIdentity } from '../src/temporal/worker-readiness';
import { createRedisTokenStream } from '../src/streaming/redis-token-stream';
import { createChorusWorker, createCircuitBreaker, createProviderPacer, providerRates } from './worker';

const CORE_LOG_LEVEL = { fatal: 'ERROR', error: 'ERROR', warn: 'WARN', info: 'WARN', debug: 'INFO', trace: 'DEBUG', silent: 'ERROR' } as const;

/** Worker process: runs the queues it is configured for until SIGINT/SIGTERM, then drains in-flight work. */
async function main() {
  const identity = workerIdentity();
  const logger = createLogger(observability.logLevel, { service: 'chorus-worker', identity });
  const temporal = loadTemporalSettings();
  const providers = loadProviderSettings();
  const settings = loadWorkerSettings();
  const spendSettings = loadSpendSettings();

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const sdkMetricsPort = settings.metricsPort ? await freeLoopbackPort() : undefined;
  Runtime.install({
    logger: new PinoTemporalLogger(logger),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: CORE_LOG_LEVEL[observability.logLevel] }), forward: {} },
      ...(sdkMetricsPort
        ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}`, countersTotalSuffix: true, useSecondsForDurations: true } } }
        : {}),
    },
  });
  let metricsServer: MetricsServer | undefined;
  // Ready once every Worker polls: the container healthcheck reads /readyz on the metrics port.
  let polling: () => boolean = () => false;
  if (settings.metricsPort) {
    metricsServer = await startMetricsServer({
      host: settings.metricsHost ?? '127.0.0.1',
      port: settings.metricsPort,
      registry,
      upstream: `http://127.0.0.1:${sdkMetricsPort}/metrics`,
      ready: () => polling(),
    });
  }

  const pacer = await createProviderPacer(settings, temporal, (shared, error) =>
    shared
      ? logger.info('provider pacing shared through Redis')
      : logger.warn({ err: error?.message }, 'Redis unreachable: this worker paces provider calls on its own until it is back'),
  );
  if (Object.keys(providerRates(settings)).length && !settings.redisUrl) {
    logger.info('provider rate limits are paced per worker process; with several worker processes set CHORUS_REDIS_URL to hold them in every 1 s window');
  }
  // Token events need a transport the API can read: without Redis, provider calls do not stream.
  let tokenErrorLogged = false;
  const tokens = settings.redisUrl
    ? createRedisTokenStream(settings.redisUrl, {
        onError: (error) => {
          if (!tokenErrorLogged) logger.warn({ err: error.message }, 'Redis unreachable: token events are lost until it is back (results are not)');
          tokenErrorLogged = true;
        },
      })
    : undefined;
  const breaker = await createCircuitBreaker(settings, temporal, createBreakerMetrics(registry, Object.keys(providers.endpoints)), (shared, error) =>
    shared
      ? logger.info('provider circuit breakers shared through Redis')
      : logger.warn({ err: error?.message }, 'Redis unreachable: this worker keeps its own provider circuit breakers until it is back'),
  );
  // Tenant caps and usage live in the Redis every worker and API instance shares.
  const ledger = spendSettings.redisUrl ? await connectRedisTenantLedger({ redisUrl: spendSettings.redisUrl, scope: temporal.taskQueue }) : undefined;
  const dataConverter = chorusDataConverter(loadEncryptionSettings());
  // Cached answers are shared by every worker through Redis, encrypted like payloads when encryption is on.
  const cache = settings.redisUrl ? await connectRedisResponseCache(settings.redisUrl, temporal.taskQueue, dataConverter?.payloadCodecs?.[0]) : undefined;
  const { worker, connection } = await createChorusWorker({
    ...(cache ? { cache } : {}),
    ...(ledger ? { spend: { ledger, settings: spendSettings, metrics: createTenantSpendMetrics(registry) } } : {}),
    pacer,
    tokens,
    breaker,
    temporal,
    providers,
    worker: settings,
    identity,
    metrics: createProviderCallMetrics(registry),
    runMetrics: createRunMetrics(registry),
    tracing,
    dataConverter,
    webhooks: loadWebhookSettings(),
  });
  const queues = [...worker.workers.keys()].map((role) => taskQueueOf(temporal.taskQueue, role));
  const simulated = PROVIDER_NAMES.filter((name) => providers.endpoints[name].simulated);
  const running = worker.run();
  polling = () => worker.getState() === 'RUNNING';
  logger.info(
    {
      queues,
      address: temporal.address,
      namespace: temporal.namespace,
      simulated,
      metrics: metricsServer?.url,
      limits: settings.providerLimits,
      tokenEvents: tokens ? 'redis' : 'off',
      tenantSpend: ledger ? 'redis' : 'off',
      deployment: settings.deployment,
    },
    `Chorus worker polling task queues ${queues.map((queue) => `"${queue}"`).join(', ')} on ${temporal.address}` +
      (settings.deployment ? ` as version ${settings.deployment.deploymentName}.${settings.deployment.buildId}` : '') +
      (simulated.length ? ` (simulated providers: ${simulated.join(', ')})` : ''),
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => logger.info({ signal, graceMs: settings.shutdownGraceMs }, 'Chorus worker draining in-flight tasks'));
  }
  // ChorusWorker.run resolves after the SDK's own SIGINT/SIGTERM handling has drained in-flight work.
  await running;
  await tokens?.close();
  await ledger?.close();
  await cache?.close();
  await connection.close();
  await metricsServer?.close();
  await tracing?.shutdown();
  logger.info('Chorus worker stopped');
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
