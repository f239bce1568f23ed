import type { INestApplication } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import type request from 'supertest';
import type { RunView, Usage } from '../../src/contract/api';
import { DEFAULT_PRICES, priceOf } from '../../src/config/prices';
import { loadSpendSettings } from '../../src/config/spend';
import { worstCase } from '../../src/pipeline/budget';
import { FailureType } from '../../src/pipeline/failures';
import type { PipelineDefinition } from '../../src/pipeline/types';
import { SECOND_API_KEY, startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { startRedis } from '../helpers/redis';
import {
  freePort,
  ProcessPool,
  requireBuilt,
  SIMULATOR_ENTRY,
  startSimulatorProcess,
  startWorkerProcess,
  WORKER_ENTRY,
  type WorkerProcess,
} from '../helpers/reliability';
import { testTemporalSettings } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

const acme = { 'x-api-key': TEST_API_KEY };
const globex = { 'x-api-key': SECOND_API_KEY };
const WORKERS = 3;
const RUNS = 4;
const ITEMS = 12;
const CONCURRENCY = 4;
/** Short, so the crashed attempt's hold is charged within the test: production's default is 30 s. */
const LEASE_MS = 1500;

const itemText = (run: number, index: number) => `Report ${run}-${index}: the queue kept every job.`;
const PROMPT_PREFIX = 'Summarize: ';

function fanOut(run: number): { definition: PipelineDefinition; input: { items: string[] } } {
  return {
    definition: {
      name: 'tenant-capped-fan-out',
      steps: [
        {
          id: 'each',
          map: {
            over: 'input.items',
            concurrency: CONCURRENCY,
            step: { provider: 'openai', task: 'summarize', prompt: `${PROMPT_PREFIX}{{item}}`, maxOutputTokens: 80 },
          },
        },
      ],
    },
    input: { items: Array.from({ length: ITEMS }, (_, index) => itemText(run, index)) },
  };
}

/** One item's worst case, as the workers hold it. */
const ITEM_WORST = worstCase(
  { provider: 'openai', model: 'gpt-4o-mini', inputChars: `${PROMPT_PREFIX}${itemText(0, 0)}`.length, hasImage: false, maxOutputTokens: 80 },
  { prices: { 'openai/gpt-4o-mini': priceOf(DEFAULT_PRICES, 'openai', 'gpt-4o-mini')! }, defaultModels: { openai: 'gpt-4o-mini' }, defaultOutputTokens: 4096 },
);
/** acme's daily cap: 3 items at their worst case (an item spends about a sixth of it), of the 48 its runs ask for; globex has none. */
const WORST_CASES_CAPPED = 3;
const DAILY_CAP_USD = Math.round(WORST_CASES_CAPPED * ITEM_WORST.costUsd * 1e8) / 1e8;

/**
 * Tenant caps hold across processes: three worker processes hold every call in one Redis ledger
 * before sending it, while two API instances start the tenant's runs at once. A worker killed
 * mid-call leaves its hold behind only for the lease.
 */
describe('tenant caps across API instances and worker processes', () => {
  const pool = new ProcessPool();
  const temporal = testTemporalSettings('tenant-caps');
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let simulator: Awaited<ReturnType<typeof startSimulatorProcess>>;
  let workers: WorkerProcess[];
  const metricsPorts: number[] = [];
  let apis: { app: INestApplication; http: ReturnType<typeof request> }[];
  let connection: Connection;

  beforeAll(async () => {
    requireBuilt(WORKER_ENTRY, SIMULATOR_ENTRY);
    redis = await startRedis();
    const env = {
      CHORUS_REDIS_URL: redis.url,
      CHORUS_TENANT_CAPS: JSON.stringify({ acme: { dailyUsd: DAILY_CAP_USD } }),
      CHORUS_SPEND_HOLD_LEASE_MS: String(LEASE_MS),
    };
    simulator = await startSimulatorProcess(pool, { CHORUS_SIMULATOR_LATENCY_MS: '40', CHORUS_SIMULATOR_JITTER_MS: '60' });
    workers = await Promise.all(
      Array.from({ length: WORKERS }, async (_, index) => {
        metricsPorts[index] = await freePort();
        return startWorkerProcess(pool, `caps-worker-${index + 1}`, {
          TEMPORAL_ADDRESS: temporal.address,
          CHORUS_TASK_QUEUE: temporal.taskQueue,
          CHORUS_SIMULATOR_URL: simulator.url,
          CHORUS_WORKER_METRICS_PORT: String(metricsPorts[index]),
          ...env,
        });
      }),
    );
    apis = await Promise.all([0, 1].map(() => startApiApp(temporal, { spend: loadSpendSettings(env) })));
    connection = await Connection.connect({ address: temporal.address });
  }, 120_000);
  afterAll(async () => {
    await Promise.all((apis ?? []).map(({ app }) => app.close()));
    await connection?.close();
    await pool.stopAll();
    await redis?.stop();
  });

  const usage = async (api: number, auth: Record<string, string>) => (await apis[api].http.get('/v1/usage').set(auth).expect(200)).body as Usage;
  const outcome = async (workflowId: string) =>
    (await apis[0].http.get(`/v1/workflows/${workflowId}/result?waitSeconds=25`).set(acme).expect(200)).body as RunView;

  it(`holds a $${DAILY_CAP_USD} daily cap over ${RUNS} concurrent runs started through 2 API instances: no request beyond it is sent`, async () => {
    const before = (await simulator.requests()).length;
    const started = await Promise.all(
      Array.from({ length: RUNS }, async (_, run) => {
        const response = await apis[run % 2].http.post('/v1/workflows').set(acme).send(fanOut(run)).expect(202);
        return response.body.workflowId as string;
      }),
    );
    const views = await Promise.all(started.map(outcome));
    const sent = (await simulator.requests()).slice(before);
    const spend = await usage(1, acme);
    const done = views.reduce((sum, view) => sum + (view.steps!.find((step) => step.id === 'each')!.items!.done ?? 0), 0);
    console.log(
      `tenant cap: $${DAILY_CAP_USD} (${WORST_CASES_CAPPED} × worst case $${ITEM_WORST.costUsd}); ${done} of ${RUNS * ITEMS} items done, ${sent.length} requests, spent $${spend.total.costUsd}`,
    );

    // Never over the cap, and one request per item done: what was refused was never sent.
    expect(spend.caps.daily.usd).toBe(DAILY_CAP_USD);
    expect(spend.total.costUsd).toBeLessThanOrEqual(DAILY_CAP_USD);
    expect(sent).toHaveLength(done);
    expect(spend.total.calls).toBe(done);
    expect(spend.total.tokens).toBe(sent.reduce((sum, record) => sum + (record.tokens ?? 0), 0));
    expect(spend.reserved).toEqual({ costUsd: 0, tokens: 0, calls: 0 });
    // The cap bound: not every item fit, and it stopped with at most the calls in flight at once left to spend.
    expect(done).toBeLessThan(RUNS * ITEMS);
    expect(spend.total.costUsd + RUNS * CONCURRENCY * ITEM_WORST.costUsd).toBeGreaterThan(DAILY_CAP_USD);
    const refused = views.filter((view) => view.status === 'FAILED');
    expect(refused.length).toBeGreaterThan(0);
    for (const view of refused) {
      expect(view.error).toMatchObject({
        type: FailureType.BudgetExceeded,
        message: expect.stringMatching(/tenant acme has used \$[\d.e-]+ of its daily cap/),
      });
    }
    // Both API instances read the same ledger, by pipeline, provider and model.
    expect(await usage(0, acme)).toEqual(spend);
    expect(spend.byPipeline).toEqual([{ pipeline: 'tenant-capped-fan-out', ...spend.total }]);
    expect(spend.byModel).toEqual([{ provider: 'openai', model: 'gpt-4o-mini', ...spend.total }]);

    // Each worker counts what it spent for the tenant: their sum is the ledger's.
    const metric = async (name: string, labels: string) => {
      let sum = 0;
      for (const port of metricsPorts) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        for (const [, value] of text.matchAll(new RegExp(`^${name}\\{${labels}[^}]*\\} (\\S+)$`, 'gm'))) sum += Number(value);
      }
      return sum;
    };
    expect(await metric('chorus_tenant_spend_usd_total', 'tenant="acme",provider="openai",model="gpt-4o-mini"')).toBeCloseTo(spend.total.costUsd, 8);
    expect(await metric('chorus_tenant_spend_tokens_total', 'tenant="acme",provider="openai",model="gpt-4o-mini"')).toBe(spend.total.tokens);
    expect(await metric('chorus_tenant_cap_refusals_total', 'tenant="acme",period="day"')).toBeGreaterThan(0);

    // The calls were spread over the worker processes: the cap is the tenant's, not a worker's.
    const client = new Client({ connection });
    const identities = new Set<string>();
    for (const workflowId of started) {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      for (const event of history.events!)
        if (event.activityTaskStartedEventAttributes?.identity) identities.add(event.activityTaskStartedEventAttributes.identity);
    }
    expect(identities.size).toBeGreaterThanOrEqual(2);

    // Another tenant, without a cap, is not held to acme's.
    const other = (await apis[1].http.post('/v1/workflows').set(globex).send(fanOut(9)).expect(202)).body.workflowId as string;
    const otherView = (await apis[1].http.get(`/v1/workflows/${other}/result?waitSeconds=25`).set(globex).expect(200)).body as RunView;
    expect(otherView.status).toBe('COMPLETED');
    expect((await usage(0, globex)).total.calls).toBe(ITEMS);
  }, 120_000);

  it('keeps a tenant cap hard under a run budget that awaits approval: its refusal fails the run at once, with no budget approval to raise it', async () => {
    // After the test above, acme's daily cap is (nearly) spent; the run's own budget is ample.
    const before = (await simulator.requests()).length;
    const { definition, input } = fanOut(7);
    const budgeted = { definition: { ...definition, budget: { maxCostUsd: 1, onExceeded: 'await-approval' } }, input };
    const workflowId = (await apis[0].http.post('/v1/workflows').set(acme).send(budgeted).expect(202)).body.workflowId as string;
    const view = await outcome(workflowId);
    const sent = (await simulator.requests()).slice(before);
    expect(view.status).toBe('FAILED');
    expect(view.error).toMatchObject({ type: FailureType.BudgetExceeded, message: expect.stringMatching(/tenant acme has used \$[\d.e-]+ of its daily cap/) });
    expect(view.budget!.pendingApproval).toBeUndefined();
    expect(view.budget!.approvals).toBeUndefined();
    expect(view.budget!.limits).toEqual({ maxCostUsd: 1 });
    const { done, notRun } = view.steps!.find((step) => step.id === 'each')!.items!;
    expect(notRun).toBe(ITEMS - done);
    expect(sent).toHaveLength(done);
  }, 60_000);

  it('answers a malformed or impossible period with a 400 naming the field', async () => {
    const problem = async (query: string) => (await apis[0].http.get(`/v1/usage?${query}`).set(acme).expect(400)).body.errors;
    expect(await problem('from=yesterday')).toEqual([{ field: 'from', reason: 'from must be a UTC day, YYYY-MM-DD' }]);
    expect(await problem('from=2026-02-30&to=2026-03-01')).toEqual([{ field: 'from', reason: '2026-02-30 is not a day of the calendar' }]);
    expect(await problem('from=2026-12-02&to=2026-12-01')).toEqual([{ field: 'from', reason: 'must not be after to (2026-12-01)' }]);
    expect(await problem('from=2024-01-01&to=2025-12-31')).toEqual([{ field: 'to', reason: 'a period covers at most 366 days' }]);
    const period = (await apis[0].http.get('/v1/usage?from=2020-01-01&to=2020-01-31').set(acme).expect(200)).body as Usage;
    expect(period).toMatchObject({ from: '2020-01-01', to: '2020-01-31', total: { costUsd: 0, tokens: 0, calls: 0 }, rows: [] });
  });

  it(`leaves no hold of a worker killed mid-call after the ${LEASE_MS} ms lease: it is charged at its worst case`, async () => {
    const before = await usage(0, globex);
    const definition: PipelineDefinition = {
      name: 'slow-call',
      steps: [
        {
          id: 'slow',
          provider: 'openai',
          task: 'generate',
          prompt: 'Write slowly [[sim:latency=20000]]',
          maxOutputTokens: 50,
          retry: { maximumAttempts: 1 },
          timeout: { heartbeat: '2s' },
        },
      ],
    };
    const workflowId = (await apis[0].http.post('/v1/workflows').set(globex).send({ definition, input: {} }).expect(202)).body.workflowId as string;
    await waitFor('the slow call to hold its worst case', async () => (await usage(1, globex)).reserved.calls === 1, 20_000);
    const handle = new Client({ connection }).workflow.getHandle(workflowId);
    const identity = await waitFor(
      'the attempt to be started',
      async () => (await handle.describe()).raw.pendingActivities?.[0]?.lastWorkerIdentity || undefined,
      10_000,
    );
    const holder = workers.find((worker) => worker.identity === identity)!;
    expect(holder).toBeDefined();
    holder.process.child.kill('SIGKILL');
    const killedAt = Date.now();

    await waitFor('the hold to be charged', async () => (await usage(1, globex)).reserved.calls === 0, 10_000);
    const heldForMs = Date.now() - killedAt;
    console.log(`crashed attempt's hold charged ${heldForMs} ms after the kill (lease ${LEASE_MS} ms)`);
    // Renewed every third of the lease, so it expires at most one lease after the kill (plus this test's polling).
    expect(heldForMs).toBeLessThanOrEqual(LEASE_MS + 1000);
    const after = await usage(1, globex);
    expect(after.reserved).toEqual({ costUsd: 0, tokens: 0, calls: 0 });
    expect(after.expiredHolds).toBe(before.expiredHolds + 1);
    expect(after.total.calls).toBe(before.total.calls + 1);
    expect(after.total.costUsd).toBeGreaterThan(before.total.costUsd);
    await handle.terminate('the test is done with it');
  }, 60_000);
});
