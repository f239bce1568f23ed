import { priceKey, type BudgetPriceBook, type RunBudgetLimits } from '../pipeline/budget';
import { isMapStep, isParallelStep, type PipelineDefinition, type ProviderCallSpec } from '../pipeline/types';
import type { FieldProblem } from '../pipeline/validate';
import type { Env } from './env';
import { priceOf, type ModelPrice, type PriceTable } from './prices';
import { loadProviderSettings } from './providers';
import { loadReservationPricing } from './spend';

/** What the API prices a budgeted run's calls with: the workers' price table and default models. */
export interface BudgetPricing {
  prices: PriceTable;
  defaultModels: Record<string, string>;
  /** CHORUS_BUDGET_OUTPUT_TOKENS: what a call whose step sets no maxOutputTokens reserves for its answer. @default 4096 */
  defaultOutputTokens: number;
  /** CHORUS_BUDGET_FALLBACK_PRICE: what a model without a price is held and charged at. @default none: refused under a USD budget */
  fallbackPrice?: ModelPrice;
}

export function loadBudgetPricing(env: Env = process.env): BudgetPricing {
  const { prices, endpoints } = loadProviderSettings(env);
  return {
    prices,
    defaultModels: Object.fromEntries(Object.entries(endpoints).map(([name, endpoint]) => [name, endpoint.defaultModel])),
    ...loadReservationPricing(env),
  };
}

/** Every call site of a definition, with the JSON path its fields are reported at. */
function callSites(pipeline: PipelineDefinition): { spec: ProviderCallSpec; at: string }[] {
  return pipeline.steps.flatMap((step, index) => {
    const at = `$.steps[${index}]`;
    if (isParallelStep(step)) return step.parallel.map((member, position) => ({ spec: member, at: `${at}.parallel[${position}]` }));
    if (isMapStep(step)) return [{ spec: step.map.step, at: `${at}.map.step` }];
    return 'provider' in step ? [{ spec: step, at }] : [];
  });
}

/**
 * The prices a budgeted run holds its calls to: every model its steps and fallbacks may call. Under
 * a budget in USD a model without a price is refused here, at the start: it would never be free.
 */
export function priceBookFor(
  pipeline: PipelineDefinition,
  limits: RunBudgetLimits,
  pricing: BudgetPricing,
): { priceBook: BudgetPriceBook; problems: FieldProblem[] } {
  const prices: BudgetPriceBook['prices'] = {};
  const problems: FieldProblem[] = [];
  for (const { spec, at } of callSites(pipeline)) {
    const targets = [
      { provider: spec.provider, model: spec.model, field: `${at}.model` },
      ...(spec.fallback ?? []).map((target, index) => ({ ...target, field: `${at}.fallback[${index}].model` })),
    ];
    for (const { provider, model: named, field } of targets) {
      const model = named ?? pricing.defaultModels[provider];
      const price = model === undefined ? undefined : (priceOf(pricing.prices, provider, model) ?? pricing.fallbackPrice);
      if (price) prices[priceKey(provider, model!)] = price;
      else if (limits.maxCostUsd !== undefined) {
        problems.push({
          field,
          reason: `${provider}/${model ?? '?'} has no known price, and a budget in USD needs one (CHORUS_PRICES_FILE, <NAME>_PRICES or CHORUS_BUDGET_FALLBACK_PRICE)`,
        });
      }
    }
  }
  return { priceBook: { prices, defaultModels: pricing.defaultModels, defaultOutputTokens: pricing.defaultOutputTokens }, problems };
}
