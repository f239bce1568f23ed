import type { INestApplication } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import type request from 'supertest';
import type { RunView } from '../../src/contract/api';
import { DEFAULT_PRICES, priceOf } from '../../src/config/prices';
import { worstCase } from '../../src/pipeline/budget';
import { FailureType } from '../../src/pipeline/failures';
import type { PipelineDefinition } from '../../src/pipeline/types';
import { startApiApp, TEST_API_KEY } from '../helpers/api-app';
import {
  ProcessPool,
  requireBuilt,
  SIMULATOR_ENTRY,
  startSimulatorProcess,
  startWorkerProcess,
  WORKER_ENTRY,
  type WorkerProcess,
} from '../helpers/reliability';
import { testTemporalSettings } from '../helpers/stack';

const auth = { 'x-api-key': TEST_API_KEY };
const WORKERS = 3;
const ITEMS = 50;
/** The budget covers about this many items at what one item really costs. */
const COVERED = 20;

/** A map over the input's items, each summarized by OpenAI within 80 output tokens. */
function fanOut(budget?: PipelineDefinition['budget']): PipelineDefinition {
  return {
    name: 'budgeted-fan-out',
    steps: [
      {
        id: 'each',
        map: { over: 'input.items', concurrency: 8, step: { provider: 'openai', task: 'summarize', prompt: 'Summarize: {{item}}', maxOutputTokens: 80 } },
      },
    ],
    ...(budget ? { budget } : {}),
  };
}

const done = (view: RunView) => view.steps?.find((step) => step.id === 'each')?.items?.done;
const items = (count: number) => Array.from({ length: count }, (_, index) => `Report ${index}: the queue kept every job. Nothing was lost.`);

/**
 * Run budgets hold where spending is hardest to hold: a map's fan-out, run by three worker
 * processes. Every call reserves its worst case in the run's own ledger (workflow state) before it
 * is scheduled, so the run spends at most its budget, and the items it cannot cover are never sent.
 */
describe('run budgets across fan-out and worker processes', () => {
  const pool = new ProcessPool();
  const temporal = testTemporalSettings('budget');
  let simulator: Awaited<ReturnType<typeof startSimulatorProcess>>;
  let workers: WorkerProcess[];
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let connection: Connection;

  beforeAll(async () => {
    requireBuilt(WORKER_ENTRY, SIMULATOR_ENTRY);
    simulator = await startSimulatorProcess(pool, { CHORUS_SIMULATOR_LATENCY_MS: '40', CHORUS_SIMULATOR_JITTER_MS: '40' });
    workers = await Promise.all(
      Array.from({ length: WORKERS }, (_, index) =>
        startWorkerProcess(pool, `budget-worker-${index + 1}`, {
          TEMPORAL_ADDRESS: temporal.address,
          CHORUS_TASK_QUEUE: temporal.taskQueue,
          CHORUS_SIMULATOR_URL: simulator.url,
        }),
      ),
    );
    ({ app, http } = await startApiApp(temporal));
    connection = await Connection.connect({ address: temporal.address });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await connection?.close();
    await pool.stopAll();
  });

  const start = async (body: object) => (await http.post('/v1/workflows').set(auth).send(body).expect(202)).body.workflowId as string;
  const outcome = async (workflowId: string) => (await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=25`).set(auth).expect(200)).body as RunView;

  it(`spends at most a budget covering ~${COVERED} of ${ITEMS} items, sends no request for the rest, and fails them BudgetExceeded`, async () => {
    // What one item really costs, measured on an unbudgeted run of one.
    const single = await outcome(await start({ definition: fanOut(), input: { items: items(1) } }));
    expect(single.status).toBe('COMPLETED');
    const perItemUsd = single.result!.usage.total.costUsd;
    expect(perItemUsd).toBeGreaterThan(0);
    const before = (await simulator.requests()).length;

    const maxCostUsd = Math.round(perItemUsd * (COVERED + 0.5) * 1e8) / 1e8;
    const workflowId = await start({ definition: fanOut({ maxCostUsd }), input: { items: items(ITEMS) } });
    const view = await outcome(workflowId);
    const sent = (await simulator.requests()).slice(before);

    console.log(
      `budget: $${maxCostUsd} (${COVERED + 0.5} × $${perItemUsd} per item); ${done(view)} of ${ITEMS} items done, ${sent.length} requests, spent $${view.budget?.spent.costUsd} / ${view.budget?.spent.tokens} tokens`,
    );
    expect(view.status).toBe('FAILED');
    expect(view.error).toMatchObject({ type: FailureType.BudgetExceeded, step: 'each' });
    const { done: itemsDone, total, notRun } = view.steps!.find((step) => step.id === 'each')!.items!;
    expect(total).toBe(ITEMS);
    expect(itemsDone + notRun!).toBe(ITEMS);
    // Spent within the budget, and stopped only when the next item's worst case no longer fit what was left.
    const nextWorstCase = worstCase(
      { provider: 'openai', inputChars: `Summarize: ${items(ITEMS)[itemsDone]}`.length, hasImage: false, maxOutputTokens: 80 },
      {
        prices: { 'openai/gpt-4o-mini': priceOf(DEFAULT_PRICES, 'openai', 'gpt-4o-mini')! },
        defaultModels: { openai: 'gpt-4o-mini' },
        defaultOutputTokens: 4096,
      },
    ).costUsd;
    expect(view.budget!.spent.costUsd).toBeLessThanOrEqual(maxCostUsd);
    expect(view.budget!.spent.costUsd + nextWorstCase).toBeGreaterThan(maxCostUsd);
    expect(view.budget!.reserved).toEqual({ costUsd: 0, tokens: 0 });
    expect(itemsDone).toBeGreaterThan(COVERED / 2);
    // One request per item done, none for the items not run; the ledger's tokens are the simulator's.
    expect(sent).toHaveLength(itemsDone);
    expect(sent.every((record) => record.status === 200)).toBe(true);
    expect(view.budget!.spent.tokens).toBe(sent.reduce((sum, record) => sum + (record.tokens ?? 0), 0));

    // The items were spread over the worker processes: the ledger is the run's, not a worker's.
    const history = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
    const identities = new Set(history.events!.map((event) => event.activityTaskStartedEventAttributes?.identity).filter(Boolean));
    expect(identities.size).toBeGreaterThanOrEqual(2);
    expect([...identities].every((identity) => workers.some((worker) => worker.identity === identity))).toBe(true);
  }, 120_000);

  it('holds the stricter of the definition budget and the start request budget: a request budget below one call sends nothing', async () => {
    const before = (await simulator.requests()).length;
    const workflowId = await start({ definition: fanOut({ maxCostUsd: 1 }), input: { items: items(3) }, budget: { maxTokens: 50 } });
    const view = await outcome(workflowId);
    expect(view.error).toMatchObject({ type: FailureType.BudgetExceeded, message: expect.stringMatching(/tokens; 50 of the run's budget are left/) });
    expect(view.budget).toMatchObject({ limits: { maxCostUsd: 1, maxTokens: 50 }, spent: { costUsd: 0, tokens: 0 } });
    expect((await simulator.requests()).length).toBe(before);
  }, 60_000);

  it('rejects a malformed budget and a USD budget over an unpriced model with 400s naming the field', async () => {
    const malformed = await http
      .post('/v1/workflows')
      .set(auth)
      .send({ definition: fanOut(), input: { items: items(1) }, budget: { maxCostUsd: -1 } })
      .expect(400);
    expect(malformed.body.errors).toEqual([{ field: 'budget.maxCostUsd', reason: expect.any(String) }]);
    const empty = await http
      .post('/v1/workflows')
      .set(auth)
      .send({ definition: fanOut(), input: { items: items(1) }, budget: {} })
      .expect(400);
    expect(empty.body.errors).toEqual([{ field: 'budget', reason: 'set maxCostUsd, maxTokens or both' }]);

    const unpriced = fanOut({ maxCostUsd: 1 });
    (unpriced.steps[0] as { map: { step: { model?: string } } }).map.step.model = 'gpt-unpriced-preview';
    const refused = await http
      .post('/v1/workflows')
      .set(auth)
      .send({ definition: unpriced, input: { items: items(1) } })
      .expect(400);
    expect(refused.body.errors).toEqual([
      { field: '$.steps[0].map.step.model', reason: expect.stringMatching(/openai\/gpt-unpriced-preview has no known price/) },
    ]);
  });
});
