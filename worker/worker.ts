import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { OpenTelemetryActivityInboundInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type ActivityInterceptorsFactory, type InjectedSinks, type State, type WorkerOptions } from '@temporalio/worker';
import axios from 'axios';
import { createActivities } from '../activities';
import { AnsweredCalls } from '../activities/answered-calls';
import type { ProviderCallMetrics } from '../activities/metrics';
import type { TenantSpendDeps } from '../activities/tenant-spend';
import { createLocalResponseCache, type ResponseCache } from '../activities/response-cache';
import { createLocalPacer, createSharedPacer, NO_PACING, type ProviderPacer, type SharedPacerOptions } from '../activities/provider-pacer';
import { ProviderSlots } from '../activities/provider-slots';
import {
  createLocalBreakerStore,
  createProviderBreaker,
  createSharedBreakerStore,
  NO_BREAKER,
  type BreakerMetrics,
  type ProviderBreaker,
  type SharedBreakerOptions,
} from '../activities/provider-breaker';
import { runIsOpenVia } from '../activities/run-status';
import type { ProviderSettings } from '../src/config/providers';
import { temporalConnectionOptions, type TemporalSettings } from '../src/config/temporal';
import type { WebhookSettings } from '../src/config/webhooks';
import type { WorkerSettings } from '../src/config/worker';
import type { TokenStream } from '../src/streaming/token-stream';
import type { ProviderName } from '../src/pipeline/providers';
import { queueRoles, taskQueueOf, type QueueRole } from '../src/pipeline/task-queues';
import { temporalLoggerAtLeast } from '../src/observability/logger';
import type { Tracing } from '../src/observability/tracing';
import { projectRoot } from '../src/project-root';
import type { RunMetrics } from './run-metrics';
import type { RunSinks } from './run-start-interceptor';
import { cachedWorkflowBundle, compiledRootOf } from './workflow-bundle-cache';

export interface ChorusWorkerOptions {
  temporal: TemporalSettings;
  providers: ProviderSettings;
  worker: WorkerSettings;
  /** Prebuilt workflow bundle (tests reuse one); the worker bundles `workflows/` itself when absent. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** An existing connection (tests); one is opened from `temporal` when absent. */
  connection?: NativeConnection;
  identity?: string;
  /** Payload codecs (encryption) and failure conversion; must match the API's client. */
  dataConverter?: DataConverter;
  /** Webhook signing secrets and URL rules. @default none (no tenant can use callbackUrl) */
  webhooks?: WebhookSettings;
  /** Provider-call metrics. @default none */
  metrics?: ProviderCallMetrics;
  /** Counts runs as they start (a prebuilt bundle must include RUN_START_INTERCEPTORS). @default none */
  runMetrics?: RunMetrics;
  /** Traces workflows and activities (a prebuilt bundle must include the tracing workflow interceptors). @default off */
  tracing?: Pick<Tracing, 'spanProcessor' | 'resource'>;
  /** Spaces provider requests to their limits; the worker closes it when it stops. @default createProviderPacer without logging */
  pacer?: ProviderPacer;
  /** Where provider calls publish their text as it streams in; the caller closes it. @default none: calls do not stream */
  tokens?: TokenStream;
  /** Providers' circuit breakers; the worker closes it when it stops. @default createCircuitBreaker without metrics or logging */
  breaker?: ProviderBreaker;
  /** The shared tenant ledger the provider calls are held to and counted in; the caller closes it. @default none: no tenant caps, no usage */
  spend?: TenantSpendDeps;
  /** Answers reused by steps with `cache`; the caller closes it. @default this process's own, encrypted with the data converter's codec */
  cache?: ResponseCache;
}

export const WORKFLOWS_PATH = require.resolve('../workflows');
/** The workflow interceptor that reports each run's start to the worker; every bundle includes it. */
export const RUN_START_INTERCEPTORS = require.resolve('./run-start-interceptor');
/** Workflow interceptors that trace workflow runs and propagate the trace to activities. */
export const TRACING_WORKFLOW_INTERCEPTORS = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
export const WORKFLOW_BUNDLE_CACHE_DIR = join(projectRoot(), '.cache', 'workflow-bundles');

/**
 * Where the workflows Worker gets its code: the given bundle; compiled code (dist/), bundled once
 * per build and options and then read from the cache; or, from sources (tests), bundled now.
 */
async function workflowCode(options: ChorusWorkerOptions): Promise<Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'interceptors'>> {
  if (options.workflowBundle) return { workflowBundle: options.workflowBundle };
  const workflowInterceptorModules = [RUN_START_INTERCEPTORS, ...(options.tracing ? [TRACING_WORKFLOW_INTERCEPTORS] : [])];
  const compiledRoot = compiledRootOf(WORKFLOWS_PATH);
  if (!compiledRoot) return { workflowsPath: WORKFLOWS_PATH, interceptors: { workflowModules: workflowInterceptorModules } };
  const inputs = {
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules,
    failureConverterPath: options.dataConverter?.failureConverterPath,
    payloadConverterPath: options.dataConverter?.payloadConverterPath,
  };
  // webpack's statistics of the bundle are for the SDK's developers: only its warnings and errors are logged.
  const logger = temporalLoggerAtLeast('WARN', Runtime.instance().logger);
  return { workflowBundle: await cachedWorkflowBundle(inputs, { cacheDir: WORKFLOW_BUNDLE_CACHE_DIR, compiledRoot, logger }) };
}

/** Where the run-start interceptor's reports go: the run's input says how it started. Not called on replay. */
export function runSinks(metrics?: RunMetrics): InjectedSinks<RunSinks> {
  return { runs: { started: { fn: (_info, start) => metrics?.started(start), callDuringReplay: false } } };
}

/** Provider calls reuse connections: a fresh TLS handshake per call would dominate short answers. */
export function createProviderHttpClient() {
  return axios.create({
    httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new HttpsAgent({ keepAlive: true }),
    maxContentLength: 20 * 1024 * 1024,
    // Temporal is the only retry loop; a non-2xx must surface as an error to classify.
    validateStatus: (status) => status >= 200 && status < 300,
  });
}

/** Rates of the providers that have a per-second limit. */
export function providerRates(settings: WorkerSettings): Partial<Record<ProviderName, number>> {
  return Object.fromEntries(Object.entries(settings.providerLimits ?? {}).flatMap(([provider, limits]) => (limits?.maxRps ? [[provider, limits.maxRps]] : [])));
}

/**
 * The pacer of this process: shared through Redis when the workers have it, else per process
 * (exact for one worker process; several then hold the limit on average, through Temporal).
 */
export async function createProviderPacer(
  settings: WorkerSettings,
  temporal: Pick<TemporalSettings, 'taskQueue'>,
  onSharedChange?: SharedPacerOptions['onSharedChange'],
): Promise<ProviderPacer> {
  const rates = providerRates(settings);
  if (Object.keys(rates).length === 0) return NO_PACING;
  return settings.redisUrl ? createSharedPacer(rates, { redisUrl: settings.redisUrl, scope: temporal.taskQueue, onSharedChange }) : createLocalPacer(rates);
}

/**
 * The circuit breakers of this process, when its settings have them: shared through Redis when the
 * workers have it, else per process.
 */
export async function createCircuitBreaker(
  settings: WorkerSettings,
  temporal: Pick<TemporalSettings, 'taskQueue'>,
  metrics?: BreakerMetrics,
  onSharedChange?: SharedBreakerOptions['onSharedChange'],
): Promise<ProviderBreaker> {
  if (!settings.breaker) return NO_BREAKER;
  const store = settings.redisUrl
    ? await createSharedBreakerStore(settings.breaker, { redisUrl: settings.redisUrl, scope: temporal.taskQueue, onSharedChange })
    : createLocalBreakerStore(settings.breaker);
  return createProviderBreaker(store, metrics);
}

/**
 * The Temporal Workers of one process, one per task queue it serves (a Worker polls one queue),
 * run and stopped together.
 */
export class ChorusWorker {
  constructor(
    readonly workers: ReadonlyMap<QueueRole, Worker>,
    private readonly pacer: ProviderPacer = NO_PACING,
    private readonly breaker: ProviderBreaker = NO_BREAKER,
  ) {}

  /** Runs every Worker until shutdown (or SIGINT/SIGTERM, which drain in-flight tasks); one failing stops the rest. */
  async run(): Promise<void> {
    const runs = [...this.workers.values()].map((worker) =>
      worker.run().catch((error: unknown) => {
        this.shutdown();
        throw error;
      }),
    );
    const outcomes = await Promise.allSettled(runs);
    await Promise.all([this.pacer.close(), this.breaker.close()]);
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Starts a graceful shutdown of every Worker: in-flight activities get the shutdown grace time. */
  shutdown(): void {
    for (const worker of this.workers.values()) {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }
  }

  /** RUNNING only when every Worker runs; otherwise the state of the first that does not. */
  getState(): State {
    const states = [...this.workers.values()].map((worker) => worker.getState());
    return states.find((state) => state !== 'RUNNING') ?? 'RUNNING';
  }
}

/** Creates the Workers of the queues `options.worker.queues` names (all by default) on one connection. */
export async function createChorusWorker(
  options: ChorusWorkerOptions,
): Promise<{ worker: ChorusWorker; connection: NativeConnection; ownsConnection: boolean }> {
  const ownsConnection = !options.connection;
  const connection = options.connection ?? (await NativeConnection.connect(temporalConnectionOptions(options.temporal)));
  const settings = options.worker;
  // By default every provider it has settings for, configured instances included, gets its queue's worker.
  const roles = settings.queues ?? queueRoles(Object.keys(options.providers.endpoints));
  const common = {
    connection,
    namespace: options.temporal.namespace,
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    shutdownGraceTime: settings.shutdownGraceMs,
    // Every queue of the build polls as its version: a pinned run's provider calls then go to workers of its own build too.
    ...(settings.deployment
      ? { workerDeploymentOptions: { useWorkerVersioning: true, version: settings.deployment, defaultVersioningBehavior: 'PINNED' } }
      : {}),
  } satisfies Partial<WorkerOptions>;
  const pacer = options.pacer ?? (await createProviderPacer(settings, options.temporal));
  const concurrencyOf = (provider: ProviderName) => settings.providerLimits?.[provider]?.maxConcurrency ?? settings.maxConcurrentActivities;
  const breaker = options.breaker ?? (await createCircuitBreaker(settings, options.temporal));
  const activities = createActivities({
    http: createProviderHttpClient(),
    providers: options.providers,
    metrics: options.metrics,
    webhooks: options.webhooks,
    pacer,
    breaker,
    spend: options.spend,
    cache: options.cache ?? createLocalResponseCache(options.dataConverter?.payloadCodecs?.[0]),
    answered: new AnsweredCalls(),
    tokens: options.tokens,
    // Local activities run in the workflows' Worker, whose slots all providers share: each provider keeps its own bound.
    slots: new ProviderSlots(concurrencyOf),
    // The worker's own connection: a call kept for a retry asks whether its run is still open.
    runIsOpen: runIsOpenVia(
      new Client({ connection, namespace: options.temporal.namespace, ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}) }),
    ),
  });
  const tracing = options.tracing;
  const activityInterceptors: ActivityInterceptorsFactory[] = tracing ? [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) })] : [];

  const workers = new Map<QueueRole, Worker>();
  try {
    for (const role of roles) {
      const taskQueue = taskQueueOf(options.temporal.taskQueue, role);
      if (role === 'workflows') {
        const { interceptors, ...code } = await workflowCode(options);
        workers.set(
          role,
          await Worker.create({
            ...common,
            taskQueue,
            ...code,
            // Local provider calls are traced like remote ones.
            interceptors: { ...interceptors, activity: activityInterceptors },
            // Webhook deliveries and local provider calls run next to the workflows.
            activities,
            maxConcurrentWorkflowTaskExecutions: settings.maxConcurrentWorkflowTasks,
            ...(settings.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: settings.maxCachedWorkflows } : {}),
            // Room for every provider's own bound at once (the SDK's default, 100, would cap them all together).
            maxConcurrentLocalActivityExecutions: Object.keys(options.providers.endpoints).reduce((sum, provider) => sum + concurrencyOf(provider), 0),
            sinks: { ...runSinks(options.runMetrics), ...(tracing ? { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) } : {}) },
          }),
        );
      } else {
        const limits = settings.providerLimits?.[role] ?? {};
        workers.set(
          role,
          await Worker.create({
            ...common,
            taskQueue,
            activities,
            maxConcurrentActivityTaskExecutions: limits.maxConcurrency ?? settings.maxConcurrentActivities,
            // Enforced by the server for the whole queue, so every worker sends the same value.
            ...(limits.maxRps ? { maxTaskQueueActivitiesPerSecond: limits.maxRps } : {}),
            interceptors: { activity: activityInterceptors },
          }),
        );
      }
    }
  } catch (error) {
    await Promise.all([pacer.close(), breaker.close()]);
    if (ownsConnection) await connection.close();
    throw error;
  }
  return { worker: new ChorusWorker(workers, pacer, breaker), connection, ownsConnection };
}
