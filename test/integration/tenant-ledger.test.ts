import { randomUUID } from 'node:crypto';
import { connectRedisTenantLedger, utcDay, type TenantLedger } from '../../src/spend/tenant-ledger';
import { startRedis } from '../helpers/redis';

const label = { pipeline: 'digest', provider: 'openai', model: 'gpt-4o-mini' };
const NOW = Date.parse('2026-12-02T10:00:00Z');
const LEASE = 1000;

/** The tenant ledger's scripts against a real redis-server: the check-and-hold is atomic, and nothing held is lost. */
describe('tenant ledger in Redis', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let ledger: TenantLedger;
  beforeAll(async () => {
    redis = await startRedis();
    ledger = await connectRedisTenantLedger({ redisUrl: redis.url, scope: `ledger-${randomUUID()}` });
  });
  afterAll(async () => {
    await ledger?.close();
    await redis?.stop();
  });

  it('lets 100 concurrent holds of $0.01 under a $0.25 daily cap take exactly 25, then refuses naming the cap', async () => {
    const tenant = 'concurrent';
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        ledger.reserve({ tenant, id: `call-${index}`, costUsd: 0.01, tokens: 100, label, caps: { dailyUsd: 0.25 } }, NOW, LEASE),
      ),
    );
    expect(answers.filter((answer) => answer === undefined)).toHaveLength(25);
    expect(answers.find(Boolean)).toEqual({ period: 'day', dimension: 'costUsd', cap: 0.25, used: 0.25, needed: 0.01 });
    const spend = await ledger.spend(tenant, [utcDay(NOW)], NOW);
    expect(spend.reserved).toEqual({ costUsd: 0.25, tokens: 2500, calls: 25 });
    expect(spend.today).toEqual({ costUsd: 0, tokens: 0, calls: 0 });
  });

  it('commits what a call used and releases a failed one: the room comes back, the spend is counted by label', async () => {
    const tenant = 'settles';
    const caps = { dailyTokens: 1000 };
    expect(await ledger.reserve({ tenant, id: 'a', costUsd: 0.002, tokens: 600, label, caps }, NOW, LEASE)).toBeUndefined();
    expect(await ledger.reserve({ tenant, id: 'b', costUsd: 0.002, tokens: 600, label, caps }, NOW, LEASE)).toMatchObject({ dimension: 'tokens', used: 600 });
    await ledger.commit(tenant, 'a', { costUsd: 0.0004, tokens: 150 }, label, NOW);
    expect(await ledger.reserve({ tenant, id: 'b', costUsd: 0.002, tokens: 600, label, caps }, NOW, LEASE)).toBeUndefined();
    await ledger.release(tenant, 'b', NOW);
    const spend = await ledger.spend(tenant, [utcDay(NOW)], NOW);
    expect(spend.reserved).toEqual({ costUsd: 0, tokens: 0, calls: 0 });
    expect(spend.rows).toEqual([{ day: '2026-12-02', ...label, costUsd: 0.0004, tokens: 150, calls: 1 }]);
    expect(spend.thisMonth).toEqual({ costUsd: 0.0004, tokens: 150, calls: 1 });
  });

  it('charges a hold not renewed within its lease at its worst case, and corrects it when the late answer commits', async () => {
    const tenant = 'crashed';
    await ledger.reserve({ tenant, id: 'lost', costUsd: 0.01, tokens: 1000, label, caps: {} }, NOW, LEASE);
    await ledger.reserve({ tenant, id: 'alive', costUsd: 0.01, tokens: 1000, label, caps: {} }, NOW, LEASE);
    expect(await ledger.renew(tenant, 'alive', NOW + 3 * LEASE)).toBe(true);
    const afterLease = await ledger.spend(tenant, [utcDay(NOW)], NOW + LEASE + 1);
    expect(afterLease.reserved).toEqual({ costUsd: 0.01, tokens: 1000, calls: 1 });
    expect(afterLease.today).toEqual({ costUsd: 0.01, tokens: 1000, calls: 1 });
    expect(afterLease.expiredHolds).toBe(1);
    expect(await ledger.renew(tenant, 'lost', NOW + 3 * LEASE)).toBe(false);
    // The crashed attempt's call did answer after all (its process was only stalled): its real usage replaces the charge.
    await ledger.commit(tenant, 'lost', { costUsd: 0.001, tokens: 90 }, label, NOW + LEASE + 2);
    await ledger.release(tenant, 'alive', NOW + LEASE + 2);
    const settled = await ledger.spend(tenant, [utcDay(NOW)], NOW + LEASE + 3);
    expect(settled.reserved).toEqual({ costUsd: 0, tokens: 0, calls: 0 });
    expect(settled.today).toEqual({ costUsd: 0.001, tokens: 90, calls: 1 });
  });

  it('holds a monthly cap over the days of the month', async () => {
    const tenant = 'monthly';
    const caps = { monthlyUsd: 0.05, dailyUsd: 1 };
    const dayOne = Date.parse('2026-12-01T12:00:00Z');
    await ledger.reserve({ tenant, id: 'one', costUsd: 0.04, tokens: 10, label, caps }, dayOne, LEASE);
    await ledger.commit(tenant, 'one', { costUsd: 0.04, tokens: 10 }, label, dayOne);
    expect(await ledger.reserve({ tenant, id: 'two', costUsd: 0.02, tokens: 10, label, caps }, NOW, LEASE)).toEqual({
      period: 'month',
      dimension: 'costUsd',
      cap: 0.05,
      used: 0.04,
      needed: 0.02,
    });
    const spend = await ledger.spend(tenant, ['2026-12-01', '2026-12-02'], NOW);
    expect(spend.rows.map((row) => row.day)).toEqual(['2026-12-01']);
    expect(spend.today.costUsd).toBe(0);
    expect(spend.thisMonth.costUsd).toBe(0.04);
  });
});
