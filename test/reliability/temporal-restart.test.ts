import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { ExecutionMode, PipelineRunInput, StepResult } from '../../src/pipeline/types';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { createChorusWorker, type ChorusWorker } from '../../worker/worker';
import { pipelineWorkflow } from '../../workflows';
import { auditRuns, describeAudit, OwnTemporalServer, ProcessPool, tunedPipeline, waitFor } from '../helpers/reliability';
import { simulatedProviders, workflowBundle } from '../helpers/stack';

const PIPELINES = 20;
const STEP_LATENCY_MS = 3000;

/**
 * Chorus's own Temporal dev server (same CLI and arguments as `npm start`) is killed mid-run and
 * started again on the same port and SQLite file: the in-process worker and the client reconnect
 * by themselves, every run completes exactly once, and no provider is called twice for one step:
 * remote, a retry Temporal schedules takes the answer the worker already had; local, so does the
 * local activity a replayed workflow task runs again.
 */
describe.each<ExecutionMode>(['remote', 'local'])('Temporal server restart, %s execution', (execution) => {
  const pool = new ProcessPool();
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-temporal-restart-'));
  const taskQueue = `temporal-restart-${execution}-${randomUUID()}`;
  let server: OwnTemporalServer;
  let address: string;
  let simulator: RunningSimulator;
  let nativeConnection: NativeConnection | undefined;
  let connection: Connection | undefined;
  let worker: ChorusWorker | undefined;
  let workerRun: Promise<void> | undefined;
  let workerError: Error | undefined;

  beforeAll(async () => {
    server = await OwnTemporalServer.create(pool, dataDir);
    address = server.address;
    simulator = await startSimulator({ latencyMs: 5 });
  });
  afterAll(async () => {
    worker?.shutdown();
    await workerRun?.catch(() => undefined);
    await nativeConnection?.close().catch(() => undefined);
    await connection?.close();
    await pool.stopAll();
    await simulator?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('completes every run after the server is killed twice mid-run (SIGKILL, then SIGTERM)', async () => {
    await server.start();
    nativeConnection = await NativeConnection.connect({ address });
    ({ worker } = await createChorusWorker({
      temporal: { address, namespace: 'default', taskQueue },
      providers: simulatedProviders(simulator.url),
      worker: { maxConcurrentActivities: 100, maxConcurrentWorkflowTasks: 20, shutdownGraceMs: 1000 },
      workflowBundle: await workflowBundle(),
      connection: nativeConnection,
    }));
    workerRun = worker.run().catch((error: Error) => {
      workerError = error;
    });
    connection = await Connection.connect({ address });
    const client = new Client({ connection });

    const pipeline = { ...tunedPipeline('classic', { timeout: { heartbeat: '2s' }, retry: { initialInterval: '500ms' } }), execution };
    const ids = Array.from({ length: PIPELINES }, (_, index) => `temporal-restart-${index}-${randomUUID()}`);
    const startRun = (workflowId: string, index: number) =>
      client.workflow.start(pipelineWorkflow, {
        workflowId,
        taskQueue,
        args: [
          {
            pipeline,
            input: { prompt: `Outage-proof job ${index} [[sim:openai,latency=${STEP_LATENCY_MS}]] [[sim:cohere,latency=${STEP_LATENCY_MS}]]` },
          } satisfies PipelineRunInput,
        ],
      });
    await Promise.all(ids.map(startRun));
    // Result long-polls stay open across both outages: the client must reconnect under them.
    const pollErrors: string[] = [];
    const longPolls = Promise.all(
      ids.map((id) =>
        client.workflow
          .getHandle(id)
          .result()
          .catch((error: Error) => pollErrors.push(`${id}: ${error.message}`)),
      ),
    );
    const sent = (provider: string) => simulator.requests().filter((record) => record.provider === provider).length;
    const restarts: string[] = [];
    let startedDuringOutage: Promise<unknown> | undefined;
    const restart = async (signal: 'SIGKILL' | 'SIGTERM', phase: string, whileDown?: () => void) => {
      restarts.push(`during ${phase}: ${await server.restart(signal, whileDown)}`);
    };

    // First outage: the server dies hard while draft calls are in flight at the provider.
    await waitFor(`${PIPELINES} drafts to reach the simulator`, () => sent('openai') >= PIPELINES, 30_000);
    // A run started while the server is down: the client's start is retried until the server is back.
    const lateId = `temporal-restart-${PIPELINES}-${randomUUID()}`;
    await restart('SIGKILL', 'drafts', () => {
      startedDuringOutage = startRun(lateId, PIPELINES);
    });
    await startedDuringOutage;
    ids.push(lateId);
    // Second outage: a graceful stop while summaries are in flight.
    await waitFor(`${PIPELINES} summaries to reach the simulator`, () => sent('cohere') >= PIPELINES, 45_000);
    await restart('SIGTERM', 'summaries');

    const audit = await auditRuns(client, ids, Date.now() + 60_000);
    await longPolls;
    const requests = simulator.requests();
    const byProvider = (provider: string) => requests.filter((record) => record.provider === provider).length;
    console.log(
      describeAudit('Temporal server restart', audit, {
        restarts: restarts.join('; '),
        'provider calls': `openai=${byProvider('openai')} cohere=${byProvider('cohere')} gemini=${byProvider('gemini')}`,
        'activity attempts': audit.attempts,
        'long-polls across outages failed': pollErrors.length,
        'in-process worker': workerError ? `failed: ${workerError.message}` : `still ${worker.getState()}`,
      }),
    );

    expect(workerError).toBeUndefined();
    expect(pollErrors).toEqual([]);
    expect(audit.lost).toEqual([]);
    expect(audit.duplicates).toEqual([]);
    expect(audit.completed).toBe(PIPELINES + 1);
    for (const [index, id] of ids.entries()) {
      const outcome = audit.outcomes.get(id)!;
      if (outcome.status !== 'completed') throw new Error(`${id} ended ${outcome.status}`);
      expect(outcome.result.output.draft).toContain(`Outage-proof job ${index}`);
      expect(outcome.result.output.sentiment).toBeDefined();
    }
    // Temporal gave up attempts whose answers came while it was down and scheduled them again, but
    // each provider was called once per run: the retries took the answers the worker already had.
    const completed = [...audit.outcomes.values()].flatMap((outcome) => (outcome.status === 'completed' ? [outcome.result] : []));
    const attemptsOf = (step: string) => completed.reduce((sum, result) => sum + (result.steps[step] as StepResult).attempt, 0);
    // A replayed local activity starts again at attempt 1: only remote attempts count the outages.
    if (execution === 'remote') expect(attemptsOf('draft') + attemptsOf('summary')).toBeGreaterThan(2 * (PIPELINES + 1));
    // Local too: a call the worker had in flight when it dropped the run's workflow task (its
    // completion failed while the server was down) goes on, and the replayed local activity takes its answer.
    expect(byProvider('openai')).toBe(PIPELINES + 1);
    expect(byProvider('cohere')).toBe(PIPELINES + 1);
    expect(byProvider('gemini')).toBe(PIPELINES + 1);
  }, 150_000);
});
