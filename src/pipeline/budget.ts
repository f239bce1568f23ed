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
  if (!a) return b;
  if (!b) return a;
  const lower = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.min(x, y));
  const limits = { maxCostUsd: lower(a.maxCostUsd, b.maxCostUsd), maxTokens: lower(a.maxTokens, b.maxTokens) };
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}

export const priceKey = (provider: ProviderName, model: string) => `${provider}/${model}`;

const roundUsd = (usd: number) => Math.round(usd * 1e8) / 1e8;

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

  constructor(private readonly budget: RunBudget) {}

  /** Holds the call's worst case under `key`; a refusal when it does not fit what is left. */
  reserve(key: string, call: PlannedCall): BudgetRefusal | undefined {
    const worst = worstCase(call, this.budget.priceBook);
    const { maxCostUsd, maxTokens } = this.budget.limits;
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

  status(): BudgetStatus {
    const reserved = [...this.holds.values()].reduce((sum, hold) => ({ costUsd: sum.costUsd + hold.costUsd, tokens: sum.tokens + hold.tokens }), {
      costUsd: 0,
      tokens: 0,
    });
    return {
      limits: this.budget.limits,
      spent: { costUsd: roundUsd(this.spentUsd), tokens: this.spentTokens },
      reserved: { costUsd: roundUsd(reserved.costUsd), tokens: reserved.tokens },
      remaining: this.remaining(),
    };
  }

  private remaining(): BudgetStatus['remaining'] {
    const held = [...this.holds.values()];
    const { maxCostUsd, maxTokens } = this.budget.limits;
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
