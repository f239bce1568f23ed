import { z } from 'zod';
import { catalogEntry, type ProviderName } from '../pipeline/providers';
import { queueRoles, type QueueRole } from '../pipeline/task-queues';
import { commaList, ConfigError, flag, parseEnv, port, positiveInt, redisUrl, type Env } from './env';
import { configuredProviderNames, envPrefix } from './providers';

/** Limits of one provider's activity queue. */
export interface ProviderQueueLimits {
  /** Provider calls one worker process runs at once. @default maxConcurrentActivities */
  maxConcurrency?: number;
  /**
   * The provider's request limit per second. The Temporal server holds the queue's sustained rate to
   * it across every worker (each worker must send the same value), and the provider pacer spaces the
   * requests so no 1 s window exceeds it: across all workers when they share Redis, per process
   * otherwise. @default unlimited
   */
  maxRps?: number;
}

/** A worker build within a Worker Deployment: Temporal's deployment name and build ID. */
export interface WorkerDeploymentVersion {
  deploymentName: string;
  buildId: string;
}

export interface WorkerSettings {
  /** Default provider-call concurrency of one worker process, per provider queue. */
  maxConcurrentActivities: number;
  maxConcurrentWorkflowTasks: number;
  /**
   * Runs whose workflow state the worker keeps between tasks (the sticky cache); a run beyond it is
   * replayed from its history at its next task. @default the SDK's: about 600 per GB of V8 heap limit (~2,300 at Node's 4 GB)
   */
  maxCachedWorkflows?: number;
  /** How long SIGTERM waits for in-flight activities before they are cancelled. */
  shutdownGraceMs: number;
  /** Queues this process serves. @default every queue (workflows and each provider, configured instances included) */
  queues?: readonly QueueRole[];
  providerLimits?: Partial<Record<ProviderName, ProviderQueueLimits>>;
  /** Port of the worker's Prometheus endpoint; 0 turns it off. @default 0 */
  metricsPort?: number;
  /** Interface the metrics endpoint binds to. @default 127.0.0.1 */
  metricsHost?: string;
  /** Redis the workers share provider pacing and circuit breakers in (CHORUS_REDIS_URL). @default none: each process paces its own calls and keeps its own breakers */
  redisUrl?: string;
  /**
   * Worker Deployment Versioning: this build's version. Set, every Worker of the process polls as
   * that version and each run stays pinned to the build it started on; Temporal sends new runs to
   * the deployment's current version, which an operator sets (README, Upgrades). @default off
   */
  deployment?: WorkerDeploymentVersion;
  /** When a failing provider's calls go straight to the step's fallback (CHORUS_BREAKER_*). @default none: every call goes to its provider */
  breaker?: BreakerSettings;
}

/**
 * A provider's circuit breaker: it opens once its calls fail (with a failure that says the provider
 * is unwell, not the request) at least `failureThreshold` times and in at least `failureRatio` of
 * the calls within `windowMs`; while open, steps that have a fallback skip it for `cooldownMs`; then
 * one call, across all workers, probes it and closes the breaker or opens it again.
 */
export interface BreakerSettings {
  /** @default 10 */
  failureThreshold: number;
  /** @default 0.5 */
  failureRatio: number;
  /** @default 60000 */
  windowMs: number;
  /** @default 30000 */
  cooldownMs: number;
  /** How long a probe holds its turn before another call may probe (a probe whose worker died never reports). @default 90000 */
  probeLeaseMs: number;
}

export function loadWorkerSettings(env: Env = process.env): WorkerSettings {
  const providers = configuredProviderNames(env);
  const roles = queueRoles(providers);
  const perProvider = Object.fromEntries(
    providers.flatMap((provider) => [
      [`CHORUS_${envPrefix(provider)}_MAX_CONCURRENCY`, z.coerce.number().int().positive().optional()],
      [`CHORUS_${envPrefix(provider)}_MAX_RPS`, z.coerce.number().positive().optional()],
    ]),
  );
  const vars = parseEnv(
    {
      ...perProvider,
      CHORUS_WORKER_MAX_ACTIVITIES: positiveInt(200),
      CHORUS_WORKER_MAX_WORKFLOW_TASKS: positiveInt(40),
      CHORUS_WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2, 'expected at least 2 (the SDK needs room for two runs)').optional(),
      CHORUS_WORKER_SHUTDOWN_GRACE_MS: positiveInt(10_000),
      CHORUS_WORKER_QUEUES: commaList()
        .pipe(z.array(z.enum(roles as [QueueRole, ...QueueRole[]], { message: `expected a comma-separated list of ${roles.join(', ')}` })).min(1))
        .optional(),
      CHORUS_WORKER_METRICS_PORT: port(0),
      CHORUS_WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
      CHORUS_REDIS_URL: redisUrl(),
      // Temporal names a version "<deployment>.<build ID>": a deployment name holds no "." or ":".
      CHORUS_DEPLOYMENT_NAME: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,100}$/, 'expected 1-100 letters, digits, "_" or "-"')
        .optional(),
      CHORUS_BUILD_ID: z
        .string()
        .regex(/^[A-Za-z0-9._+-]{1,100}$/, 'expected 1-100 letters, digits, ".", "_", "+" or "-" (e.g. a git SHA or 2.4.0)')
        .optional(),
      CHORUS_BREAKER_ENABLED: flag(true),
      CHORUS_BREAKER_FAILURES: positiveInt(10),
      CHORUS_BREAKER_FAILURE_RATIO: z.coerce.number().gt(0).max(1).default(0.5),
      CHORUS_BREAKER_WINDOW_MS: positiveInt(60_000),
      CHORUS_BREAKER_COOLDOWN_MS: positiveInt(30_000),
      CHORUS_BREAKER_PROBE_LEASE_MS: positiveInt(90_000),
    },
    env,
  ) as Record<string, number | undefined> & {
    CHORUS_WORKER_MAX_ACTIVITIES: number;
    CHORUS_WORKER_MAX_WORKFLOW_TASKS: number;
    CHORUS_WORKER_MAX_CACHED_WORKFLOWS?: number;
    CHORUS_WORKER_SHUTDOWN_GRACE_MS: number;
    CHORUS_WORKER_QUEUES?: QueueRole[];
    CHORUS_WORKER_METRICS_PORT: number;
    CHORUS_WORKER_METRICS_HOST: string;
    CHORUS_REDIS_URL?: string;
    CHORUS_DEPLOYMENT_NAME?: string;
    CHORUS_BUILD_ID?: string;
    CHORUS_BREAKER_ENABLED: boolean;
    CHORUS_BREAKER_FAILURES: number;
    CHORUS_BREAKER_FAILURE_RATIO: number;
    CHORUS_BREAKER_WINDOW_MS: number;
    CHORUS_BREAKER_COOLDOWN_MS: number;
    CHORUS_BREAKER_PROBE_LEASE_MS: number;
  };
  const { CHORUS_DEPLOYMENT_NAME: deploymentName, CHORUS_BUILD_ID: buildId } = vars;
  if (!deploymentName !== !buildId) {
    const [missing, given] = deploymentName ? ['CHORUS_BUILD_ID', 'CHORUS_DEPLOYMENT_NAME'] : ['CHORUS_DEPLOYMENT_NAME', 'CHORUS_BUILD_ID'];
    throw new ConfigError(`Invalid configuration:\n  ${missing}: required when ${given} is set (a versioned worker needs both)`);
  }
  return {
    maxConcurrentActivities: vars.CHORUS_WORKER_MAX_ACTIVITIES,
    maxConcurrentWorkflowTasks: vars.CHORUS_WORKER_MAX_WORKFLOW_TASKS,
    ...(vars.CHORUS_WORKER_MAX_CACHED_WORKFLOWS !== undefined ? { maxCachedWorkflows: vars.CHORUS_WORKER_MAX_CACHED_WORKFLOWS } : {}),
    shutdownGraceMs: vars.CHORUS_WORKER_SHUTDOWN_GRACE_MS,
    queues: vars.CHORUS_WORKER_QUEUES ? [...new Set(vars.CHORUS_WORKER_QUEUES)] : roles,
    // The catalog's limits, unless the deployment sets its own.
    providerLimits: Object.fromEntries(
      providers.map((provider) => [
        provider,
        {
          maxConcurrency: vars[`CHORUS_${envPrefix(provider)}_MAX_CONCURRENCY`] ?? catalogEntry(provider)?.limits.maxConcurrency,
          maxRps: vars[`CHORUS_${envPrefix(provider)}_MAX_RPS`] ?? catalogEntry(provider)?.limits.maxRps,
        },
      ]),
    ),
    metricsPort: vars.CHORUS_WORKER_METRICS_PORT,
    metricsHost: vars.CHORUS_WORKER_METRICS_HOST,
    ...(vars.CHORUS_REDIS_URL ? { redisUrl: vars.CHORUS_REDIS_URL } : {}),
    ...(deploymentName && buildId ? { deployment: { deploymentName, buildId } } : {}),
    ...(vars.CHORUS_BREAKER_ENABLED
      ? {
          breaker: {
            failureThreshold: vars.CHORUS_BREAKER_FAILURES,
            failureRatio: vars.CHORUS_BREAKER_FAILURE_RATIO,
            windowMs: vars.CHORUS_BREAKER_WINDOW_MS,
            cooldownMs: vars.CHORUS_BREAKER_COOLDOWN_MS,
            probeLeaseMs: vars.CHORUS_BREAKER_PROBE_LEASE_MS,
          },
        }
      : {}),
  };
}

/** How many worker processes `npm start` runs: `--workers N` wins over CHORUS_WORKERS. @default 1 */
export function loadWorkerCount(env: Env = process.env, argv: readonly string[] = []): number {
  const flagIndex = argv.findIndex((arg) => arg === '--workers' || arg.startsWith('--workers='));
  const fromFlag = flagIndex < 0 ? undefined : argv[flagIndex].includes('=') ? argv[flagIndex].split('=')[1] : argv[flagIndex + 1];
  const vars = parseEnv(
    { CHORUS_WORKERS: z.coerce.number().int().min(1).max(64).default(1) },
    { ...env, ...(fromFlag !== undefined ? { CHORUS_WORKERS: fromFlag } : {}) },
  );
  return vars.CHORUS_WORKERS;
}
