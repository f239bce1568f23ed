import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { PipelineDefinition, PipelineRunInput, ProviderStep, StepResult } from '../../src/pipeline/types';
import { startProcess, type ManagedProcess } from '../../src/process/child-process';
import { projectRoot } from '../../src/project-root';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { pipelineWorkflow } from '../../workflows';
import { shippedPipeline, testTemporalSettings } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

const WORKER_ENTRY = join(projectRoot(), 'dist', 'worker', 'main.js');
const PIPELINES = 5;

/** A worker process is killed with SIGKILL while provider calls are in flight; a new one finishes every run. */
// Remote only: worker-crash-modes kills a worker mid-pipeline in both modes and counts the provider calls each repeats.
describe('worker crash', () => {
  let simulator: RunningSimulator;
  let connection: Connection;
  const workers: ManagedProcess[] = [];
  const temporal = testTemporalSettings('worker-crash');

  beforeAll(async () => {
    if (!existsSync(WORKER_ENTRY)) throw new Error(`${WORKER_ENTRY} is missing: run \`npm run build\` first (npm test does)`);
    simulator = await startSimulator({ latencyMs: 5 });
    connection = await Connection.connect({ address: temporal.address });
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop(2000)));
    await connection?.close();
    await simulator?.close();
  });

  const startWorker = () => {
    const logs: string[] = [];
    const worker = startProcess(
      `worker-${workers.length + 1}`,
      process.execPath,
      [WORKER_ENTRY],
      { PATH: process.env.PATH, TEMPORAL_ADDRESS: temporal.address, CHORUS_TASK_QUEUE: temporal.taskQueue, CHORUS_SIMULATOR_URL: simulator.url },
      (line) => logs.push(line),
    );
    workers.push(worker);
    return worker;
  };

  it('completes every pipeline exactly once after the worker running them is killed', async () => {
    // Heartbeats every ~0.7 s: a dead worker's attempts are retried ~2 s after the kill.
    const pipeline: PipelineDefinition = {
      ...shippedPipeline('classic'),
      steps: shippedPipeline('classic').steps.map((step) => ({ ...(step as ProviderStep), timeout: { ...(step as ProviderStep).timeout, heartbeat: '2s' } })),
    };
    const client = new Client({ connection });
    const first = startWorker();
    const handles = await Promise.all(
      Array.from({ length: PIPELINES }, (_, index) =>
        client.workflow.start(pipelineWorkflow, {
          workflowId: `crash-${index}-${randomUUID()}`,
          taskQueue: temporal.taskQueue,
          args: [{ pipeline, input: { prompt: `Crash-proof job ${index} [[sim:openai,latency=4000]]` } } satisfies PipelineRunInput],
        }),
      ),
    );

    const draftsInFlight = () => simulator.requests().filter((record) => record.provider === 'openai').length;
    await waitFor(`${PIPELINES} drafts to start`, draftsInFlight, { timeoutMs: 30_000, until: (started) => started >= PIPELINES });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    startWorker();
    const results = await Promise.all(handles.map((handle) => handle.result()));

    const openaiCalls = simulator.requests().filter((record) => record.provider === 'openai');
    console.log(`worker crash: started ${PIPELINES}, completed ${results.length}, draft calls ${openaiCalls.length}`);
    for (const [index, result] of results.entries()) {
      expect(result.output.draft).toContain(`Crash-proof job ${index}`);
      // The attempt that died with the first worker was retried on the second.
      expect((result.steps.draft as StepResult).attempt).toBe(2);
      expect(result.output.sentiment).toBeDefined();
    }
    // Each run recorded one result per step and made exactly one summary and sentiment call.
    expect(simulator.requests().filter((record) => record.provider === 'cohere')).toHaveLength(PIPELINES);
    expect(simulator.requests().filter((record) => record.provider === 'gemini')).toHaveLength(PIPELINES);
    const closed = await Promise.all(handles.map(async (handle) => (await handle.describe()).status.name));
    expect(closed).toEqual(Array(PIPELINES).fill('COMPLETED'));
  });
});
