import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import axios from 'axios';
import { createActivities } from '../../activities';
import type { ProviderSettings } from '../config/providers';
import { temporalConnectionOptions, type TemporalSettings } from '../config/temporal';
import type { WorkerSettings } from '../config/worker';

export interface ChorusWorkerOptions {
  temporal: TemporalSettings;
  providers: ProviderSettings;
  worker: WorkerSettings;
  /** Prebuilt workflow bundle (tests reuse one); the worker bundles `workflows/` itself when absent. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** An existing connection (tests); one is opened from `temporal` when absent. */
  connection?: NativeConnection;
  identity?: string;
  /** Payload codecs (encryption) and failure conversion; must match the API's client. */
  dataConverter?: DataConverter;
}

export const WORKFLOWS_PATH = require.resolve('../../workflows');

/** Provider calls reuse connections: a fresh TLS handshake per call would dominate short answers. */
export function createProviderHttpClient() {
  return axios.create({
    httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new HttpsAgent({ keepAlive: true }),
    maxContentLength: 20 * 1024 * 1024,
    // Temporal is the only retry loop; a non-2xx must surface as an error to classify.
    validateStatus: (status) => status >= 200 && status < 300,
  });
}

export async function createChorusWorker(options: ChorusWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection; ownsConnection: boolean }> {
  const ownsConnection = !options.connection;
  const connection = options.connection ?? (await NativeConnection.connect(temporalConnectionOptions(options.temporal)));
  const worker = await Worker.create({
    connection,
    namespace: options.temporal.namespace,
    taskQueue: options.temporal.taskQueue,
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ http: createProviderHttpClient(), providers: options.providers }),
    maxConcurrentActivityTaskExecutions: options.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: options.worker.maxConcurrentWorkflowTasks,
    shutdownGraceTime: options.worker.shutdownGraceMs,
  });
  return { worker, connection, ownsConnection };
}
