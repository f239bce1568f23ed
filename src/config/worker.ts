import { parseEnv, positiveInt, type Env } from './env';

export interface WorkerSettings {
  maxConcurrentActivities: number;
  maxConcurrentWorkflowTasks: number;
  /** How long SIGTERM waits for in-flight activities before they are cancelled. */
  shutdownGraceMs: number;
}

export function loadWorkerSettings(env: Env): WorkerSettings {
  const vars = parseEnv(
    {
      CHORUS_WORKER_MAX_ACTIVITIES: positiveInt(200),
      CHORUS_WORKER_MAX_WORKFLOW_TASKS: positiveInt(40),
      CHORUS_WORKER_SHUTDOWN_GRACE_MS: positiveInt(10_000),
    },
    env,
  );
  return {
    maxConcurrentActivities: vars.CHORUS_WORKER_MAX_ACTIVITIES,
    maxConcurrentWorkflowTasks: vars.CHORUS_WORKER_MAX_WORKFLOW_TASKS,
    shutdownGraceMs: vars.CHORUS_WORKER_SHUTDOWN_GRACE_MS,
  };
}
