import type { ModelPrice, ProviderName } from './providers';
import type { TokenUsage } from './types';

/**
 * A run's spending cap, in dollars, tokens or both. Pure and deterministic: the workflow keeps its
 * run's ledger in its own state, so what a run spent and holds survives every crash Temporal does.
 */
export interface RunBudgetLimits {
  /** Most the run's provider calls may cost, at the prices the run started with. */
  maxCostUsd?: number;
  /** Most tokens (input and output, thinking included) the run's provider calls may use. */
  maxTokens?: number;
}

/** What a run does when a call's worst case does not fit what is left of its budget. */
export const BUDGET_EXCEEDED_POLICIES = ['fail', 'await-approval'] as const;
export type BudgetExceededPolicy = (typeof BUDGET_EXCEEDED_POLICIES)[number];

/** A definition's budget: its limits, and what a call that does not fit them does. */
export interface PipelineBudget extends RunBudgetLimits {
  /**
   * `fail`: the step fails BudgetExceeded (a cheaper fallback may still be tried). `await-approval`:
   * the run waits for an operator to approve a raised budget, then reserves the call again.
   * @default 'fail'
   */
  onExceeded?: BudgetExceededPolicy;
  /** How long an `await-approval` run waits for the decision before the step fails BudgetExceeded; forever when absent. */
  approvalTimeout?: string;
}

/**
 * What a budgeted run needs to know to price a call before it is sent, resolved by the API when the
 * run starts (a workflow cannot read configuration): each target's model and price.
 */
export interface BudgetPriceBook {
  /** `provider/model` → USD per million tokens, for every model the pipeline may call. */
  prices: Record<string, ModelPrice>;
  /** The model a target without one calls, per provider. */
  defaultModels: Record<ProviderName, string>;
  /** What a call whose step sets no maxOutputTokens reserves for its answer. */
  defaultOutputTokens: number;
}

/** A budgeted run's input: the limits, and the prices to hold them at. */
export interface RunBudget {
  limits: RunBudgetLimits;
  priceBook: BudgetPriceBook;
}

/** A run's budget as its status shows it. */
export interface BudgetStatus {
  limits: RunBudgetLimits;
  spent: { costUsd: number; tokens: number };
  /** Held by calls in flight: their worst case until they answer. */
  reserved: { costUsd: number; tokens: number };
  /** What new calls may still reserve; absent for a dimension without a limit. */
  remaining: { costUsd?: number; tokens?: number };
  /** The budget approval the run waits for: a call that did not fit, and the limits it would fit under. */
  pendingApproval?: BudgetApprovalRequest;
  /** Budget approvals decided so far, oldest first. */
  approvals?: BudgetApprovalRecord[];
}

/** A call that did not fit its run's budget, waiting for an operator to raise it. */
export interface BudgetApprovalRequest {
  step: string;
  /** The call's ID (`each[7]`; a fallback's `step~provider`). */
  call: string;
  /** The limit the call's worst case exceeded. */
  dimension: 'costUsd' | 'tokens';
  /** The call's worst case: what it reserves once it fits. */
  needed: { costUsd: number; tokens: number };
  /** The smallest limits under which the call fits (what is spent and held now, plus its worst case); each at least the current limit. */
  limitsToFit: RunBudgetLimits;
  requestedAt: string;
  /** When the approval timeout fails the step; null when the run waits forever. */
  timeoutAt: string | null;
}

/** How a budget approval was decided. */
export interface BudgetApprovalRecord {
  step: string;
  call: string;
  decision: 'approved' | 'rejected';
  /** Who decided; null when the timeout did. */
  by: string | null;
  comment: string | null;
  decidedAt: string;
  /** The limits before the decision and after it (the same when rejected). */
  from: RunBudgetLimits;
  to: RunBudgetLimits;
}

/** A call as the ledger prices it, before it is sent. */
export interface PlannedCall {
  provider: ProviderName;
  model?: string;
  /** Everything the request will carry as text: the rendered prompt, the task's instructions (schema, labels). */
  inputChars: number;
  hasImage: boolean;
  maxOutputTokens?: number;
}

/**
 * Providers' tokenizers average ~4 characters per token in English; 3 keeps the estimate above most
 * texts. The instructions Chorus adds to a prompt (activities/tasks.ts) and an image's tokens come
 * on top, at their largest (an image: Anthropic's ~1,600 tokens for a 1-megapixel image).
 */
const CHARS_PER_TOKEN = 3;
const INSTRUCTION_TOKENS = 120;
const IMAGE_TOKENS = 1600;

/** Each limit the stricter of the two: a start request may lower a definition's budget, never raise it. */
export function stricterBudget(a: RunBudgetLimits | undefined, b: RunBudgetLimits | undefined): RunBudgetLimits | undefined {
  if (!a && !b) return undefined;
  const lower = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.min(x, y));
  // Only the limits: a definition's budget also carries its policy (onExceeded), which is not a limit.
  const limits = { maxCostUsd: lower(a?.maxCostUsd, b?.maxCostUsd), maxTokens: lower(a?.maxTokens, b?.maxTokens) };
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}

export const priceKey = (provider: ProviderName, model: string) => `${provider}/${model}`;

const roundUsd = (usd: number) => Math.round(usd * 1e8) / 1e8;
/** Up to the ledger's grain, so a limit computed to fit a call is never a rounding short of it. */
const ceilUsd = (usd: number) => Math.ceil(Math.round(usd * 1e10) / 100) / 1e8;

const LIMIT_NAMES = ['maxCostUsd', 'maxTokens'] as const;
const LIMIT_WORDS: Record<(typeof LIMIT_NAMES)[number], string> = { maxCostUsd: 'USD', maxTokens: 'token' };

/** A call's worst case: the tokens it may use and what they may cost. */
export function worstCase(call: PlannedCall, book: BudgetPriceBook): { tokens: number; costUsd: number; model: string; price?: ModelPrice } {
  const model = call.model ?? book.defaultModels[call.provider];
  const price = book.prices[priceKey(call.provider, model)];
  const inputTokens = Math.ceil(call.inputChars / CHARS_PER_TOKEN) + INSTRUCTION_TOKENS + (call.hasImage ? IMAGE_TOKENS : 0);
  const outputTokens = call.maxOutputTokens ?? book.defaultOutputTokens;
  const costUsd = price ? roundUsd((inputTokens * price.input + outputTokens * price.output) / 1e6) : Number.POSITIVE_INFINITY;
  return { tokens: inputTokens + outputTokens, costUsd, model, price };
}

/** Why a call was not sent: what it would have reserved against what was left. */
export interface BudgetRefusal {
  dimension: 'costUsd' | 'tokens';
  needed: number;
  remaining: number;
  /** The model has no price, so under a dollar budget its cost is unbounded. */
  unpriced?: string;
}

interface Hold {
  tokens: number;
  costUsd: number;
}

/**
 * Reserve before the call, settle when it answers, release when it fails: spent + reserved never
 * exceeds a limit, so a run overspends only by what its calls used beyond their estimates.
 */
export class BudgetLedger {
  private spentUsd = 0;
  private spentTokens = 0;
  private readonly holds = new Map<string, Hold>();
  /** The run's limits: its start's, until an approval raises them. */
  private limits: RunBudgetLimits;
  private pending: BudgetApprovalRequest | undefined;
  private readonly approvals: BudgetApprovalRecord[] = [];

  constructor(private readonly budget: RunBudget) {
    this.limits = budget.limits;
  }

  /** Holds the call's worst case under `key`; a refusal when it does not fit what is left. */
  reserve(key: string, call: PlannedCall): BudgetRefusal | undefined {
    const worst = worstCase(call, this.budget.priceBook);
    const { maxCostUsd, maxTokens } = this.limits;
    const remaining = this.remaining();
    if (maxCostUsd !== undefined && !worst.price) {
      return { dimension: 'costUsd', needed: worst.costUsd, remaining: remaining.costUsd!, unpriced: priceKey(call.provider, worst.model) };
    }
    if (maxCostUsd !== undefined && worst.costUsd > remaining.costUsd!) return { dimension: 'costUsd', needed: worst.costUsd, remaining: remaining.costUsd! };
    if (maxTokens !== undefined && worst.tokens > remaining.tokens!) return { dimension: 'tokens', needed: worst.tokens, remaining: remaining.tokens! };
    this.holds.set(key, { tokens: worst.tokens, costUsd: Number.isFinite(worst.costUsd) ? worst.costUsd : 0 });
    return undefined;
  }

  /** The call answered: its hold becomes what it used (its cost at the run's prices; unknown usage keeps the hold). */
  settle(key: string, used: { usage?: TokenUsage; costUsd?: number | null; usageUnknown?: boolean; cached?: boolean }): void {
    const hold = this.holds.get(key);
    this.holds.delete(key);
    // A cached answer was paid for by the call that got it.
    if (used.cached) return;
    if (used.usageUnknown || !used.usage) {
      // No usage reported: the worst case is what the provider may have charged.
      if (hold) this.spend(hold.tokens, hold.costUsd);
      return;
    }
    this.spend(used.usage.inputTokens + used.usage.outputTokens, used.costUsd ?? hold?.costUsd ?? 0);
  }

  /** The call failed without an answer to pay for: its hold goes back. */
  release(key: string): void {
    this.holds.delete(key);
  }

  /** The call failed after the provider generated (and billed) its answer, e.g. cut at its output limit: its hold is spent. */
  spendHold(key: string): void {
    const hold = this.holds.get(key);
    this.holds.delete(key);
    if (hold) this.spend(hold.tokens, hold.costUsd);
  }

  /** Calls in flight, each holding its worst case. */
  get heldCalls(): number {
    return this.holds.size;
  }

  /**
   * Records that `call` of `step`, refused on `dimension`, waits for a budget approval, with the
   * smallest limits it would fit under. A call already waiting (another lane of a map) keeps its request.
   */
  requestApproval(
    step: string,
    call: string,
    planned: PlannedCall,
    dimension: BudgetRefusal['dimension'],
    requestedAt: string,
    timeoutAt: string | null,
  ): BudgetApprovalRequest {
    if (this.pending) return this.pending;
    const worst = worstCase(planned, this.budget.priceBook);
    const used = this.status();
    const { maxCostUsd, maxTokens } = this.limits;
    const limitsToFit: RunBudgetLimits = {
      ...(maxCostUsd === undefined ? {} : { maxCostUsd: Math.max(maxCostUsd, ceilUsd(used.spent.costUsd + used.reserved.costUsd + worst.costUsd)) }),
      ...(maxTokens === undefined ? {} : { maxTokens: Math.max(maxTokens, used.spent.tokens + used.reserved.tokens + worst.tokens) }),
    };
    this.pending = { step, call, dimension, needed: { costUsd: worst.costUsd, tokens: worst.tokens }, limitsToFit, requestedAt, timeoutAt };
    return this.pending;
  }

  /** What is wrong with approving the pending request with `raised` (empty: it may be approved). Fields are the approve body's. */
  raiseProblems(raised: RunBudgetLimits): { field: string; reason: string }[] {
    const toFit = this.pending?.limitsToFit ?? {};
    return LIMIT_NAMES.flatMap((name) => {
      const current = this.limits[name];
      const asked = raised[name];
      const field = `budget.${name}`;
      if (asked !== undefined && current === undefined) return [{ field, reason: `the run has no ${LIMIT_WORDS[name]} limit to raise` }];
      if (asked !== undefined && asked <= current!) return [{ field, reason: `must be above the run's current limit of ${current}` }];
      const needed = toFit[name];
      if (needed !== undefined && (asked ?? current!) < needed) {
        return [{ field, reason: `the waiting call fits only under a ${LIMIT_WORDS[name]} limit of at least ${needed}` }];
      }
      return [];
    });
  }

  /** The pending approval is decided: approved raises the limits to `raised`; either way the request is recorded and closed. */
  decide(decision: Pick<BudgetApprovalRecord, 'decision' | 'by' | 'comment' | 'decidedAt'>, raised: RunBudgetLimits = {}): void {
    if (!this.pending) return;
    const from = this.limits;
    if (decision.decision === 'approved') this.limits = { ...from, ...raised };
    this.approvals.push({ step: this.pending.step, call: this.pending.call, ...decision, from, to: this.limits });
    this.pending = undefined;
  }

  get pendingApproval(): BudgetApprovalRequest | undefined {
    return this.pending;
  }

  status(): BudgetStatus {
    const reserved = [...this.holds.values()].reduce((sum, hold) => ({ costUsd: sum.costUsd + hold.costUsd, tokens: sum.tokens + hold.tokens }), {
      costUsd: 0,
      tokens: 0,
    });
    return {
      limits: this.limits,
      spent: { costUsd: roundUsd(this.spentUsd), tokens: this.spentTokens },
      reserved: { costUsd: roundUsd(reserved.costUsd), tokens: reserved.tokens },
      remaining: this.remaining(),
      ...(this.pending ? { pendingApproval: this.pending } : {}),
      ...(this.approvals.length ? { approvals: this.approvals } : {}),
    };
  }

  private remaining(): BudgetStatus['remaining'] {
    const held = [...this.holds.values()];
    const { maxCostUsd, maxTokens } = this.limits;
    return {
      ...(maxCostUsd === undefined ? {} : { costUsd: roundUsd(Math.max(0, maxCostUsd - this.spentUsd - held.reduce((sum, hold) => sum + hold.costUsd, 0))) }),
      ...(maxTokens === undefined ? {} : { tokens: Math.max(0, maxTokens - this.spentTokens - held.reduce((sum, hold) => sum + hold.tokens, 0)) }),
    };
  }

  private spend(tokens: number, costUsd: number): void {
    this.spentTokens += tokens;
    this.spentUsd += costUsd;
  }
}

/** The refusal in words, for the step's BudgetExceeded failure. */
export function describeRefusal(refusal: BudgetRefusal): string {
  if (refusal.unpriced) return `${refusal.unpriced} has no known price, so a call to it cannot be held to the run's budget in USD`;
  return refusal.dimension === 'costUsd'
    ? `the call may cost up to $${refusal.needed}; $${refusal.remaining} of the run's budget is left`
    : `the call may use up to ${refusal.needed} tokens; ${refusal.remaining} of the run's budget are left`;
}
