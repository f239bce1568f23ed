import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PROVIDER_CATALOG, type ModelPrice, type ProviderName } from '../pipeline/providers';
import { parseEnv, type Env } from './env';

export type { ModelPrice } from '../pipeline/providers';
/** Provider → model → USD per million tokens. */
export type PriceTable = Record<ProviderName, Record<string, ModelPrice>>;

/** The catalog's list prices (each provider's entry says the day they were taken); override or extend with CHORUS_PRICES_FILE. */
export const DEFAULT_PRICES: PriceTable = Object.fromEntries(PROVIDER_CATALOG.map((entry) => [entry.name, { ...entry.prices.models }]));

const PriceFile = z.record(z.string(), z.record(z.string(), z.object({ input: z.number().min(0), output: z.number().min(0) }).strict()));

/**
 * Catalog prices, then configured instances' own (`<NAME>_PRICES`), then CHORUS_PRICES_FILE, each
 * model entry overriding the one before; the file may name only known providers.
 */
export function loadPriceTable(env: Env = process.env, instancePrices: PriceTable = {}): PriceTable {
  const { CHORUS_PRICES_FILE: file } = parseEnv({ CHORUS_PRICES_FILE: z.string().optional() }, env);
  const table = structuredClone(DEFAULT_PRICES);
  for (const [provider, models] of Object.entries(instancePrices)) table[provider] = { ...models };
  if (!file) return table;
  const parsed = PriceFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  const unknown = parsed.success ? Object.keys(parsed.data).filter((provider) => !table[provider]) : [];
  if (!parsed.success || unknown.length) {
    const problems = parsed.success
      ? unknown.map((provider) => `${provider}: unknown provider; known: ${Object.keys(table).join(', ')}`)
      : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration:\n  CHORUS_PRICES_FILE (${file}): ${problems.join('; ')}`);
  }
  for (const [provider, models] of Object.entries(parsed.data)) Object.assign(table[provider], models);
  return table;
}

/** Price of a model: an exact entry, else the longest entry the model name starts with (dated snapshots). */
export function priceOf(table: PriceTable, provider: ProviderName, model: string): ModelPrice | undefined {
  const models = table[provider] ?? {};
  if (models[model]) return models[model];
  const prefix = Object.keys(models)
    .filter((name) => model.startsWith(`${name}-`))
    .sort((a, b) => b.length - a.length)[0];
  return prefix ? models[prefix] : undefined;
}

export function estimateCostUsd(price: ModelPrice | undefined, inputTokens: number, outputTokens: number): number | null {
  if (!price) return null;
  return Math.round(((inputTokens * price.input + outputTokens * price.output) / 1e6) * 1e8) / 1e8;
}
