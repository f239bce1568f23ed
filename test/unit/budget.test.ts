import { loadBudgetPricing, priceBookFor } from '../../src/config/budget';
import { capsOf, loadSpendSettings } from '../../src/config/spend';
import { BudgetLedger, describeRefusal, stricterBudget, worstCase, type BudgetPriceBook, type PlannedCall } from '../../src/pipeline/budget';
import type { PipelineDefinition } from '../../src/pipeline/types';

const BOOK: BudgetPriceBook = {
  prices: { 'openai/gpt-4o-mini': { input: 0.15, output: 0.6 }, 'openai/gpt-4o': { input: 2.5, output: 10 } },
  defaultModels: { openai: 'gpt-4o-mini', cohere: 'command-r-08-2024' },
  defaultOutputTokens: 4096,
};

/** 300 prompt characters: 100 tokens at 3 characters each, plus the instructions' 120. */
const CALL: PlannedCall = { provider: 'openai', inputChars: 300, hasImage: false, maxOutputTokens: 100 };

describe('run budgets: worst cases, reservations and the ledger', () => {
  it("prices a call's worst case from its estimated input and its output limit, at its model's price", () => {
    expect(worstCase(CALL, BOOK)).toMatchObject({ tokens: 220 + 100, model: 'gpt-4o-mini', costUsd: (220 * 0.15 + 100 * 0.6) / 1e6 });
    // No output limit: the configured default; an image: its tokens on top.
    expect(worstCase({ ...CALL, maxOutputTokens: undefined, hasImage: true }, BOOK).tokens).toBe(220 + 1600 + 4096);
    expect(worstCase({ ...CALL, model: 'unknown-model' }, BOOK).costUsd).toBe(Number.POSITIVE_INFINITY);
  });

  it('holds each reservation until it settles, and refuses a call whose worst case does not fit what is left', () => {
    const perCall = worstCase(CALL, BOOK).costUsd;
    const ledger = new BudgetLedger({ limits: { maxCostUsd: perCall * 2.5 }, priceBook: BOOK });
    expect(ledger.reserve('a', CALL)).toBeUndefined();
    expect(ledger.reserve('b', CALL)).toBeUndefined();
    // Two worst cases held: a third does not fit the half left.
    expect(ledger.reserve('c', CALL)).toMatchObject({ dimension: 'costUsd' });
    expect(ledger.heldCalls).toBe(2);
    // 'a' answers for a fifth of its worst case: its hold becomes what it cost, and 'c' now fits.
    ledger.settle('a', { usage: { inputTokens: 40, outputTokens: 24 }, costUsd: perCall / 5 });
    expect(ledger.reserve('c', CALL)).toBeUndefined();
    ledger.release('b');
    const status = ledger.status();
    expect(status.spent).toEqual({ costUsd: Math.round((perCall / 5) * 1e8) / 1e8, tokens: 64 });
    expect(status.reserved.costUsd).toBeCloseTo(perCall, 10);
    expect(status.remaining.costUsd).toBeCloseTo(perCall * 2.5 - perCall / 5 - perCall, 8);
    expect(status.remaining.tokens).toBeUndefined();
  });

  it('holds token budgets the same way, input and output counted', () => {
    const ledger = new BudgetLedger({ limits: { maxTokens: 500 }, priceBook: BOOK });
    expect(ledger.reserve('a', CALL)).toBeUndefined();
    const refusal = ledger.reserve('b', CALL);
    expect(refusal).toEqual({ dimension: 'tokens', needed: 320, remaining: 180 });
    expect(describeRefusal(refusal!)).toBe("the call may use up to 320 tokens; 180 of the run's budget are left");
  });

  it('counts an answer without usage at its worst case, and a truncated answer (billed in full) at its hold', () => {
    const ledger = new BudgetLedger({ limits: { maxTokens: 10_000 }, priceBook: BOOK });
    ledger.reserve('unknown', CALL);
    ledger.settle('unknown', { usageUnknown: true, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: null });
    ledger.reserve('cut', CALL);
    ledger.spendHold('cut');
    expect(ledger.status()).toMatchObject({ spent: { tokens: 640 }, reserved: { tokens: 0 }, remaining: { tokens: 10_000 - 640 } });
  });

  it('refuses, under a dollar budget, a model without a price: it would never be free', () => {
    const ledger = new BudgetLedger({ limits: { maxCostUsd: 100 }, priceBook: BOOK });
    const refusal = ledger.reserve('a', { ...CALL, provider: 'cohere' });
    expect(refusal).toMatchObject({ unpriced: 'cohere/command-r-08-2024' });
    expect(describeRefusal(refusal!)).toMatch(/cohere\/command-r-08-2024 has no known price/);
    // A token budget needs no price.
    expect(new BudgetLedger({ limits: { maxTokens: 1000 }, priceBook: BOOK }).reserve('a', { ...CALL, provider: 'cohere' })).toBeUndefined();
  });

  it('keeps the stricter of a definition budget and a start request budget, limit by limit', () => {
    expect(stricterBudget({ maxCostUsd: 2, maxTokens: 1000 }, { maxCostUsd: 1 })).toEqual({ maxCostUsd: 1, maxTokens: 1000 });
    expect(stricterBudget(undefined, { maxTokens: 5 })).toEqual({ maxTokens: 5 });
    expect(stricterBudget({ maxCostUsd: 3 }, undefined)).toEqual({ maxCostUsd: 3 });
    expect(stricterBudget(undefined, undefined)).toBeUndefined();
    // A definition's policy is not a limit: the run's limits carry none of it.
    expect(stricterBudget({ maxCostUsd: 3, onExceeded: 'await-approval', approvalTimeout: '1h' } as never, undefined)).toEqual({ maxCostUsd: 3 });
  });

  it('records a budget approval with the limits the refused call fits under, checks a raise against them, and applies it', () => {
    const perCall = worstCase(CALL, BOOK);
    const ledger = new BudgetLedger({ limits: { maxCostUsd: perCall.costUsd * 1.5, maxTokens: 10_000 }, priceBook: BOOK });
    expect(ledger.reserve('a', CALL)).toBeUndefined();
    ledger.settle('a', { usage: { inputTokens: 100, outputTokens: 50 }, costUsd: perCall.costUsd });
    const refusal = ledger.reserve('b', CALL)!;
    expect(refusal.dimension).toBe('costUsd');
    const request = ledger.requestApproval('each', 'each[1]', CALL, refusal.dimension, '2026-12-02T06:00:00.000Z', null);
    // What it would take: what is spent, plus the call's worst case; a limit already wide enough stays as it is.
    expect(request).toEqual({
      step: 'each',
      call: 'each[1]',
      dimension: 'costUsd',
      needed: { costUsd: perCall.costUsd, tokens: perCall.tokens },
      limitsToFit: { maxCostUsd: perCall.costUsd * 2, maxTokens: 10_000 },
      requestedAt: '2026-12-02T06:00:00.000Z',
      timeoutAt: null,
    });
    // A second refusal while one waits joins it.
    expect(ledger.requestApproval('each', 'each[2]', CALL, 'costUsd', '2026-12-02T06:00:01.000Z', null)).toBe(request);
    expect(ledger.status().pendingApproval).toBe(request);

    const limit = ledger.status().limits.maxCostUsd!;
    expect(ledger.raiseProblems({ maxCostUsd: limit })).toEqual([{ field: 'budget.maxCostUsd', reason: `must be above the run's current limit of ${limit}` }]);
    expect(ledger.raiseProblems({ maxCostUsd: perCall.costUsd * 1.9 })).toEqual([
      { field: 'budget.maxCostUsd', reason: `the waiting call fits only under a USD limit of at least ${perCall.costUsd * 2}` },
    ]);
    expect(ledger.raiseProblems({ maxTokens: 20_000 })).toEqual([
      { field: 'budget.maxCostUsd', reason: `the waiting call fits only under a USD limit of at least ${perCall.costUsd * 2}` },
    ]);
    expect(ledger.raiseProblems({ maxCostUsd: perCall.costUsd * 2 })).toEqual([]);
    expect(new BudgetLedger({ limits: { maxCostUsd: 1 }, priceBook: BOOK }).raiseProblems({ maxTokens: 5 })).toEqual([
      { field: 'budget.maxTokens', reason: 'the run has no token limit to raise' },
    ]);

    ledger.decide({ decision: 'approved', by: 'ops', comment: 'worth it', decidedAt: '2026-12-02T06:01:00.000Z' }, { maxCostUsd: perCall.costUsd * 2 });
    // The raised limit fits the call exactly: it is reserved now.
    expect(ledger.reserve('b', CALL)).toBeUndefined();
    const status = ledger.status();
    expect(status.pendingApproval).toBeUndefined();
    expect(status.limits).toEqual({ maxCostUsd: perCall.costUsd * 2, maxTokens: 10_000 });
    expect(status.approvals).toEqual([
      {
        step: 'each',
        call: 'each[1]',
        decision: 'approved',
        by: 'ops',
        comment: 'worth it',
        decidedAt: '2026-12-02T06:01:00.000Z',
        from: { maxCostUsd: limit, maxTokens: 10_000 },
        to: { maxCostUsd: perCall.costUsd * 2, maxTokens: 10_000 },
      },
    ]);
  });

  it('leaves the limits as they were when a budget approval is rejected', () => {
    const ledger = new BudgetLedger({ limits: { maxTokens: 100 }, priceBook: BOOK });
    const refusal = ledger.reserve('a', CALL)!;
    expect(ledger.requestApproval('draft', 'draft', CALL, refusal.dimension, 't0', 't1').limitsToFit).toEqual({ maxTokens: 320 });
    ledger.decide({ decision: 'rejected', by: null, comment: null, decidedAt: 't1' }, { maxTokens: 1000 });
    expect(ledger.status()).toMatchObject({
      limits: { maxTokens: 100 },
      approvals: [{ decision: 'rejected', by: null, from: { maxTokens: 100 }, to: { maxTokens: 100 } }],
    });
    expect(ledger.reserve('a', CALL)).toMatchObject({ dimension: 'tokens' });
  });

  it("prices every model a definition's steps and fallbacks may call, and names each one without a price", () => {
    const pipeline: PipelineDefinition = {
      name: 'priced',
      steps: [
        { id: 'draft', provider: 'openai', task: 'generate', prompt: 'x', fallback: [{ provider: 'cohere', model: 'no-such-model' }] },
        { id: 'each', map: { over: 'input.items', step: { provider: 'gemini', task: 'summarize', prompt: '{{item}}' } } },
      ],
    };
    const pricing = loadBudgetPricing({});
    const { priceBook, problems } = priceBookFor(pipeline, { maxCostUsd: 1 }, pricing);
    expect(Object.keys(priceBook.prices).sort()).toEqual(['gemini/gemini-2.0-flash', 'openai/gpt-4o-mini']);
    expect(problems).toEqual([{ field: '$.steps[0].fallback[0].model', reason: expect.stringMatching(/cohere\/no-such-model has no known price/) }]);
    // A token budget prices nothing it cannot.
    expect(priceBookFor(pipeline, { maxTokens: 1000 }, pricing).problems).toEqual([]);
  });

  it('holds a model without a price at CHORUS_BUDGET_FALLBACK_PRICE when one is configured, never at $0', () => {
    const pipeline: PipelineDefinition = {
      name: 'unpriced',
      steps: [{ id: 'draft', provider: 'cohere', model: 'no-such-model', task: 'generate', prompt: 'x' }],
    };
    const pricing = loadBudgetPricing({ CHORUS_BUDGET_FALLBACK_PRICE: '15/75' });
    expect(pricing.fallbackPrice).toEqual({ input: 15, output: 75 });
    const { priceBook, problems } = priceBookFor(pipeline, { maxCostUsd: 1 }, pricing);
    expect(problems).toEqual([]);
    expect(priceBook.prices['cohere/no-such-model']).toEqual({ input: 15, output: 75 });
    const worst = worstCase({ ...CALL, provider: 'cohere', model: 'no-such-model' }, priceBook);
    expect(worst.costUsd).toBeCloseTo((220 * 15 + 100 * 75) / 1e6, 10);
    expect(() => loadBudgetPricing({ CHORUS_BUDGET_FALLBACK_PRICE: 'cheap' })).toThrow(
      /CHORUS_BUDGET_FALLBACK_PRICE: expected input\/output USD per million tokens/,
    );
  });
});

describe('tenant cap settings', () => {
  it("gives each tenant the defaults, replaced cap by cap by its own; caps need the workers' shared Redis", () => {
    const settings = loadSpendSettings({
      CHORUS_REDIS_URL: 'redis://127.0.0.1:6379',
      CHORUS_TENANT_DAILY_USD: '5',
      CHORUS_TENANT_MONTHLY_TOKENS: '1000000',
      CHORUS_TENANT_CAPS: '{"acme": {"dailyUsd": 20}}',
    });
    expect(capsOf(settings, 'acme')).toEqual({ dailyUsd: 20, monthlyTokens: 1_000_000 });
    expect(capsOf(settings, 'globex')).toEqual({ dailyUsd: 5, monthlyTokens: 1_000_000 });
    expect(settings.holdLeaseMs).toBe(30_000);
    expect(() => loadSpendSettings({ CHORUS_TENANT_DAILY_USD: '5' })).toThrow(/CHORUS_REDIS_URL: tenant caps/);
    expect(() => loadSpendSettings({ CHORUS_REDIS_URL: 'redis://x:1', CHORUS_TENANT_CAPS: '{"acme": {"daily": 1}}' })).toThrow(
      /CHORUS_TENANT_CAPS: acme: Unrecognized key/,
    );
    expect(() => loadSpendSettings({ CHORUS_REDIS_URL: 'redis://x:1', CHORUS_TENANT_CAPS: 'acme=1' })).toThrow(/CHORUS_TENANT_CAPS: expected JSON/);
    expect(() => loadSpendSettings({ CHORUS_TENANT_DAILY_USD: '-1', CHORUS_REDIS_URL: 'redis://x:1' })).toThrow(/CHORUS_TENANT_DAILY_USD/);
  });
});
