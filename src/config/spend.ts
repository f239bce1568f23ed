import { z } from 'zod';
import type { ModelPrice } from '../pipeline/providers';
import { ConfigError, parseEnv, positiveInt, redisUrl, type Env } from './env';

/** A tenant's caps: USD and tokens, per UTC day and per UTC month; an absent cap does not limit. */
export interface TenantCaps {
  dailyUsd?: number;
  monthlyUsd?: number;
  dailyTokens?: number;
  monthlyTokens?: number;
}

/** Where tenant spend is held and counted, and the caps it is held to. */
export interface SpendSettings {
  /** CHORUS_REDIS_URL: the ledger every worker and API instance shares. @default none: no tenant caps, no usage report */
  redisUrl?: string;
  /** CHORUS_TENANT_DAILY_USD, …: every tenant's caps unless CHORUS_TENANT_CAPS gives it its own. @default none */
  defaults: TenantCaps;
  /** CHORUS_TENANT_CAPS: tenant → caps; each cap it names replaces the default one. @default {} */
  byTenant: Record<string, TenantCaps>;
  /**
   * CHORUS_SPEND_HOLD_LEASE_MS: how long a call's hold lives unless its attempt renews it (every
   * third of this while it is in flight). A crashed attempt's hold is charged at its worst case this
   * long after its last renewal. @default 30000
   */
  holdLeaseMs: number;
  /**
   * CHORUS_BUDGET_FALLBACK_PRICE: `input/output` USD per million tokens that a call to a model
   * without a price reserves and is charged at under a budget. @default none: such a call is refused
   */
  fallbackPrice?: ModelPrice;
  /** CHORUS_BUDGET_OUTPUT_TOKENS: what a call whose step sets no maxOutputTokens reserves for its answer. @default 4096 */
  defaultOutputTokens: number;
}

const Cap = z.coerce.number().positive().optional();
const TenantName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a tenant name (letters, digits, "_", "." or "-")');
const CapsObject = z
  .object({
    dailyUsd: z.number().positive(),
    monthlyUsd: z.number().positive(),
    dailyTokens: z.number().int().positive(),
    monthlyTokens: z.number().int().positive(),
  })
  .partial()
  .strict();

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, context): z.infer<T> => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      context.addIssue({ code: 'custom', message: 'expected JSON' });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      context.addIssue({ code: 'custom', message: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') });
      return z.NEVER;
    }
    return parsed.data;
  });

const FallbackPrice = z
  .string()
  .regex(/^\d+(\.\d+)?\/\d+(\.\d+)?$/, 'expected input/output USD per million tokens, e.g. 15/75')
  .transform((text): ModelPrice => {
    const [input, output] = text.split('/').map(Number);
    return { input, output };
  });

/** How a call is priced before it is sent, for run budgets and tenant caps alike. */
export function loadReservationPricing(env: Env = process.env): Pick<SpendSettings, 'fallbackPrice' | 'defaultOutputTokens'> {
  const vars = parseEnv({ CHORUS_BUDGET_FALLBACK_PRICE: FallbackPrice.optional(), CHORUS_BUDGET_OUTPUT_TOKENS: positiveInt(4096) }, env);
  return {
    ...(vars.CHORUS_BUDGET_FALLBACK_PRICE ? { fallbackPrice: vars.CHORUS_BUDGET_FALLBACK_PRICE } : {}),
    defaultOutputTokens: vars.CHORUS_BUDGET_OUTPUT_TOKENS,
  };
}

export function loadSpendSettings(env: Env = process.env): SpendSettings {
  const vars = parseEnv(
    {
      CHORUS_REDIS_URL: redisUrl(),
      CHORUS_TENANT_DAILY_USD: Cap,
      CHORUS_TENANT_MONTHLY_USD: Cap,
      CHORUS_TENANT_DAILY_TOKENS: z.coerce.number().int().positive().optional(),
      CHORUS_TENANT_MONTHLY_TOKENS: z.coerce.number().int().positive().optional(),
      CHORUS_TENANT_CAPS: jsonOf(z.record(TenantName, CapsObject)).optional(),
      CHORUS_SPEND_HOLD_LEASE_MS: positiveInt(30_000),
    },
    env,
  );
  const defaults = dropUndefined({
    dailyUsd: vars.CHORUS_TENANT_DAILY_USD,
    monthlyUsd: vars.CHORUS_TENANT_MONTHLY_USD,
    dailyTokens: vars.CHORUS_TENANT_DAILY_TOKENS,
    monthlyTokens: vars.CHORUS_TENANT_MONTHLY_TOKENS,
  });
  const byTenant = vars.CHORUS_TENANT_CAPS ?? {};
  const capsSet = Object.keys(defaults).length > 0 || Object.keys(byTenant).length > 0;
  // Caps held per process would let N workers spend N times a cap: they need the shared ledger.
  if (capsSet && !vars.CHORUS_REDIS_URL) {
    throw new ConfigError('Invalid configuration:\n  CHORUS_REDIS_URL: tenant caps (CHORUS_TENANT_*) need the Redis every worker shares spend through');
  }
  return {
    redisUrl: vars.CHORUS_REDIS_URL,
    defaults,
    byTenant,
    holdLeaseMs: vars.CHORUS_SPEND_HOLD_LEASE_MS,
    ...loadReservationPricing(env),
  };
}

/** A tenant's caps: its own where it has them, the defaults otherwise. */
export function capsOf(settings: Pick<SpendSettings, 'defaults' | 'byTenant'>, tenant: string): TenantCaps {
  return { ...settings.defaults, ...settings.byTenant[tenant] };
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
