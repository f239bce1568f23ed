import { Inject, Injectable, ServiceUnavailableException, type OnModuleDestroy } from '@nestjs/common';
import type { ApiSettings } from '../../src/config/api';
import { capsOf } from '../../src/config/spend';
import type { TemporalSettings } from '../../src/config/temporal';
import type { Usage } from '../../src/contract/api';
import { connectRedisTenantLedger, utcDay, type Spend, type SpendRow, type TenantLedger } from '../../src/spend/tenant-ledger';
import { badRequest } from '../errors/bad-request';
import { API_SETTINGS, TEMPORAL_SETTINGS } from '../tokens';

/** The longest period one report covers: a year, leap day included. */
const MAX_PERIOD_DAYS = 366;
const DAY_MS = 86_400_000;

/** A real UTC day (2026-02-30 is not one), as midnight in ms. */
function dayMs(day: string): number | undefined {
  const ms = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(ms) || utcDay(ms) !== day ? undefined : ms;
}

const add = (sum: Spend, row: Spend): Spend => ({
  costUsd: Math.round((sum.costUsd + row.costUsd) * 1e8) / 1e8,
  tokens: sum.tokens + row.tokens,
  calls: sum.calls + row.calls,
});
const NOTHING: Spend = { costUsd: 0, tokens: 0, calls: 0 };

/** Rows summed by a key of theirs, in order of first appearance. */
function sumBy<K extends keyof SpendRow>(rows: SpendRow[], keys: K[]): (Pick<SpendRow, K> & Spend)[] {
  const sums = new Map<string, Pick<SpendRow, K> & Spend>();
  for (const row of rows) {
    const id = JSON.stringify(keys.map((key) => row[key]));
    const picked = Object.fromEntries(keys.map((key) => [key, row[key]])) as Pick<SpendRow, K>;
    const sum = sums.get(id) ?? { ...picked, ...NOTHING };
    sums.set(id, { ...sum, ...add(sum, row) });
  }
  return [...sums.values()];
}

/** A tenant's spend, read from the ledger every worker holds its calls in. */
@Injectable()
export class UsageService implements OnModuleDestroy {
  private ledger?: Promise<TenantLedger>;

  constructor(
    @Inject(API_SETTINGS) private readonly settings: ApiSettings,
    @Inject(TEMPORAL_SETTINGS) private readonly temporal: TemporalSettings,
  ) {}

  async usage(tenant: string, query: { from?: string; to?: string }, nowMs = Date.now()): Promise<Usage> {
    const today = utcDay(nowMs);
    const to = query.to ?? today;
    const toMs = dayMs(to);
    if (toMs === undefined) throw badRequest([{ field: 'to', reason: `${to} is not a day of the calendar` }]);
    const from = query.from ?? `${to.slice(0, 7)}-01`;
    const fromMs = dayMs(from);
    if (fromMs === undefined) throw badRequest([{ field: 'from', reason: `${from} is not a day of the calendar` }]);
    if (fromMs > toMs) throw badRequest([{ field: 'from', reason: `must not be after to (${to})` }]);
    if ((toMs - fromMs) / DAY_MS + 1 > MAX_PERIOD_DAYS) throw badRequest([{ field: 'to', reason: `a period covers at most ${MAX_PERIOD_DAYS} days` }]);
    const days = Array.from({ length: (toMs - fromMs) / DAY_MS + 1 }, (_, index) => utcDay(fromMs + index * DAY_MS));

    const ledger = await this.connect();
    let spend;
    try {
      spend = await ledger.spend(tenant, days, nowMs);
    } catch (error) {
      throw new ServiceUnavailableException(`The spend ledger did not answer: ${(error as Error).message}`);
    }
    const caps = capsOf(this.settings.spend!, tenant);
    return {
      tenant,
      from,
      to,
      total: spend.rows.reduce(add, NOTHING),
      byDay: sumBy(spend.rows, ['day']),
      byPipeline: sumBy(spend.rows, ['pipeline']),
      byProvider: sumBy(spend.rows, ['provider']),
      byModel: sumBy(spend.rows, ['provider', 'model']),
      rows: spend.rows,
      reserved: spend.reserved,
      caps: {
        daily: {
          ...(caps.dailyUsd === undefined ? {} : { usd: caps.dailyUsd }),
          ...(caps.dailyTokens === undefined ? {} : { tokens: caps.dailyTokens }),
          spent: spend.today,
        },
        monthly: {
          ...(caps.monthlyUsd === undefined ? {} : { usd: caps.monthlyUsd }),
          ...(caps.monthlyTokens === undefined ? {} : { tokens: caps.monthlyTokens }),
          spent: spend.thisMonth,
        },
      },
      expiredHolds: spend.expiredHolds,
    };
  }

  private connect(): Promise<TenantLedger> {
    const redisUrl = this.settings.spend?.redisUrl;
    if (!redisUrl) throw new ServiceUnavailableException('This deployment keeps no spend ledger: set CHORUS_REDIS_URL (the Redis its workers share)');
    // The workers' scope: the ledger's keys are the task queue's, like the pacer's and the breakers'.
    this.ledger ??= connectRedisTenantLedger({ redisUrl, scope: this.temporal.taskQueue });
    return this.ledger;
  }

  async onModuleDestroy(): Promise<void> {
    await (await this.ledger)?.close();
  }
}
