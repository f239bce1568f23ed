import type { INestApplication } from '@nestjs/common';
import { Worker } from '@temporalio/worker';
import type request from 'supertest';
import type { RunView } from '../../src/contract/api';
import { DEFAULT_PRICES, priceOf } from '../../src/config/prices';
import { worstCase, type PipelineBudget } from '../../src/pipeline/budget';
import { FailureType } from '../../src/pipeline/failures';
import type { PipelineDefinition } from '../../src/pipeline/types';
import { startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { startTestStack, workflowBundle, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

const auth = { 'x-api-key': TEST_API_KEY };
const ITEMS = 6;
const PROMPT = 'Summarize: {{item}}';
/** Every item the same length, so each call's worst case is the same. */
const items = Array.from({ length: ITEMS }, (_, index) => `Report ${index}: the queue kept every job. Nothing was lost.`);
const BOOK = {
  prices: { 'openai/gpt-4o-mini': priceOf(DEFAULT_PRICES, 'openai', 'gpt-4o-mini')! },
  defaultModels: { openai: 'gpt-4o-mini' },
  defaultOutputTokens: 4096,
};
/** One item's worst case, as the run reserves it: its rendered prompt, plus 80 output tokens. */
const perItem = worstCase({ provider: 'openai', inputChars: `Summarize: ${items[0]}`.length, hasImage: false, maxOutputTokens: 80 }, BOOK);

function fanOut(budget: PipelineBudget): PipelineDefinition {
  return {
    name: 'approved-fan-out',
    steps: [{ id: 'each', map: { over: 'input.items', concurrency: 2, step: { provider: 'openai', task: 'summarize', prompt: PROMPT, maxOutputTokens: 80 } } }],
    budget,
  };
}

const stepOf = (view: RunView, id: string) => view.steps!.find((step) => step.id === id)!;

/**
 * A run whose call does not fit its budget, in a pipeline that says `onExceeded: await-approval`,
 * waits for an operator to raise the budget through the approval API instead of failing; the
 * call is reserved again and sent once raised. Real Temporal dev server, simulator, worker and API.
 */
describe('budget approvals: a run over its budget waits for an approval that raises it', () => {
  let stack: TestStack;
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    stack = await startTestStack('budget-approval', { latencyMs: 20 });
    ({ app, http } = await startApiApp(stack.temporal));
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });
  beforeEach(() => stack.simulator.clearRequests());

  /** Every run these tests started, replayed at the end. */
  const started: string[] = [];
  const start = async (body: object) => {
    const workflowId = (await http.post('/v1/workflows').set(auth).send(body).expect(202)).body.workflowId as string;
    started.push(workflowId);
    return workflowId;
  };
  const view = async (workflowId: string) => (await http.get(`/v1/workflows/${workflowId}`).set(auth).expect(200)).body as RunView;
  const outcome = async (workflowId: string) => (await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=25`).set(auth).expect(200)).body as RunView;
  /** The status is read with two queries (progress, budget): both show the wait once the run's next read sees it. */
  const waitForBudgetApproval = (workflowId: string, step: string) =>
    waitFor('the run to wait for a budget approval', () => view(workflowId), {
      timeoutMs: 20_000,
      until: (run) => Boolean(run.budget?.pendingApproval) && stepOf(run, step).status === 'waiting',
    });
  /** One worst case plus what 2.5 items really cost (measured): a few items, then one whose worst case no longer fits. */
  let maxCostUsd: number;
  beforeAll(async () => {
    const single = await outcome(await start({ definition: { ...fanOut({ maxCostUsd: 1 }), budget: undefined }, input: { items: items.slice(0, 1) } }));
    const perItemUsd = single.result!.usage.total.costUsd;
    expect(perItemUsd).toBeGreaterThan(0);
    expect(perItemUsd * 2.5).toBeLessThan(perItem.costUsd);
    maxCostUsd = Math.round((perItem.costUsd + perItemUsd * 2.5) * 1e8) / 1e8;
  });

  it('shows what is spent, what the waiting call needs and what it would take; a raised budget lets every item run, one request each', async () => {
    const workflowId = await start({ definition: fanOut({ maxCostUsd, onExceeded: 'await-approval' }), input: { items } });
    const waiting = await waitForBudgetApproval(workflowId, 'each');
    const { spent, reserved, pendingApproval } = waiting.budget!;
    const each = stepOf(waiting, 'each');
    expect(waiting.status).toBe('RUNNING');
    expect(each.status).toBe('waiting');
    expect(each.items!.done).toBeGreaterThanOrEqual(2);
    expect(each.items!.done).toBeLessThan(ITEMS);
    expect(reserved).toEqual({ costUsd: 0, tokens: 0 });
    // The call refused needs one item's worst case; it fits once the limit covers what is spent plus that.
    expect(pendingApproval).toEqual({
      step: 'each',
      call: expect.stringMatching(/^each\[\d\]$/),
      dimension: 'costUsd',
      needed: { costUsd: perItem.costUsd, tokens: perItem.tokens },
      limitsToFit: { maxCostUsd: expect.any(Number) },
      requestedAt: expect.any(String),
      timeoutAt: null,
    });
    const toFit = pendingApproval!.limitsToFit.maxCostUsd!;
    expect(toFit).toBeCloseTo(spent.costUsd + perItem.costUsd, 8);
    expect(toFit).toBeGreaterThan(maxCostUsd);
    expect(spent.costUsd).toBeLessThanOrEqual(maxCostUsd);
    // Nothing was sent for the call that did not fit: one request per item done.
    const sentWhileWaiting = stack.simulator.requests().length;
    expect(sentWhileWaiting).toBe(each.items!.done);

    // Malformed bodies are 400s, bodies the waiting approval refuses 409s, each naming the field; the run keeps waiting.
    const refused = async (path: 'approve' | 'reject', body: object, status = 409) =>
      (await http.post(`/v1/workflows/${workflowId}/${path}`).set(auth).send(body).expect(status)).body.errors as { field: string; reason: string }[];
    expect(await refused('approve', { budget: 'more' }, 400)).toEqual([{ field: 'budget', reason: 'budget must be a JSON object' }]);
    expect(await refused('approve', { budget: {} }, 400)).toEqual([{ field: 'budget', reason: 'set maxCostUsd, maxTokens or both' }]);
    expect(await refused('approve', { budget: { maxCostUsd: -1 } }, 400)).toEqual([{ field: 'budget.maxCostUsd', reason: expect.any(String) }]);
    expect(await refused('approve', { budget: { maxCostUsd: 1, extra: true } }, 400)).toEqual([{ field: 'budget', reason: expect.stringMatching(/extra/) }]);
    expect(await refused('reject', { budget: { maxCostUsd: 1 } }, 400)).toEqual([{ field: 'budget', reason: 'property budget should not exist' }]);
    expect(await refused('approve', {})).toEqual([
      { field: 'budget', reason: expect.stringMatching(/waits for a budget approval: approve with the raised limits/) },
    ]);
    expect(await refused('approve', { budget: { maxCostUsd } })).toEqual([
      { field: 'budget.maxCostUsd', reason: `must be above the run's current limit of ${maxCostUsd}` },
    ]);
    expect(await refused('approve', { budget: { maxCostUsd: (maxCostUsd + toFit) / 2 } })).toEqual([
      { field: 'budget.maxCostUsd', reason: `the waiting call fits only under a USD limit of at least ${toFit}` },
    ]);
    expect(await refused('approve', { budget: { maxTokens: 100_000 } })).toEqual([
      { field: 'budget.maxCostUsd', reason: `the waiting call fits only under a USD limit of at least ${toFit}` },
      { field: 'budget.maxTokens', reason: 'the run has no token limit to raise' },
    ]);
    expect((await view(workflowId)).budget!.pendingApproval).toEqual(pendingApproval);
    expect(stack.simulator.requests()).toHaveLength(sentWhileWaiting);

    const raised = Math.round(perItem.costUsd * (ITEMS + 1) * 1e8) / 1e8;
    await http
      .post(`/v1/workflows/${workflowId}/approve`)
      .set(auth)
      .send({ comment: 'worth finishing', budget: { maxCostUsd: raised } })
      .expect(200, { workflowId, step: 'each', decision: 'approved', budget: { maxCostUsd: raised } });
    const done = await outcome(workflowId);
    expect(done.status).toBe('COMPLETED');
    expect(stepOf(done, 'each').items).toEqual({ done: ITEMS, total: ITEMS });
    // Every item sent exactly once: the refused one after the raise, none twice.
    const sent = stack.simulator.requests();
    expect(sent).toHaveLength(ITEMS);
    expect(new Set(sent.map((record) => record.fingerprint)).size).toBe(ITEMS);
    expect(done.budget).toMatchObject({
      limits: { maxCostUsd: raised },
      reserved: { costUsd: 0, tokens: 0 },
      approvals: [
        {
          step: 'each',
          call: pendingApproval!.call,
          decision: 'approved',
          by: 'e2e',
          comment: 'worth finishing',
          from: { maxCostUsd },
          to: { maxCostUsd: raised },
        },
      ],
    });
    expect(done.budget!.pendingApproval).toBeUndefined();
    expect(done.budget!.spent.costUsd).toBeLessThanOrEqual(raised);
    expect(done.budget!.spent.tokens).toBe(sent.reduce((sum, record) => sum + (record.tokens ?? 0), 0));
    await http
      .post(`/v1/workflows/${workflowId}/approve`)
      .set(auth)
      .send({ budget: { maxCostUsd: 1 } })
      .expect(409);
  }, 90_000);

  it('fails the map BudgetExceeded when the budget approval is rejected, and sends nothing more', async () => {
    const workflowId = await start({ definition: fanOut({ maxCostUsd, onExceeded: 'await-approval' }), input: { items } });
    const waiting = await waitForBudgetApproval(workflowId, 'each');
    const doneBefore = stepOf(waiting, 'each').items!.done;
    expect(stack.simulator.requests()).toHaveLength(doneBefore);
    await http
      .post(`/v1/workflows/${workflowId}/reject`)
      .set(auth)
      .send({ comment: 'not this month' })
      .expect(200, { workflowId, step: 'each', decision: 'rejected' });
    const failed = await outcome(workflowId);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatchObject({
      type: FailureType.BudgetExceeded,
      step: 'each',
      message: expect.stringMatching(/the budget approval was rejected by e2e: not this month/),
    });
    expect(stepOf(failed, 'each').items).toEqual({ done: doneBefore, total: ITEMS, notRun: ITEMS - doneBefore });
    expect(failed.budget).toMatchObject({ limits: { maxCostUsd }, approvals: [{ decision: 'rejected', by: 'e2e', to: { maxCostUsd } }] });
    expect(stack.simulator.requests()).toHaveLength(doneBefore);
  }, 90_000);

  it('fails a sequence step BudgetExceeded when no approval comes within approvalTimeout, and never sends it', async () => {
    const call = { provider: 'openai', task: 'summarize', maxOutputTokens: 80 } as const;
    const definition: PipelineDefinition = {
      name: 'approved-sequence',
      steps: [
        { id: 'first', ...call, prompt: 'Summarize: {{input.text}}' },
        { id: 'second', ...call, prompt: 'Summarize again: {{steps.first.text}}' },
      ],
      // Covers the first call's worst case, not two.
      budget: { maxTokens: perItem.tokens + 50, onExceeded: 'await-approval', approvalTimeout: '2s' },
    };
    const workflowId = await start({ definition, input: { text: items[0] } });
    const waiting = await waitForBudgetApproval(workflowId, 'second');
    expect(waiting.budget!.pendingApproval).toMatchObject({ step: 'second', call: 'second', dimension: 'tokens', timeoutAt: expect.any(String) });
    const failed = await outcome(workflowId);
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: { type: FailureType.BudgetExceeded, step: 'second', message: expect.stringMatching(/no budget approval within 2s/) },
    });
    expect(failed.budget!.approvals).toEqual([expect.objectContaining({ step: 'second', decision: 'rejected', by: null })]);
    expect(stack.simulator.requests()).toHaveLength(1);
  }, 60_000);

  it("fails at once without onExceeded: await-approval, as before, and keeps a plain approval step's body free of budgets", async () => {
    const workflowId = await start({ definition: fanOut({ maxCostUsd }), input: { items } });
    const failed = await outcome(workflowId);
    expect(failed.error).toMatchObject({ type: FailureType.BudgetExceeded, step: 'each' });
    expect(failed.budget!.approvals).toBeUndefined();

    const reviewed: PipelineDefinition = { name: 'reviewed', steps: [{ id: 'review', approval: { timeout: '1m' } }] };
    const review = await start({ definition: reviewed, input: {} });
    await waitFor('the approval step to wait', () => view(review), { timeoutMs: 15_000, until: (run) => stepOf(run, 'review').status === 'waiting' });
    const wrong = await http
      .post(`/v1/workflows/${review}/approve`)
      .set(auth)
      .send({ budget: { maxCostUsd: 1 } })
      .expect(409);
    expect(wrong.body.errors).toEqual([{ field: 'budget', reason: 'the run waits at approval step "review", which raises no budget' }]);
    await http.post(`/v1/workflows/${review}/approve`).set(auth).send({}).expect(200, { workflowId: review, step: 'review', decision: 'approved' });
    expect((await outcome(review)).status).toBe('COMPLETED');
  }, 90_000);

  it('replays every run above (raised, rejected, timed out, failed at once) against the workflow code without non-determinism', async () => {
    expect(started.length).toBeGreaterThanOrEqual(5);
    const histories = await Promise.all(
      started.map(async (workflowId) => ({ workflowId, history: await stack.client.workflow.getHandle(workflowId).fetchHistory() })),
    );
    const failures: { workflowId: string; error: unknown }[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (result.error) failures.push({ workflowId: result.workflowId, error: result.error });
    }
    expect(failures).toEqual([]);
  }, 60_000);
});
