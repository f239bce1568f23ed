import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Connection, WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { httpOk, startProcess, type ManagedProcess } from '../../src/process/child-process';
import type { Env } from '../../src/config/env';
import { FailureType } from '../../src/pipeline/failures';
import type {
  ExecutionMode,
  PipelineDefinition,
  PipelineFailureDetails,
  PipelineResult,
  PipelineRunInput,
  ProviderStep,
  StepRetryPolicy,
  StepTimeouts,
} from '../../src/pipeline/types';
import { freeLoopbackPort } from '../../src/observability/metrics-server';
import { projectRoot } from '../../src/project-root';
import { devServerArgs } from '../../src/temporal/dev-server';
import type { SimulatorRequestRecord } from '../../simulator/server';
import { pipelineWorkflow } from '../../workflows';
import { shippedPipeline } from './stack';
import { sleep, waitFor } from './wait';

export const WORKER_ENTRY = join(projectRoot(), 'dist', 'worker', 'main.js');
export const API_ENTRY = join(projectRoot(), 'dist', 'api', 'main.js');
export const SIMULATOR_ENTRY = join(projectRoot(), 'dist', 'simulator', 'main.js');

export function requireBuilt(...entries: string[]): void {
  for (const entry of entries) if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first (npm test does)`);
}

/** A free TCP port on 127.0.0.1 (released before it is returned; good enough for tests). */
export { freeLoopbackPort as freePort } from '../../src/observability/metrics-server';
export { sleep, waitFor } from './wait';

/** The execution modes, for `describe.each` over a reliability test whose proof depends on where provider calls run. */
export const EXECUTION_MODES: readonly ExecutionMode[] = ['remote', 'local'];

/**
 * A shipped pipeline with every step's timeouts and retry policy overridden (e.g. short heartbeats so
 * a dead worker is noticed fast), run in `execution` mode when given (a heartbeat then only matters remote).
 */
export function tunedPipeline(name: string, overrides: { timeout?: StepTimeouts; retry?: StepRetryPolicy; execution?: ExecutionMode }): PipelineDefinition {
  const pipeline = shippedPipeline(name);
  return {
    ...pipeline,
    ...(overrides.execution ? { execution: overrides.execution } : {}),
    steps: pipeline.steps.map((step) => {
      const provider = step as ProviderStep;
      return { ...provider, timeout: { ...provider.timeout, ...overrides.timeout }, retry: { ...provider.retry, ...overrides.retry } };
    }),
  };
}

/** Every child process a test file starts, so afterAll can stop them all even when a test failed half-way. */
export class ProcessPool {
  readonly processes: ManagedProcess[] = [];
  readonly logs = new Map<string, string[]>();

  start(name: string, command: string, args: string[], env: Env): ManagedProcess {
    const lines: string[] = [];
    this.logs.set(name, lines);
    const managed = startProcess(name, command, args, env, (line) => lines.push(line));
    this.processes.push(managed);
    return managed;
  }

  /** The last lines a process printed, for failure messages. */
  tail(name: string, count = 20): string {
    return (this.logs.get(name) ?? []).slice(-count).join('\n');
  }

  async stopAll(graceMs = 2000): Promise<void> {
    await Promise.all(this.processes.map((managed) => managed.stop(graceMs)));
  }
}

/** Asks the frontend something that needs its persistence: true once the server serves the default namespace. */
async function serving(address: string): Promise<boolean> {
  const probe = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await probe.withDeadline(Date.now() + 2000, () => probe.workflowService.describeNamespace({ namespace: 'default' }));
    return true;
  } finally {
    await probe.close();
  }
}

/**
 * A Temporal dev server of a test's own (the same CLI and arguments as `npm start`), on a free port
 * and a SQLite file in `dataDir`, that the test kills and starts again on the same port and file.
 */
export class OwnTemporalServer {
  private server: ManagedProcess | undefined;

  private constructor(
    private readonly pool: ProcessPool,
    readonly address: string,
    private readonly args: string[],
  ) {}

  static async create(pool: ProcessPool, dataDir: string): Promise<OwnTemporalServer> {
    const port = await freeLoopbackPort();
    const args = devServerArgs({ ip: '127.0.0.1', port, uiPort: await freeLoopbackPort(), dbFilename: join(dataDir, 'temporal.db') });
    return new OwnTemporalServer(pool, `127.0.0.1:${port}`, args);
  }

  /** Starts the server and waits until it serves. */
  async start(): Promise<void> {
    const cli = process.env.CHORUS_TEST_TEMPORAL_CLI;
    if (!cli) throw new Error('CHORUS_TEST_TEMPORAL_CLI is not set: run the tests through jest (global setup finds the CLI)');
    const name = `temporal-${this.pool.processes.length + 1}`;
    this.server = this.pool.start(name, cli, this.args, { PATH: process.env.PATH, HOME: process.env.HOME });
    await waitFor(`${name} to serve on ${this.address}`, () => serving(this.address), 30_000, 250).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.pool.tail(name)}`);
    });
  }

  /**
   * Stops the server with `signal` (SIGKILL if it is still up after 15 s), runs `whileDown`, keeps it
   * down a second more while provider calls answer, and starts it again; says what happened.
   */
  async restart(signal: 'SIGKILL' | 'SIGTERM', whileDown?: () => void): Promise<string> {
    const stoppedAt = Date.now();
    const dying = this.server!;
    dying.child.kill(signal);
    const exit = await Promise.race([dying.exited, sleep(15_000).then(() => dying.stop(0).then(() => 'SIGKILL after 15 s'))]);
    whileDown?.();
    await sleep(1000); // time passing is the point: the server stays down while provider calls answer
    await this.start();
    return `${signal} (exit ${exit}, down ${Date.now() - stoppedAt} ms)`;
  }
}

export interface WorkerProcess {
  process: ManagedProcess;
  /** The identity the worker reports to Temporal (see worker/main.ts). */
  identity: string;
  /** From spawn to polling: the worker bundles workflows/ as it starts. */
  readyMs: number;
}

/** Starts dist/worker/main.js and waits until it has bundled its workflows and begun polling. */
export async function startWorkerProcess(pool: ProcessPool, name: string, env: Env, readyTimeoutMs = 45_000): Promise<WorkerProcess> {
  const spawnedAt = Date.now();
  const managed = pool.start(name, process.execPath, [WORKER_ENTRY], {
    PATH: process.env.PATH,
    CHORUS_WORKER_SHUTDOWN_GRACE_MS: '1000',
    ...env,
  });
  let exited: number | string | undefined;
  void managed.exited.then((code) => (exited = code));
  const polling = () => (pool.logs.get(name) ?? []).some((line) => line.includes('Chorus worker polling'));
  // An exit ends the wait too: a worker that died will never poll.
  await waitFor(`${name} to poll`, () => exited !== undefined || polling(), readyTimeoutMs).catch((error: Error) => {
    throw new Error(`${error.message}\n${pool.tail(name)}`);
  });
  if (exited !== undefined) throw new Error(`${name} exited (${exited}) before polling:\n${pool.tail(name)}`);
  return { process: managed, identity: `chorus-worker-${managed.child.pid}@${hostname()}`, readyMs: Date.now() - spawnedAt };
}

/**
 * The provider simulator in its own process: what it records as a request's arrival then does not
 * wait for this test process's event loop, which is busy starting and auditing runs.
 */
export async function startSimulatorProcess(pool: ProcessPool, env: Env): Promise<{ url: string; requests(): Promise<SimulatorRequestRecord[]> }> {
  const url = `http://127.0.0.1:${await freeLoopbackPort()}`;
  pool.start('simulator', process.execPath, [SIMULATOR_ENTRY], { PATH: process.env.PATH, CHORUS_SIMULATOR_URL: url, ...env });
  await waitFor('the simulator process', () => httpOk(`${url}/healthz`), 15_000);
  return { url, requests: async () => (await fetch(`${url}/_sim/requests`)).json() as Promise<SimulatorRequestRecord[]> };
}

/** Starts `count` runs of `pipeline` at once, IDs `<prefix>-<index>-<uuid>`; resolves to the IDs in index order. */
export async function startPipelineRuns(
  client: Client,
  taskQueue: string,
  runs: { prefix: string; count: number; pipeline: PipelineDefinition; prompt: (index: number) => string },
): Promise<string[]> {
  const ids = Array.from({ length: runs.count }, (_, index) => `${runs.prefix}-${index}-${randomUUID()}`);
  await Promise.all(
    ids.map((workflowId, index) =>
      client.workflow.start(pipelineWorkflow, {
        workflowId,
        taskQueue,
        args: [{ pipeline: runs.pipeline, input: { prompt: runs.prompt(index) } } satisfies PipelineRunInput],
      }),
    ),
  );
  return ids;
}

export interface WorkerEvent {
  identity: string;
  kind: 'workflowTask' | 'activity';
  /** Epoch ms of the event in the workflow history. */
  at: number;
}

const epochMs = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  time ? Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : 0;

/**
 * When a provider call ended (completed or failed, its last attempt), by the server's clock, and the
 * task queue it ran on: `local` for a local activity, whose marker is written with the workflow task
 * completion after it ended (so its time is later than the call's end, never earlier).
 */
export interface ActivityEnd {
  workflowId: string;
  taskQueue: string;
  /** Epoch ms of the closing event in the workflow history. */
  at: number;
}

export type RunOutcome =
  { status: 'completed'; result: PipelineResult } | { status: 'failed'; type: string; step?: string } | { status: 'lost'; state: string };

export interface RunAudit {
  started: number;
  completed: number;
  /** Failed runs by the type of the step failure that ended them (a FailureType). */
  failedByType: Record<string, number>;
  /** Runs that did not close before the deadline, with the state they were left in. */
  lost: string[];
  /** Runs with more than one execution or close event, or a provider step completed/recorded twice. */
  duplicates: string[];
  /** Failed runs whose type is not one of src/pipeline/failures.ts. */
  untyped: string[];
  /** Provider calls over every run: activities scheduled (remote) and local activities' markers (local). */
  activities: number;
  /** Of `activities`, the local ones. */
  localCalls: number;
  /**
   * Provider-call attempts, summed over every call of every run: remote, the attempts Temporal
   * started; local, the attempts of each marker (counted by the worker, and from 1 again when a
   * workflow task is replayed on another worker, so a crash's repeated calls are not counted here).
   */
  attempts: number;
  /** Who did the work: each completed workflow task, and each activity's last attempt (or local call), with its worker identity and time. */
  workerEvents: WorkerEvent[];
  activityEnds: ActivityEnd[];
  outcomes: Map<string, RunOutcome>;
}

const KNOWN_TYPES = new Set<string>(Object.values(FailureType));

async function outcomeOf(client: Client, workflowId: string, deadline: number): Promise<RunOutcome> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const result = (await client.withDeadline(deadline, () => handle.result())) as PipelineResult;
    return { status: 'completed', result };
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      const cause = error.cause;
      if (cause instanceof ApplicationFailure && cause.type === FailureType.PipelineStepFailed) {
        const details = cause.details?.[0] as PipelineFailureDetails | undefined;
        return { status: 'failed', type: details?.error.type ?? 'PipelineStepFailed', step: details?.step };
      }
      return { status: 'failed', type: cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : (cause?.name ?? 'Error') };
    }
    const state = await handle
      .describe()
      .then((description) => description.status.name)
      .catch((describeError: Error) => `unknown (${describeError.message})`);
    return { status: 'lost', state: `${state} (${(error as Error).message})` };
  }
}

/**
 * A local activity's marker (Temporal's core writes its data as plain JSON: the call's sequence
 * number in the run, the attempt that ended it, and a backoff when a durable timer comes before the
 * next attempt); undefined for any other marker (e.g. patched()).
 */
function localCallOf(
  marker: { markerName?: string | null; details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> | null } | null | undefined,
) {
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const data = marker.details?.data?.payloads?.[0]?.data;
  if (!data) throw new Error('a local activity marker without its data');
  const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as { seq?: number; attempt?: number; backoff?: unknown };
  return { seq: parsed.seq ?? 0, attempt: parsed.attempt ?? 1, backsOff: parsed.backoff != null };
}

/**
 * Waits (until `deadline`) for every run to close, then checks each one in Temporal:
 * one execution per workflow ID, one close event, each provider call (activity or local activity)
 * completed at most once, and each step recorded once in the result's usage.
 */
export async function auditRuns(client: Client, workflowIds: string[], deadline: number): Promise<RunAudit> {
  const audit: RunAudit = {
    started: workflowIds.length,
    completed: 0,
    failedByType: {},
    lost: [],
    duplicates: [],
    untyped: [],
    activities: 0,
    localCalls: 0,
    attempts: 0,
    workerEvents: [],
    activityEnds: [],
    outcomes: new Map(),
  };
  const outcomes = await Promise.all(workflowIds.map(async (id) => [id, await outcomeOf(client, id, deadline)] as const));
  for (const [id, outcome] of outcomes) {
    audit.outcomes.set(id, outcome);
    if (outcome.status === 'completed') audit.completed += 1;
    else if (outcome.status === 'failed') {
      audit.failedByType[outcome.type] = (audit.failedByType[outcome.type] ?? 0) + 1;
      if (!KNOWN_TYPES.has(outcome.type)) audit.untyped.push(id);
    } else audit.lost.push(`${id}: ${outcome.state}`);
  }

  // Histories, a few at a time: the dev server and this machine are small.
  const queue = [...workflowIds];
  const inspect = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const handle = client.workflow.getHandle(id);
      const executions: string[] = [];
      for await (const info of client.workflow.list({ query: `WorkflowId = '${id}'` })) executions.push(info.runId);
      const history = await handle.fetchHistory();
      const activityIdByEvent = new Map<string, string>();
      const taskQueueByEvent = new Map<string, string>();
      const completedPerActivity = new Map<string, number>();
      let closeEvents = 0;
      // A local call's marker is a command of the workflow task completed just before it, in the worker that made the call.
      let lastWorkflowTaskBy = '?';
      for (const event of history.events ?? []) {
        const eventId = String(event.eventId);
        if (event.activityTaskScheduledEventAttributes) {
          audit.activities += 1;
          activityIdByEvent.set(eventId, event.activityTaskScheduledEventAttributes.activityId ?? '?');
          taskQueueByEvent.set(eventId, event.activityTaskScheduledEventAttributes.taskQueue?.name ?? '?');
        }
        const started = event.activityTaskStartedEventAttributes;
        if (started) {
          // Temporal records only an activity's last attempt, numbered: its number counts the attempts before it.
          audit.attempts += started.attempt ?? 1;
          audit.workerEvents.push({ identity: started.identity ?? '?', kind: 'activity', at: epochMs(event.eventTime) });
        }
        const local = localCallOf(event.markerRecordedEventAttributes);
        // A marker with a backoff ends a segment of a call that goes on after a durable timer, its attempts numbered on.
        if (local && !local.backsOff) {
          audit.activities += 1;
          audit.localCalls += 1;
          audit.attempts += local.attempt;
          audit.activityEnds.push({ workflowId: id, taskQueue: 'local', at: epochMs(event.eventTime) });
          audit.workerEvents.push({ identity: lastWorkflowTaskBy, kind: 'activity', at: epochMs(event.eventTime) });
          // Recorded twice for one call (its sequence number in the run) would be a call whose answer the run took twice.
          const callId = `local:${local.seq}`;
          completedPerActivity.set(callId, (completedPerActivity.get(callId) ?? 0) + 1);
        }
        const workflowTask = event.workflowTaskCompletedEventAttributes;
        if (workflowTask) {
          lastWorkflowTaskBy = workflowTask.identity ?? '?';
          audit.workerEvents.push({ identity: lastWorkflowTaskBy, kind: 'workflowTask', at: epochMs(event.eventTime) });
        }
        const ended = event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes;
        if (ended) {
          audit.activityEnds.push({ workflowId: id, taskQueue: taskQueueByEvent.get(String(ended.scheduledEventId)) ?? '?', at: epochMs(event.eventTime) });
        }
        const completed = event.activityTaskCompletedEventAttributes;
        if (completed) {
          const activityId = activityIdByEvent.get(String(completed.scheduledEventId)) ?? '?';
          completedPerActivity.set(activityId, (completedPerActivity.get(activityId) ?? 0) + 1);
        }
        if (
          event.workflowExecutionCompletedEventAttributes ||
          event.workflowExecutionFailedEventAttributes ||
          event.workflowExecutionTimedOutEventAttributes ||
          event.workflowExecutionTerminatedEventAttributes ||
          event.workflowExecutionCanceledEventAttributes
        )
          closeEvents += 1;
      }
      const outcome = audit.outcomes.get(id)!;
      const recordedSteps = outcome.status === 'completed' ? outcome.result.usage.steps.map((step) => step.step) : [];
      const twiceRecorded = recordedSteps.length !== new Set(recordedSteps).size;
      const twiceCompleted = [...completedPerActivity.values()].some((count) => count > 1);
      if (executions.length > 1 || closeEvents > 1 || twiceRecorded || twiceCompleted) audit.duplicates.push(id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, inspect));
  return audit;
}

/** One line of what a reliability test measured. */
export function describeAudit(name: string, audit: RunAudit, extra: Record<string, unknown> = {}): string {
  const failed = Object.entries(audit.failedByType)
    .map(([type, count]) => `${type}=${count}`)
    .join(' ');
  const fields = [
    `started ${audit.started}`,
    `completed ${audit.completed}`,
    `failed ${Object.values(audit.failedByType).reduce((sum, count) => sum + count, 0)}${failed ? ` (${failed})` : ''}`,
    `lost ${audit.lost.length}`,
    `duplicates ${audit.duplicates.length}`,
    ...Object.entries(extra).map(([key, value]) => `${key} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`),
  ];
  return `${name}: ${fields.join(', ')}`;
}
