import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { WorkerDeploymentVersion } from '../../src/config/worker';
import { taskQueueOf } from '../../src/pipeline/task-queues';
import type { PipelineRunInput } from '../../src/pipeline/types';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import type { pipelineWorkflow } from '../../workflows';
import { approvalUpdate, PIPELINE_WORKFLOW_TYPE, progressQuery } from '../../workflows/definitions';
import { createChorusWorker, RUN_START_INTERCEPTORS, runSinks, type ChorusWorker } from '../../worker/worker';
import { makeCurrentVersion } from '../helpers/deployments';
import { shippedPipeline, simulatedProviders, testTemporalSettings, workflowBundle } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

const IN_FLIGHT = 4;
const AFTER_DEPLOY = 4;
const NEXT_BUILD_WORKFLOWS = require.resolve('../fixtures/versioning/next-build-workflows');
const { EventType, VersioningBehavior } = proto.api.enums.v1;

interface RunningBuild {
  version: WorkerDeploymentVersion;
  worker: ChorusWorker;
  stopped: Promise<void>;
  connection: NativeConnection;
  queues: string[];
}

/** Which build's workers ran a run: the identities and deployment versions its history records. */
interface RunTrace {
  identities: string[];
  buildIds: string[];
  behaviors: number[];
}

/**
 * A deploy of an incompatible workflow change while runs are in flight, with Worker Deployment
 * Versioning: runs started on build A stay pinned to A and complete on A's code (workflow tasks and
 * provider calls alike); once B is the current version, new runs start and complete on B.
 */
// Remote only: a local call runs in the pinned workflow worker itself, so only remote calls could reach another build's queue.
describe('versioned deploys', () => {
  const temporal = testTemporalSettings('versioned-deploy');
  const deploymentName = `chorus-${randomUUID().slice(0, 8)}`;
  const builds: RunningBuild[] = [];
  let simulator: RunningSimulator;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    simulator = await startSimulator({ latencyMs: 5 });
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection, namespace: temporal.namespace });
  });
  afterAll(async () => {
    for (const build of builds) build.worker.shutdown();
    await Promise.all(builds.map((build) => build.stopped));
    await Promise.all([...builds.map((build) => build.connection.close()), connection?.close(), simulator?.close()]);
  });

  /** A worker process of one build: every queue, polling as `buildId` of the deployment. */
  async function startBuild(buildId: string, bundle: WorkflowBundle): Promise<RunningBuild> {
    const version = { deploymentName, buildId };
    const native = await NativeConnection.connect({ address: temporal.address });
    const { worker } = await createChorusWorker({
      temporal,
      providers: simulatedProviders(simulator.url),
      worker: { maxConcurrentActivities: 50, maxConcurrentWorkflowTasks: 10, shutdownGraceMs: 1000, deployment: version },
      workflowBundle: bundle,
      connection: native,
      identity: `build-${buildId}`,
    });
    const build = {
      version,
      worker,
      stopped: worker.run(),
      connection: native,
      queues: [...worker.workers.keys()].map((role) => taskQueueOf(temporal.taskQueue, role)),
    };
    builds.push(build);
    return build;
  }

  const startRuns = (count: number, label: string) =>
    Promise.all(
      Array.from({ length: count }, (_, index) =>
        client.workflow.start<typeof pipelineWorkflow>(PIPELINE_WORKFLOW_TYPE, {
          workflowId: `versioned-${label}-${index}-${randomUUID()}`,
          taskQueue: temporal.taskQueue,
          args: [{ pipeline: shippedPipeline('reviewed-post'), input: { topic: `deploy ${label} ${index}` } } satisfies PipelineRunInput],
        }),
      ),
    );
  /** Each run has made its first provider call and waits at its approval step: it is in flight on the build that took it. */
  const awaitApprovalWait = (handles: WorkflowHandle<typeof pipelineWorkflow>[]) =>
    Promise.all(
      handles.map((handle) =>
        waitFor(`${handle.workflowId} to wait for approval`, () => handle.query(progressQuery), {
          timeoutMs: 60_000,
          intervalMs: 200,
          until: (progress) => progress.find((step) => step.id === 'review')?.status === 'waiting',
        }),
      ),
    );
  async function traceOf(handle: WorkflowHandle): Promise<RunTrace> {
    const events = (await handle.fetchHistory()).events ?? [];
    const completedTasks = events.filter((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    const startedActivities = events.filter((event) => event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
    const unique = <T>(values: T[]) => [...new Set(values)].sort();
    return {
      identities: unique([
        ...completedTasks.map((event) => event.workflowTaskCompletedEventAttributes?.identity ?? ''),
        ...startedActivities.map((event) => event.activityTaskStartedEventAttributes?.identity ?? ''),
      ]),
      buildIds: unique(completedTasks.map((event) => event.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId ?? '(none)')),
      behaviors: unique(completedTasks.map((event) => event.workflowTaskCompletedEventAttributes?.versioningBehavior ?? 0)),
    };
  }

  it('runs in flight during a deploy finish on the old build; runs started after it run on the new one', async () => {
    const buildA = await startBuild('A', await workflowBundle());
    await makeCurrentVersion(connection, temporal.namespace, buildA.version, buildA.queues);
    const inFlight = await startRuns(IN_FLIGHT, 'in-flight');
    await awaitApprovalWait(inFlight);

    const nextBundle = await bundleWorkflowCode({
      workflowsPath: NEXT_BUILD_WORKFLOWS,
      workflowInterceptorModules: [RUN_START_INTERCEPTORS],
      logger: Runtime.instance().logger,
    });
    const buildB = await startBuild('B', nextBundle);
    await makeCurrentVersion(connection, temporal.namespace, buildB.version, buildA.queues);
    const afterDeploy = await startRuns(AFTER_DEPLOY, 'after-deploy');
    await awaitApprovalWait(afterDeploy);

    const all = [...inFlight, ...afterDeploy];
    await Promise.all(all.map((handle) => handle.executeUpdate(approvalUpdate, { args: [{ decision: 'approved', by: 'release-manager' }] })));
    const results = await Promise.all(all.map((handle) => handle.result()));
    expect(results.map((result) => result.output.ranOn ?? 'released')).toEqual([
      ...Array<string>(IN_FLIGHT).fill('released'),
      ...Array<string>(AFTER_DEPLOY).fill('next-build'),
    ]);
    expect(results.every((result) => typeof result.output.teaser === 'string')).toBe(true);

    const traces = await Promise.all(all.map(traceOf));
    const pinned = [VersioningBehavior.VERSIONING_BEHAVIOR_PINNED];
    expect(traces.slice(0, IN_FLIGHT)).toEqual(Array(IN_FLIGHT).fill({ identities: ['build-A'], buildIds: ['A'], behaviors: pinned }));
    expect(traces.slice(IN_FLIGHT)).toEqual(Array(AFTER_DEPLOY).fill({ identities: ['build-B'], buildIds: ['B'], behaviors: pinned }));

    // The change is truly incompatible: B's code cannot replay a run A started, which A's code replays cleanly.
    const history = await inFlight[0].fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle(), sinks: runSinks() }, history, inFlight[0].workflowId),
    ).resolves.toBeUndefined();
    await expect(Worker.runReplayHistory({ workflowBundle: nextBundle, sinks: runSinks() }, history, inFlight[0].workflowId)).rejects.toThrow(/[Nn]ondetermin/);
  }, 180_000);
});
