import { createHook } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { WorkflowHandle } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { PipelineDefinition, PipelineRunInput, ProviderStep } from '../../src/pipeline/types';
import { startSimulator, type SimulatorRequestRecord } from '../../simulator/server';
import { pipelineWorkflow } from '../../workflows';
import { waitFor } from '../helpers/wait';
import { simulatedProviders, startTestStack, type TestStack } from '../helpers/stack';

/** The step's heartbeat timeout: a closed run's calls must stop within about this long. */
const HEARTBEAT_MS = 1000;
/** Far longer than any test waits: an answer that arrives at all arrives after its run closed. */
const PROVIDER_LATENCY_MS = 15_000;

const slowCall = (id: string): ProviderStep => ({
  id,
  provider: 'openai',
  task: 'generate',
  prompt: `Write at length about ${id}. [[sim:latency=${PROVIDER_LATENCY_MS}]]`,
  timeout: { heartbeat: `${HEARTBEAT_MS}ms`, startToClose: '60s' },
  retry: { maximumAttempts: 1 },
});

/**
 * A run that closes while its provider call is in flight (terminated, failed, cancelled, timed
 * out) stops that call: the provider request is aborted within about one heartbeat interval, and
 * no request of the run is answered after it closed. Real Temporal, real worker, real simulator.
 */
describe('provider calls of a run that has closed', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack('closed-run-calls', {}, { requestTimeoutMs: 30_000 });
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.simulator.clearRequests());

  const start = (pipeline: PipelineDefinition, options: { workflowExecutionTimeout?: Duration } = {}) =>
    stack.client.workflow.start(pipelineWorkflow, {
      workflowId: `closed-run-${randomUUID()}`,
      taskQueue: stack.temporal.taskQueue,
      args: [{ pipeline, input: {} } satisfies PipelineRunInput],
      ...options,
    });
  const slowRequests = () => stack.simulator.requests().filter((record) => record.provider === 'openai');
  const inFlight = () => waitFor('the provider call to be in flight', () => slowRequests().length === 1, 20_000, 20);

  /** When the run closed (server time), once it has. */
  async function closeTimeOf(handle: WorkflowHandle): Promise<number> {
    let closeTime: Date | undefined;
    await waitFor('the run to close', async () => Boolean((closeTime = (await handle.describe()).closeTime)), 20_000, 20);
    return closeTime!.getTime();
  }

  /** The in-flight request was aborted within about a heartbeat interval of the close; nothing answered after it. */
  async function expectStoppedAfter(closedAt: number): Promise<SimulatorRequestRecord> {
    await waitFor('the provider request to be aborted', () => slowRequests()[0].abandonedAt !== undefined, 10_000, 20);
    const [request] = slowRequests();
    // Heartbeats are throttled to 0.8 of the timeout, then one describe: within about one heartbeat interval.
    expect(request.abandonedAt! - closedAt).toBeLessThan(HEARTBEAT_MS + 500);
    expect(stack.simulator.requests().filter((record) => record.answeredAt !== undefined && record.answeredAt > closedAt)).toHaveLength(0);
    return request;
  }

  it('terminated: its provider call is aborted', async () => {
    const handle = await start({ name: 'terminated', steps: [slowCall('draft')] });
    await inFlight();
    await handle.terminate('operator stopped it');
    await expectStoppedAfter(await closeTimeOf(handle));
  });

  it('failed (a parallel sibling failed for good): the slow sibling is aborted', async () => {
    const failing: ProviderStep = { id: 'broken', provider: 'cohere', task: 'generate', prompt: 'Refused. [[sim:401]]', retry: { maximumAttempts: 1 } };
    const handle = await start({ name: 'failed', steps: [{ id: 'both', parallel: [slowCall('draft'), failing] }] });
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('FAILED');
    await expectStoppedAfter(await closeTimeOf(handle));
  });

  it('timed out (workflow execution timeout): its provider call is aborted', async () => {
    const handle = await start({ name: 'timed-out', steps: [slowCall('draft')] }, { workflowExecutionTimeout: '3s' });
    await inFlight();
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('TIMED_OUT');
    await expectStoppedAfter(await closeTimeOf(handle));
  });

  it('cancelled: its provider call is aborted', async () => {
    const handle = await start({ name: 'cancelled', steps: [slowCall('draft')] });
    await inFlight();
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    await expectStoppedAfter(await closeTimeOf(handle));
  });

  it('the simulator keeps no timer for a request its client abandoned (a 15 s latency ended with the request)', async () => {
    const simulator = await startSimulator({ latencyMs: PROVIDER_LATENCY_MS });
    const startedWhileInFlight = new Set<number>();
    let tracking = true;
    const hook = createHook({
      init: (id, type) => tracking && type === 'Timeout' && startedWhileInFlight.add(id),
      destroy: (id) => startedWhileInFlight.delete(id),
    }).enable();
    try {
      const call = httpRequest(`${simulatedProviders(simulator.url).endpoints.openai.baseUrl}/chat/completions`, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json' },
      });
      call.on('error', () => undefined);
      call.end(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Take your time.' }] }));
      await waitFor('the request to wait out its latency', () => simulator.requests().length === 1, 10_000, 20);
      tracking = false;
      call.destroy();
      await waitFor('the simulator to see the client go', () => simulator.requests()[0].abandonedAt !== undefined, 10_000, 20);
      await waitFor('the timers started while the request waited to end', () => startedWhileInFlight.size, {
        timeoutMs: 2000,
        intervalMs: 20,
        until: (count) => count === 0,
      });
    } finally {
      hook.disable();
      await simulator.close();
    }
  });
});
