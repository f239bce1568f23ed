import { ApplicationFailure, type Info } from '@temporalio/activity';
import { estimateCostUsd, priceOf, type PriceTable } from '../src/config/prices';
import { capsOf, type SpendSettings, type TenantCaps } from '../src/config/spend';
import { priceKey, worstCase } from '../src/pipeline/budget';
import { FailureType } from '../src/pipeline/failures';
import type { ModelPrice, ProviderName } from '../src/pipeline/providers';
import type { StepResult } from '../src/pipeline/types';
import type { CapRefusal, SpendLabel, TenantLedger } from '../src/spend/tenant-ledger';

/** What one tenant's answered call spent, for metrics. */
export interface TenantSpendRecord {
  tenant: string;
  provider: ProviderName;
  model: string;
  costUsd: number;
  tokens: number;
}

export interface TenantSpendMetrics {
  spent(record: TenantSpendRecord): void;
  refused(tenant: string, period: CapRefusal['period']): void;
}

export const NO_TENANT_SPEND_METRICS: TenantSpendMetrics = { spent() {}, refused() {} };

/** A call as the tenant ledger prices it before it is sent. */
export interface MeteredCall {
  tenant: string;
  pipeline: string;
  provider: ProviderName;
  model: string;
  inputChars: number;
  hasImage: boolean;
  maxOutputTokens?: number;
}

export interface TenantSpendDeps {
  ledger: TenantLedger;
  settings: Pick<SpendSettings, 'defaults' | 'byTenant' | 'holdLeaseMs' | 'fallbackPrice' | 'defaultOutputTokens'>;
  metrics?: TenantSpendMetrics;
}

interface Log {
  warn(message: string, meta?: Record<string, unknown>): void;
}

const hasCap = (caps: TenantCaps) => Object.values(caps).some((cap) => cap !== undefined);

/** One attempt of one call: a retry holds anew, so a crashed attempt's hold is its own until it expires. */
export function holdId(info: Info): string {
  const run = info.workflowExecution;
  return `${run?.workflowId ?? info.workflowType}/${run?.runId ?? ''}/${info.isLocal ? 'local:' : ''}${info.activityId}/${info.attempt}`;
}

function capExceeded(tenant: string, refusal: CapRefusal): ApplicationFailure {
  const unit = (value: number) => (refusal.dimension === 'costUsd' ? `$${value}` : `${value} tokens`);
  const period = refusal.period === 'day' ? 'daily' : 'monthly';
  return ApplicationFailure.create({
    type: FailureType.BudgetExceeded,
    message: `the call may use up to ${unit(refusal.needed)}; tenant ${tenant} has used ${unit(refusal.used)} of its ${period} cap of ${unit(refusal.cap)}`,
    nonRetryable: true,
    details: [{ tenant, ...refusal }],
  });
}

/**
 * Holds each call's worst case against its tenant's daily and monthly caps in the shared ledger
 * before it is sent, renews the hold while the call is in flight, and settles it when the call
 * ends: its usage when it answered, nothing when it failed unbilled.
 */
export function createTenantSpend({ ledger, settings, metrics = NO_TENANT_SPEND_METRICS }: TenantSpendDeps, prices: PriceTable, clock: () => number) {
  return async function metered(call: MeteredCall, id: string, log: Log, produce: () => Promise<StepResult>): Promise<StepResult> {
    const caps = capsOf(settings, call.tenant);
    const capped = hasCap(caps);
    const price: ModelPrice | undefined = priceOf(prices, call.provider, call.model) ?? settings.fallbackPrice;
    // Never silently free: a model without a price cannot be held to a cap in USD unless a fallback price says what it may cost.
    if (!price && (caps.dailyUsd !== undefined || caps.monthlyUsd !== undefined)) {
      throw ApplicationFailure.create({
        type: FailureType.BudgetExceeded,
        message: `${priceKey(call.provider, call.model)} has no known price, so a call to it cannot be held to tenant ${call.tenant}'s cap in USD (set CHORUS_BUDGET_FALLBACK_PRICE)`,
        nonRetryable: true,
      });
    }
    const book = {
      prices: price ? { [priceKey(call.provider, call.model)]: price } : {},
      defaultModels: { [call.provider]: call.model },
      defaultOutputTokens: settings.defaultOutputTokens,
    };
    const worst = worstCase(call, book);
    const hold = { costUsd: Number.isFinite(worst.costUsd) ? worst.costUsd : 0, tokens: worst.tokens };
    const label: SpendLabel = { pipeline: call.pipeline, provider: call.provider, model: call.model };
    try {
      const refusal = await ledger.reserve({ tenant: call.tenant, id, ...hold, label, caps }, clock(), settings.holdLeaseMs);
      if (refusal) {
        metrics.refused(call.tenant, refusal.period);
        throw capExceeded(call.tenant, refusal);
      }
    } catch (error) {
      if (error instanceof ApplicationFailure) throw error;
      // A cap cannot be held without the ledger: such a call waits (Temporal retries) rather than overspend.
      if (capped) throw ApplicationFailure.retryable(`the spend ledger is unreachable: ${(error as Error).message}`, FailureType.SpendLedgerUnavailable);
      log.warn('spend ledger unreachable: this call is not counted in the tenant usage', { tenant: call.tenant, error: (error as Error).message });
      return produce();
    }
    const renewEvery = Math.max(settings.holdLeaseMs / 3, 50);
    const renewal = setInterval(() => void ledger.renew(call.tenant, id, clock() + settings.holdLeaseMs).catch(() => undefined), renewEvery);
    const settle = async (action: () => Promise<void>) => {
      try {
        await action();
      } catch (error) {
        // The hold then expires and is charged at its worst case: the ledger errs on the side of spent.
        log.warn('spend ledger unreachable: the hold will be charged at its worst case when its lease ends', {
          tenant: call.tenant,
          error: (error as Error).message,
        });
      }
    };
    try {
      const result = await produce();
      clearInterval(renewal);
      const billable = result.billedUsage ?? result.usage;
      const used = result.usageUnknown
        ? hold
        : {
            costUsd: result.costUsd ?? estimateCostUsd(price, billable.inputTokens, billable.outputTokens) ?? 0,
            tokens: billable.inputTokens + billable.outputTokens,
          };
      await settle(() => ledger.commit(call.tenant, id, used, { ...label, model: result.model }, clock()));
      metrics.spent({ tenant: call.tenant, provider: call.provider, model: result.model, ...used });
      return result;
    } catch (error) {
      clearInterval(renewal);
      // An answer cut at its output limit was generated, and billed, in full.
      const billed = error instanceof ApplicationFailure && error.type === FailureType.ProviderOutputTruncated;
      await settle(() => (billed ? ledger.commit(call.tenant, id, hold, label, clock()) : ledger.release(call.tenant, id, clock())));
      if (billed) metrics.spent({ tenant: call.tenant, provider: call.provider, model: call.model, ...hold });
      throw error;
    }
  };
}

export type TenantSpend = ReturnType<typeof createTenantSpend>;
