import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { startProcess, type ManagedProcess } from '../../src/process/child-process';
import type { PipelineRunInput } from '../../src/pipeline/types';
import { projectRoot } from '../../src/project-root';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { pipelineWorkflow } from '../../workflows';
import { shippedPipeline, testTemporalSettings } from '../helpers/stack';

const PROVIDER_KEY = `sk-live-${randomUUID()}`;

/** A real provider key reaches the provider and nothing else: not workflow input, history, failures or logs. */
describe('provider keys stay secret', () => {
  const temporal = testTemporalSettings('secrets');
  let simulator: RunningSimulator;
  let worker: ManagedProcess;
  let connection: Connection;
  const workerOutput: string[] = [];

  beforeAll(async () => {
    simulator = await startSimulator({ latencyMs: 5 });
    worker = startProcess(
      'worker',
      process.execPath,
      [join(projectRoot(), 'dist', 'worker', 'main.js')],
      {
        PATH: process.env.PATH,
        TEMPORAL_ADDRESS: temporal.address,
        CHORUS_TASK_QUEUE: temporal.taskQueue,
        CHORUS_SIMULATOR_URL: simulator.url,
        // A "real" OpenAI endpoint (the simulator answering under its real wire format) with a key.
        OPENAI_API_KEY: PROVIDER_KEY,
        OPENAI_BASE_URL: `${simulator.url}/openai/v1`,
        CHORUS_LOG_LEVEL: 'debug',
      },
      (line) => workerOutput.push(line),
    );
    connection = await Connection.connect({ address: temporal.address });
  });
  afterAll(async () => {
    await worker?.stop(5000);
    await connection?.close();
    await simulator?.close();
  });

  it('appears in no history, failure or log line, though every OpenAI call carried it', async () => {
    const client = new Client({ connection });
    const runs = await Promise.all(
      ['A normal run', 'A run the provider refuses [[sim:openai:401]]'].map((prompt) =>
        client.workflow.start(pipelineWorkflow, {
          workflowId: `secrets-${randomUUID()}`,
          taskQueue: temporal.taskQueue,
          args: [{ pipeline: shippedPipeline('classic'), input: { prompt } } satisfies PipelineRunInput],
        }),
      ),
    );
    const outcomes = await Promise.all(
      runs.map((run) =>
        run.result().then(
          () => 'completed',
          () => 'failed',
        ),
      ),
    );
    expect(outcomes).toEqual(['completed', 'failed']);

    const openaiCalls = simulator.requests().filter((record) => record.provider === 'openai');
    expect(openaiCalls.length).toBeGreaterThanOrEqual(2);
    expect(openaiCalls.every((record) => record.credentialed)).toBe(true);

    for (const run of runs) {
      const exported = await promisify(execFile)(process.env.CHORUS_TEST_TEMPORAL_CLI!, [
        'workflow',
        'show',
        '--workflow-id',
        run.workflowId,
        '--address',
        temporal.address,
        '--output',
        'json',
      ]);
      expect(exported.stdout).toContain('callProvider');
      expect(exported.stdout).not.toContain(PROVIDER_KEY);
      // Payload bodies are base64 in the export: look inside them too.
      const payloadTexts = [...exported.stdout.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map(([, data]) => Buffer.from(data, 'base64').toString('utf8'));
      expect(payloadTexts.length).toBeGreaterThan(0);
      expect(payloadTexts.filter((text) => text.includes(PROVIDER_KEY))).toEqual([]);
    }
    expect(workerOutput.length).toBeGreaterThan(0);
    expect(workerOutput.filter((line) => line.includes(PROVIDER_KEY))).toEqual([]);
  });
});
