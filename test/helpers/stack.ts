import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { loadProviderSettings, type ProviderSettings } from '../../src/config/providers';
import type { TemporalSettings } from '../../src/config/temporal';
import { loadPipelineDirectory } from '../../src/pipeline/registry';
import type { PipelineDefinition } from '../../src/pipeline/types';
import { projectRoot } from '../../src/project-root';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator/server';
import { createChorusWorker, RUN_START_INTERCEPTORS, WORKFLOWS_PATH, type ChorusWorker, type ChorusWorkerOptions } from '../../worker/worker';

export function testTemporalAddress(): string {
  const address = process.env.CHORUS_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('CHORUS_TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (global setup starts Temporal)');
  return address;
}

/** Settings for a test's own task queue, so concurrent test files never steal each other's tasks. */
export function testTemporalSettings(name: string): TemporalSettings {
  return { address: testTemporalAddress(), namespace: 'default', taskQueue: `${name}-${randomUUID()}` };
}

let bundle: Promise<WorkflowBundle> | undefined;
/**
 * The workflow bundle of the sources: webpack takes seconds of CPU, so the first test file of a jest
 * run that asks bundles it into the run's folder (CHORUS_TEST_RUN_DIR, made by the global setup) and
 * every later file reads it from there.
 */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleOncePerRun();
  return bundle;
}

async function bundleOncePerRun(): Promise<WorkflowBundle> {
  const bundleNow = () =>
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: [RUN_START_INTERCEPTORS], logger: Runtime.instance().logger });
  const runDir = process.env.CHORUS_TEST_RUN_DIR;
  if (!runDir) return bundleNow();
  const path = join(runDir, 'workflows.js');
  const cached = await readFile(path, 'utf8').catch(() => undefined);
  if (cached !== undefined) return { code: cached };
  const { code } = await bundleNow();
  // Files running in parallel workers may bundle at the same time: each writes its own file, the rename is atomic.
  const partial = `${path}.${randomUUID()}.partial`;
  await writeFile(partial, code);
  await rename(partial, path);
  return { code };
}

/** Provider settings that send every provider to the given simulator. */
export function simulatedProviders(simulatorUrl: string, overrides: Partial<ProviderSettings> = {}): ProviderSettings {
  return { ...loadProviderSettings({ CHORUS_SIMULATOR_URL: simulatorUrl }), ...overrides };
}

export interface TestStack {
  temporal: TemporalSettings;
  simulator: RunningSimulator;
  providers: ProviderSettings;
  client: Client;
  /** The workflow worker and one activity worker per provider queue, run together. */
  worker: ChorusWorker;
  /** Resolves when the worker has stopped. */
  workerStopped: Promise<void>;
  close(): Promise<void>;
}

/** Real Temporal + real simulator + an in-process Chorus worker on a fresh task queue. */
export async function startTestStack(
  name: string,
  simulatorOptions: SimulatorOptions = {},
  /** Or settings made from the simulator's URL, e.g. configured instances the simulator serves under /compat/<name>. */
  providerOverrides: Partial<ProviderSettings> | ((simulatorUrl: string) => Partial<ProviderSettings>) = {},
  workerOptions: Pick<ChorusWorkerOptions, 'webhooks' | 'tokens'> & { settings?: Partial<ChorusWorkerOptions['worker']> } = {},
): Promise<TestStack> {
  const { settings, ...options } = workerOptions;
  const temporal = testTemporalSettings(name);
  const simulator = await startSimulator(simulatorOptions);
  const providers = simulatedProviders(simulator.url, typeof providerOverrides === 'function' ? providerOverrides(simulator.url) : providerOverrides);
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const { worker } = await createChorusWorker({
    temporal,
    providers,
    worker: { maxConcurrentActivities: 100, maxConcurrentWorkflowTasks: 20, shutdownGraceMs: 1000, ...settings },
    workflowBundle: await workflowBundle(),
    connection: nativeConnection,
    ...options,
  });
  const workerStopped = worker.run();
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  return {
    temporal,
    simulator,
    providers,
    client,
    worker,
    workerStopped,
    async close() {
      worker.shutdown();
      await workerStopped;
      await Promise.all([connection.close(), nativeConnection.close(), simulator.close()]);
    },
  };
}

/** The named pipelines shipped in `pipelines/`, loaded as the API loads them. */
export function shippedPipeline(name: string): PipelineDefinition {
  const pipeline = loadPipelineDirectory(join(projectRoot(), 'pipelines')).get(name);
  if (!pipeline) throw new Error(`pipelines/ has no pipeline "${name}"`);
  return pipeline;
}
