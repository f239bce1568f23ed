import { z } from 'zod';
import { catalogEntry, type ProviderName } from '../pipeline/providers';
import { queueRoles, type QueueRole } from '../pipeline/task-queues';
import { commaList, parseEnv, port, positiveInt, redisUrl, type Env } from './env';
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

export interface WorkerSettings {
  /** Default provider-call concurrency of one worker process, per provider queue. */
  maxConcurrentActivities: number;
  maxConcurrentWorkflowTasks: number;
  /** How long SIGTERM waits for in-flight activities before they are cancelled. */
  shutdownGraceMs: number;
  /** Queues this process serves. @default every queue (workflows and each provider, configured instances included) */
  queues?: readonly QueueRole[];
  providerLimits?: Partial<Record<ProviderName, ProviderQueueLimits>>;
  /** Port of the worker's Prometheus endpoint; 0 turns it off. @default 0 */
  metricsPort?: number;
  /** Interface the metrics endpoint binds to. @default 127.0.0.1 */
  metricsHost?: string;
  /** Redis the workers share provider pacing in (CHORUS_REDIS_URL). @default none: each process paces its own calls */
  redisUrl?: string;
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
      CHORUS_WORKER_SHUTDOWN_GRACE_MS: positiveInt(10_000),
      CHORUS_WORKER_QUEUES: commaList()
        .pipe(z.array(z.enum(roles as [QueueRole, ...QueueRole[]], { message: `expected a comma-separated list of ${roles.join(', ')}` })).min(1))
        .optional(),
      CHORUS_WORKER_METRICS_PORT: port(0),
      CHORUS_WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
      CHORUS_REDIS_URL: redisUrl(),
    },
    env,
  ) as Record<string, number | undefined> & {
    CHORUS_WORKER_MAX_ACTIVITIES: number;
    CHORUS_WORKER_MAX_WORKFLOW_TASKS: number;
    CHORUS_WORKER_SHUTDOWN_GRACE_MS: number;
    CHORUS_WORKER_QUEUES?: QueueRole[];
    CHORUS_WORKER_METRICS_PORT: number;
    CHORUS_WORKER_METRICS_HOST: string;
    CHORUS_REDIS_URL?: string;
  };
  return {
    maxConcurrentActivities: vars.CHORUS_WORKER_MAX_ACTIVITIES,
    maxConcurrentWorkflowTasks: vars.CHORUS_WORKER_MAX_WORKFLOW_TASKS,
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
