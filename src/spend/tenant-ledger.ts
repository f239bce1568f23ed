import Redis from 'ioredis';
import type { TenantCaps } from '../config/spend';

/** What a unit of spend is counted under in the usage report. */
export interface SpendLabel {
  pipeline: string;
  provider: string;
  model: string;
}

/** One attempt's worst case, held against its tenant's caps while the call is in flight. */
export interface HoldRequest {
  tenant: string;
  /** One attempt of one call: workflow, run, activity and attempt. */
  id: string;
  costUsd: number;
  tokens: number;
  label: SpendLabel;
  caps: TenantCaps;
}

/** Why a hold did not fit: the cap, what the period had spent and held, and what the call needed. */
export interface CapRefusal {
  period: 'day' | 'month';
  dimension: 'costUsd' | 'tokens';
  cap: number;
  used: number;
  needed: number;
}

export interface Spend {
  costUsd: number;
  tokens: number;
  calls: number;
}

/** One day's spend under one label. */
export interface SpendRow extends Spend, SpendLabel {
  day: string;
}

/** A tenant's spend over whole UTC days, read after every expired hold was charged. */
export interface TenantSpend {
  rows: SpendRow[];
  /** Held right now by calls in flight, not yet spent. */
  reserved: { costUsd: number; tokens: number; calls: number };
  /** Today's and this month's totals (UTC), what the caps are held against. */
  today: Spend;
  thisMonth: Spend;
  /** Holds of crashed attempts charged at their worst case over the days read. */
  expiredHolds: number;
}

/**
 * Tenant spend shared by every worker and API instance: holds of in-flight calls and what each UTC
 * day and month spent. A hold not renewed within its lease is charged at its worst case (the
 * provider may have billed the crashed attempt); an answer or failure arriving later corrects it.
 */
export interface TenantLedger {
  /** Holds the call's worst case, or refuses it when the tenant's day or month has no room for it. */
  reserve(hold: HoldRequest, nowMs: number, leaseMs: number): Promise<CapRefusal | undefined>;
  /** Keeps an in-flight hold alive; false when it is gone (expired and charged). */
  renew(tenant: string, id: string, expiresAtMs: number): Promise<boolean>;
  /** The call answered: its hold becomes what it used. */
  commit(tenant: string, id: string, used: { costUsd: number; tokens: number }, label: SpendLabel, nowMs: number): Promise<void>;
  /** The call failed without an answer to pay for: its hold goes back. */
  release(tenant: string, id: string, nowMs: number): Promise<void>;
  /** The tenant's spend on the given UTC days (YYYY-MM-DD). */
  spend(tenant: string, days: readonly string[], nowMs: number): Promise<TenantSpend>;
  close(): Promise<void>;
}

/** Day keys outlive the longest period the usage report answers. */
const RETENTION_SECONDS = 400 * 86_400;
/** How long an expired hold's charge can still be corrected by its late answer. */
const CORRECTION_SECONDS = 86_400;
/** USD in whole nano-dollars: integer arithmetic in Redis, no float drift over millions of calls. */
const NANOS_PER_USD = 1e9;

export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const utcMonth = (ms: number) => new Date(ms).toISOString().slice(0, 7);

const toNanos = (usd: number) => Math.round(usd * NANOS_PER_USD);
const toUsd = (nanos: number) => Math.round(nanos / 10) / 1e8;
const encodeLabel = ({ pipeline, provider, model }: SpendLabel) => [pipeline, provider, model].map(encodeURIComponent).join('|');

/*
 * Shared by the scripts: keys are built from the tenant's prefix inside the script, so the ledger
 * needs one Redis (or one Redis Cluster slot per tenant via the {tenant} hash tag in the prefix).
 */
const COMMON_LUA = `
local prefix = ARGV[1]
local retention = ARGV[2]
local holds, expiry, held = prefix .. ':holds', prefix .. ':expiry', prefix .. ':held'
local function int(x) return string.format('%d', x) end
local function charge(day, month, label, cost, tokens, calls)
  local dayKey, monthKey = prefix .. ':day:' .. day, prefix .. ':month:' .. month
  redis.call('HINCRBY', dayKey, 'cost', int(cost))
  redis.call('HINCRBY', dayKey, 'tokens', int(tokens))
  redis.call('HINCRBY', dayKey, 'calls', int(calls))
  redis.call('HINCRBY', dayKey, 'c|' .. label, int(cost))
  redis.call('HINCRBY', dayKey, 't|' .. label, int(tokens))
  redis.call('HINCRBY', dayKey, 'n|' .. label, int(calls))
  redis.call('EXPIRE', dayKey, retention)
  redis.call('HINCRBY', monthKey, 'cost', int(cost))
  redis.call('HINCRBY', monthKey, 'tokens', int(tokens))
  redis.call('HINCRBY', monthKey, 'calls', int(calls))
  redis.call('EXPIRE', monthKey, retention)
end
local function drop(id, hold)
  redis.call('HDEL', holds, id)
  redis.call('ZREM', expiry, id)
  redis.call('HINCRBY', held, 'cost', int(-tonumber(hold.cost)))
  redis.call('HINCRBY', held, 'tokens', int(-tonumber(hold.tokens)))
  redis.call('HINCRBY', held, 'calls', -1)
end
local function sweep(now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', expiry, '-inf', now)) do
    local raw = redis.call('HGET', holds, id)
    redis.call('ZREM', expiry, id)
    if raw then
      local hold = cjson.decode(raw)
      drop(id, hold)
      charge(hold.day, hold.month, hold.label, tonumber(hold.cost), tonumber(hold.tokens), 1)
      redis.call('HINCRBY', prefix .. ':day:' .. hold.day, 'expired', 1)
      redis.call('SET', prefix .. ':charged:' .. id, raw, 'EX', ${CORRECTION_SECONDS})
    end
  end
end
`;

/** ARGV: prefix, retention, id, hold JSON, expiresAt, now, day cost cap, day tokens cap, month cost cap, month tokens cap (-1: none). */
const RESERVE_LUA = `${COMMON_LUA}
local id, raw, expiresAt, now = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
sweep(now)
local hold = cjson.decode(raw)
local cost, tokens = tonumber(hold.cost), tonumber(hold.tokens)
local previous = redis.call('HGET', holds, id)
if previous then drop(id, cjson.decode(previous)) end
local heldCost = tonumber(redis.call('HGET', held, 'cost') or '0')
local heldTokens = tonumber(redis.call('HGET', held, 'tokens') or '0')
local checks = {
  { 'day', 'costUsd', prefix .. ':day:' .. hold.day, 'cost', tonumber(ARGV[7]), heldCost, cost },
  { 'day', 'tokens', prefix .. ':day:' .. hold.day, 'tokens', tonumber(ARGV[8]), heldTokens, tokens },
  { 'month', 'costUsd', prefix .. ':month:' .. hold.month, 'cost', tonumber(ARGV[9]), heldCost, cost },
  { 'month', 'tokens', prefix .. ':month:' .. hold.month, 'tokens', tonumber(ARGV[10]), heldTokens, tokens },
}
for _, check in ipairs(checks) do
  local cap = check[5]
  if cap >= 0 then
    local used = tonumber(redis.call('HGET', check[3], check[4]) or '0') + check[6]
    if used + check[7] > cap then return { check[1], check[2], int(cap), int(used), int(check[7]) } end
  end
end
redis.call('HSET', holds, id, raw)
redis.call('ZADD', expiry, expiresAt, id)
redis.call('HINCRBY', held, 'cost', int(cost))
redis.call('HINCRBY', held, 'tokens', int(tokens))
redis.call('HINCRBY', held, 'calls', 1)
return {}
`;

/** ARGV: prefix, retention, id, cost, tokens, now, day, month, label. */
const COMMIT_LUA = `${COMMON_LUA}
local id, cost, tokens, now = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
sweep(now)
local raw = redis.call('HGET', holds, id)
if raw then
  local hold = cjson.decode(raw)
  drop(id, hold)
  charge(hold.day, hold.month, hold.label, cost, tokens, 1)
  return 'committed'
end
local charged = redis.call('GET', prefix .. ':charged:' .. id)
if charged then
  -- Charged at its worst case when its hold expired: now its real usage is known.
  local hold = cjson.decode(charged)
  redis.call('DEL', prefix .. ':charged:' .. id)
  charge(hold.day, hold.month, hold.label, cost - tonumber(hold.cost), tokens - tonumber(hold.tokens), 0)
  return 'corrected'
end
charge(ARGV[7], ARGV[8], ARGV[9], cost, tokens, 1)
return 'unheld'
`;

/** ARGV: prefix, retention, id, now. */
const RELEASE_LUA = `${COMMON_LUA}
local id, now = ARGV[3], ARGV[4]
sweep(now)
local raw = redis.call('HGET', holds, id)
if raw then
  drop(id, cjson.decode(raw))
  return 'released'
end
local charged = redis.call('GET', prefix .. ':charged:' .. id)
if charged then
  -- Its hold expired and was charged, but the call failed with nothing to pay for: refund it.
  local hold = cjson.decode(charged)
  redis.call('DEL', prefix .. ':charged:' .. id)
  charge(hold.day, hold.month, hold.label, -tonumber(hold.cost), -tonumber(hold.tokens), -1)
  redis.call('HINCRBY', prefix .. ':day:' .. hold.day, 'expired', -1)
  return 'refunded'
end
return 'none'
`;

/** KEYS: holds, expiry. ARGV: id, expiresAt. */
const RENEW_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[1])
return 1
`;

/** ARGV: prefix, retention, now, key suffixes…: every expired hold charged, then each hash read. */
const READ_LUA = `${COMMON_LUA}
sweep(ARGV[3])
local answers = { redis.call('HGETALL', held) }
for index = 4, #ARGV do answers[#answers + 1] = redis.call('HGETALL', prefix .. ':' .. ARGV[index]) end
return answers
`;

type LedgerRedis = Redis & {
  chorusSpendReserve(...args: (string | number)[]): Promise<string[]>;
  chorusSpendCommit(...args: (string | number)[]): Promise<string>;
  chorusSpendRelease(...args: (string | number)[]): Promise<string>;
  chorusSpendRenew(holds: string, expiry: string, id: string, expiresAt: number): Promise<number>;
  chorusSpendRead(...args: (string | number)[]): Promise<string[][]>;
};

const capArg = (cap: number | undefined, scale = 1) => (cap === undefined ? -1 : Math.round(cap * scale));

function hashOf(flat: string[]): Record<string, number> {
  const hash: Record<string, number> = {};
  for (let index = 0; index < flat.length; index += 2) hash[flat[index]] = Number(flat[index + 1]);
  return hash;
}

const spendOf = (hash: Record<string, number>): Spend => ({ costUsd: toUsd(hash.cost ?? 0), tokens: hash.tokens ?? 0, calls: hash.calls ?? 0 });

/** The breakdown fields of one day's hash (`c|label`, `t|label`, `n|label`) as rows. */
function rowsOf(day: string, hash: Record<string, number>): SpendRow[] {
  const rows = new Map<string, SpendRow>();
  for (const [field, value] of Object.entries(hash)) {
    const match = /^([ctn])\|(.*)$/.exec(field);
    if (!match) continue;
    const label = match[2];
    let row = rows.get(label);
    if (!row) {
      const [pipeline, provider, model] = label.split('|').map(decodeURIComponent);
      row = { day, pipeline, provider, model, costUsd: 0, tokens: 0, calls: 0 };
      rows.set(label, row);
    }
    if (match[1] === 'c') row.costUsd = toUsd(value);
    else if (match[1] === 't') row.tokens = value;
    else row.calls = value;
  }
  // A label whose charges were all refunded leaves zeros behind: nothing was spent under it.
  return [...rows.values()].filter((row) => row.calls !== 0 || row.tokens !== 0 || row.costUsd !== 0);
}

export interface RedisTenantLedgerOptions {
  redisUrl: string;
  /** Separates deployments that share one Redis: the Temporal task queue, as for the pacer and breakers. */
  scope: string;
}

/**
 * The ledger in Redis: every check-and-hold is one Lua script, atomic across all workers, so
 * concurrent calls can never together exceed a cap. Durable as Redis is configured to be: run it
 * with its append-only file (`appendonly yes`) so spend survives a Redis restart too (README).
 */
export async function connectRedisTenantLedger(options: RedisTenantLedgerOptions): Promise<TenantLedger> {
  // No offline queue: a call under a cap fails (and is retried) at once rather than waiting for Redis.
  const redis = new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000, lazyConnect: true }) as LedgerRedis;
  redis.defineCommand('chorusSpendReserve', { numberOfKeys: 0, lua: RESERVE_LUA });
  redis.defineCommand('chorusSpendCommit', { numberOfKeys: 0, lua: COMMIT_LUA });
  redis.defineCommand('chorusSpendRelease', { numberOfKeys: 0, lua: RELEASE_LUA });
  redis.defineCommand('chorusSpendRenew', { numberOfKeys: 2, lua: RENEW_LUA });
  redis.defineCommand('chorusSpendRead', { numberOfKeys: 0, lua: READ_LUA });
  // Errors surface on the commands that meet them; the connection keeps reconnecting.
  redis.on('error', () => undefined);
  await redis.connect().catch(() => undefined);
  const prefix = (tenant: string) => `chorus:spend:${options.scope}:{${tenant}}`;
  return {
    async reserve(hold, nowMs, leaseMs) {
      const body = JSON.stringify({
        cost: String(toNanos(hold.costUsd)),
        tokens: String(hold.tokens),
        day: utcDay(nowMs),
        month: utcMonth(nowMs),
        label: encodeLabel(hold.label),
      });
      const refused = await redis.chorusSpendReserve(
        prefix(hold.tenant),
        RETENTION_SECONDS,
        hold.id,
        body,
        nowMs + leaseMs,
        nowMs,
        capArg(hold.caps.dailyUsd, NANOS_PER_USD),
        capArg(hold.caps.dailyTokens),
        capArg(hold.caps.monthlyUsd, NANOS_PER_USD),
        capArg(hold.caps.monthlyTokens),
      );
      if (refused.length === 0) return undefined;
      const [period, dimension, cap, used, needed] = refused;
      const scale = dimension === 'costUsd' ? toUsd : (value: number) => value;
      return {
        period: period as CapRefusal['period'],
        dimension: dimension as CapRefusal['dimension'],
        cap: scale(Number(cap)),
        used: scale(Number(used)),
        needed: scale(Number(needed)),
      };
    },
    async renew(tenant, id, expiresAtMs) {
      return (await redis.chorusSpendRenew(`${prefix(tenant)}:holds`, `${prefix(tenant)}:expiry`, id, expiresAtMs)) === 1;
    },
    async commit(tenant, id, used, label, nowMs) {
      await redis.chorusSpendCommit(
        prefix(tenant),
        RETENTION_SECONDS,
        id,
        toNanos(used.costUsd),
        used.tokens,
        nowMs,
        utcDay(nowMs),
        utcMonth(nowMs),
        encodeLabel(label),
      );
    },
    async release(tenant, id, nowMs) {
      await redis.chorusSpendRelease(prefix(tenant), RETENTION_SECONDS, id, nowMs);
    },
    async spend(tenant, days, nowMs) {
      const today = utcDay(nowMs);
      const [held, todayHash, monthHash, ...dayHashes] = (
        await redis.chorusSpendRead(prefix(tenant), RETENTION_SECONDS, nowMs, `day:${today}`, `month:${utcMonth(nowMs)}`, ...days.map((day) => `day:${day}`))
      ).map(hashOf);
      return {
        rows: days.flatMap((day, index) => rowsOf(day, dayHashes[index])),
        reserved: spendOf(held),
        today: spendOf(todayHash),
        thisMonth: spendOf(monthHash),
        expiredHolds: dayHashes.reduce((sum, hash) => sum + (hash.expired ?? 0), 0),
      };
    },
    async close() {
      redis.disconnect();
    },
  };
}
