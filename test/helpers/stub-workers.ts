import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { ChorusActivities } from '../../activities';
import { QUEUE_ROLES, taskQueueOf } from '../../src/pipeline/task-queues';
import { runSinks } from '../../worker/worker';
import { testTemporalAddress, workflowBundle } from './stack';

export interface StubbedRuns {
  client: Client;
  /** The workflows' task queue of this test (provider calls run on `<queue>-<provider>`). */
  taskQueue: string;
}

/**
 * Runs `body` against the real pipeline workflow on the shared dev server, with plain functions
 * as its activities: one Worker per queue the workflow schedules on (workflows and each provider),
 * on a task queue of this test's own, all stopped when `body` settles.
 */
export async function withStubbedActivities<T>(name: string, activities: Partial<ChorusActivities>, body: (runs: StubbedRuns) => Promise<T>): Promise<T> {
  const taskQueue = `${name}-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address: testTemporalAddress() });
  const connection = await Connection.connect({ address: testTemporalAddress() });
  try {
    const bundle = await workflowBundle();
    const workers = await Promise.all(
      QUEUE_ROLES.map((role) =>
        Worker.create({
          connection: nativeConnection,
          taskQueue: taskQueueOf(taskQueue, role),
          activities,
          // The bundle reports each run's start to a sink; registered here so it has somewhere to go.
          ...(role === 'workflows' ? { workflowBundle: bundle, sinks: runSinks() } : {}),
          shutdownGraceTime: '1s',
        }),
      ),
    );
    const done = body({ client: new Client({ connection }), taskQueue });
    // Each worker runs until the body settles; the body's own outcome (or error) is the answer.
    await Promise.all(workers.map((worker) => worker.runUntil(done.catch(() => undefined))));
    return await done;
  } finally {
    await Promise.all([connection.close(), nativeConnection.close()]);
  }
}
