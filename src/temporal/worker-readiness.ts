import { hostname } from 'node:os';
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const { TaskQueueKind, TaskQueueType } = temporal.api.enums.v1;

/** The identity a Chorus worker process polls Temporal with: its PID tells one process from the next. */
export function workerIdentity(pid: number = process.pid, host: string = hostname()): string {
  return `chorus-worker-${pid}@${host}`;
}

/**
 * The identities that poll `taskQueue` now, as the server reports them: a worker that appears here
 * has bundled its workflows, connected and begun to take tasks.
 */
export async function pollersOf(connection: Connection, namespace: string, taskQueue: string, kind: 'workflow' | 'activity'): Promise<Set<string>> {
  const { pollers } = await connection.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: kind === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return new Set(pollers.flatMap((poller) => (poller.identity ? [poller.identity] : [])));
}
