import { Metadata, status } from '@grpc/grpc-js';
import type { INestApplication } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import type request from 'supertest';
import { TEMPORAL_CLIENT } from '../../api/tokens';
import { RunCloseWaits } from '../../api/workflows/run-close-waits';
import { startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { waitFor } from '../helpers/reliability';
import { startTestStack, type TestStack } from '../helpers/stack';

const auth = { 'x-api-key': TEST_API_KEY };

/** What an overloaded Temporal answers (its rate limits, busy workflows): gRPC RESOURCE_EXHAUSTED. */
function overloaded(): Error {
  const details = 'namespace rate limit exceeded';
  return Object.assign(new Error(`8 RESOURCE_EXHAUSTED: ${details}`), { code: status.RESOURCE_EXHAUSTED, details, metadata: new Metadata() });
}

/** Result long-polls: concurrent waiters of one run share one Temporal wait; every API instance answers when the run closes. */
describe('result long-poll, shared waits', () => {
  let stack: TestStack;
  let first: { app: INestApplication; http: ReturnType<typeof request> };
  let second: { app: INestApplication; http: ReturnType<typeof request> };

  beforeAll(async () => {
    stack = await startTestStack('shared-long-poll', { latencyMs: 5 });
    first = await startApiApp(stack.temporal);
    second = await startApiApp(stack.temporal);
  });
  afterAll(async () => {
    await first?.app.close();
    await second?.app.close();
    await stack?.close();
  });

  const start = async (prompt: string) =>
    (await first.http.post('/v1/workflows').set(auth).send({ pipeline: 'classic', input: { prompt } }).expect(202)).body as {
      workflowId: string;
      runId: string;
    };
  const result = (api: typeof first, workflowId: string, waitSeconds: number) =>
    api.http.get(`/v1/workflows/${workflowId}/result?waitSeconds=${waitSeconds}`).set(auth);

  /** The history long-polls (waiting for the close event) an API instance has sent for a run. */
  function countCloseWaits(api: typeof first, workflowId: string): () => number {
    const service = api.app.get<Client>(TEMPORAL_CLIENT).workflowService;
    const send = service.getWorkflowExecutionHistory.bind(service);
    let count = 0;
    jest.spyOn(service, 'getWorkflowExecutionHistory').mockImplementation(((req: Parameters<typeof send>[0]) => {
      if (req.waitNewEvent && req.execution?.workflowId === workflowId) count++;
      return send(req);
    }) as typeof send);
    return () => count;
  }
  afterEach(() => jest.restoreAllMocks());

  it('answers 5 concurrent waiters of one run through one Temporal wait, each with the closed run', async () => {
    const { workflowId, runId } = await start('Held [[sim:openai,latency=20000]]');
    const waits = countCloseWaits(first, workflowId);
    const closes = first.app.get(RunCloseWaits);
    const answers = Array.from({ length: 5 }, () => result(first, workflowId, 20).then((response) => response));
    await waitFor('all five to wait', () => closes.waitingFor(runId) === 5, 10_000, 50);
    expect(closes.openWaits).toBe(1);
    await stack.client.workflow.getHandle(workflowId).terminate('closed by the test');
    const responses = await Promise.all(answers);
    expect(responses.map((response) => [response.status, response.body.status])).toEqual(Array.from({ length: 5 }, () => [200, 'TERMINATED']));
    expect(waits()).toBe(1);
    expect(closes.openWaits).toBe(0);
  });

  it('answers a waiter on each of two API instances with the completed result once the run closes', async () => {
    const { workflowId } = await start('Soon done [[sim:openai,latency=1500]]');
    const [onFirst, onSecond] = await Promise.all([result(first, workflowId, 25), result(second, workflowId, 25)]);
    expect(onFirst.status).toBe(200);
    expect(onSecond.status).toBe(200);
    expect(onFirst.body).toMatchObject({ workflowId, status: 'COMPLETED' });
    expect(onSecond.body.result).toEqual(onFirst.body.result);
    expect(onFirst.body.result.output.draft).toContain('Soon done');
  });

  it('holds each waiter to its own waitSeconds when waits of one run share a Temporal wait', async () => {
    const { workflowId } = await start('Held again [[sim:openai,latency=20000]]');
    const startedAt = Date.now();
    const longer = result(first, workflowId, 4).then((response) => ({ response, afterMs: Date.now() - startedAt }));
    const shorter = result(first, workflowId, 1).then((response) => ({ response, afterMs: Date.now() - startedAt }));
    const short = await shorter;
    expect(short.response.status).toBe(202);
    expect(short.response.body.status).toBe('RUNNING');
    expect(short.afterMs).toBeGreaterThanOrEqual(1000);
    const long = await longer;
    expect(long.response.status).toBe(202);
    expect(long.afterMs).toBeGreaterThanOrEqual(4000);
    await stack.client.workflow.getHandle(workflowId).terminate('closed by the test');
  });

  it('answers 200 TERMINATED to every waiter when Temporal refuses their waits as the runs are terminated at once', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => start(`Held for the burst ${i} [[sim:openai,latency=20000]]`)));
    const held = new Set(runs.map(({ workflowId }) => workflowId));
    // What the dev server answered some close waits while 200 runs were terminated at once (bench
    // memory scenario): RESOURCE_EXHAUSTED once the run had closed, instead of its close event.
    const service = first.app.get<Client>(TEMPORAL_CLIENT).workflowService;
    const send = service.getWorkflowExecutionHistory.bind(service);
    jest.spyOn(service, 'getWorkflowExecutionHistory').mockImplementation((async (req: Parameters<typeof send>[0]) => {
      const answer = await send(req);
      if (!req.waitNewEvent || !held.has(req.execution?.workflowId ?? '')) return answer;
      throw overloaded();
    }) as typeof send);
    const closes = first.app.get(RunCloseWaits);
    const answers = runs.map(({ workflowId }) => result(first, workflowId, 20).then((response) => response));
    await waitFor('every run to be waited for', () => runs.every(({ runId }) => closes.waitingFor(runId) === 1), 10_000, 50);
    await Promise.all(runs.map(({ workflowId }) => stack.client.workflow.getHandle(workflowId).terminate('closed by the test, all at once')));
    const responses = await Promise.all(answers);
    expect(responses.map((response) => [response.status, response.body.status])).toEqual(runs.map(() => [200, 'TERMINATED']));
  });

  it('answers a terminated run started elsewhere 200 TERMINATED, steps null, when Temporal refuses to read its input', async () => {
    const { workflowId } = await start('Held, read elsewhere [[sim:openai,latency=20000]]');
    await waitFor(
      'its first decision',
      async () => Number((await stack.client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.historyLength) > 3,
      10_000,
      50,
    );
    await stack.client.workflow.getHandle(workflowId).terminate('closed by the test');
    // The second instance did not start the run, so its progress needs the run's input from history.
    const service = second.app.get<Client>(TEMPORAL_CLIENT).workflowService;
    const send = service.getWorkflowExecutionHistory.bind(service);
    jest
      .spyOn(service, 'getWorkflowExecutionHistory')
      .mockImplementation(((req: Parameters<typeof send>[0]) => (req.waitNewEvent ? send(req) : Promise.reject(overloaded()))) as typeof send);
    const response = await result(second, workflowId, 5);
    expect([response.status, response.body.status, response.body.steps]).toEqual([200, 'TERMINATED', null]);
  });

  it('answers 503 naming an overloaded Temporal when it refuses the describe itself', async () => {
    const { workflowId } = await start('Held, describe refused [[sim:openai,latency=20000]]');
    const service = first.app.get<Client>(TEMPORAL_CLIENT).workflowService;
    const describe = service.describeWorkflowExecution.bind(service);
    jest
      .spyOn(service, 'describeWorkflowExecution')
      .mockImplementation(((_req: Parameters<typeof describe>[0]) => Promise.reject(overloaded())) as typeof describe);
    const response = await first.http.get(`/v1/workflows/${workflowId}`).set(auth);
    expect([response.status, response.body.detail]).toEqual([503, 'Temporal is overloaded; retry shortly']);
    jest.restoreAllMocks();
    await stack.client.workflow.getHandle(workflowId).terminate('closed by the test');
  });

  it('still answers 400 naming waitSeconds above the limit, before any wait', async () => {
    const response = await result(first, 'some-id', 31).expect(400);
    expect(response.body.errors).toEqual([expect.objectContaining({ field: 'waitSeconds' })]);
  });
});
