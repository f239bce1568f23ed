import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PROVIDER_NAMES, type ProviderName } from '../pipeline/providers';
import { parseEnv, type Env } from './env';

/** USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}
export type PriceTable = Record<ProviderName, Record<string, ModelPrice>>;

/** List prices at the time of writing; override or extend with CHORUS_PRICES_FILE. */
export const DEFAULT_PRICES: PriceTable = {
  openai: {
    'gpt-4o-mini': { input: 0.15, output: 0.6 },
    'gpt-4o': { input: 2.5, output: 10 },
    'gpt-4.1': { input: 2, output: 8 },
    'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  },
  cohere: {
    'command-r-08-2024': { input: 0.15, output: 0.6 },
    'command-r-plus-08-2024': { input: 2.5, output: 10 },
    'command-a-03-2025': { input: 2.5, output: 10 },
  },
  gemini: {
    'gemini-2.0-flash': { input: 0.1, output: 0.4 },
    'gemini-2.5-flash': { input: 0.3, output: 2.5 },
    'gemini-2.5-pro': { input: 1.25, output: 10 },
  },
};

const PriceFile = z.partialRecord(z.enum(PROVIDER_NAMES), z.record(z.string(), z.object({ input: z.number().min(0), output: z.number().min(0) }).strict()));

export function loadPriceTable(env: Env = process.env): PriceTable {
  const { CHORUS_PRICES_FILE: file } = parseEnv({ CHORUS_PRICES_FILE: z.string().optional() }, env);
  if (!file) return DEFAULT_PRICES;
  const parsed = PriceFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(`Invalid configuration:\n  CHORUS_PRICES_FILE (${file}): ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const table = structuredClone(DEFAULT_PRICES);
  for (const [provider, models] of Object.entries(parsed.data) as [ProviderName, Record<string, ModelPrice>][]) Object.assign(table[provider], models);
  return table;
}

/** Price of a model: an exact entry, else the longest entry the model name starts with (dated snapshots). */
export function priceOf(table: PriceTable, provider: ProviderName, model: string): ModelPrice | undefined {
  const models = table[provider];
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
