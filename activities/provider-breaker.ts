import type Redis from 'ioredis';
import { connectSharedRedis } from './shared-redis';
import type { BreakerSettings } from '../src/config/worker';
import { FailureType } from '../src/pipeline/failures';
import type { ProviderName } from '../src/pipeline/providers';

/**
 * A circuit breaker per provider, shared by every worker process through Redis (per process without
 * it): once a provider fails most of its calls, steps that have a fallback go to it at once instead
 * of spending their retry budget on a provider that is down; after a cool-down one call probes it.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What a call may do: go to its provider, go as the one probe of a half-open breaker, or skip to the step's fallback. */
export type Admission = 'call' | 'probe' | 'skip';

/** How a call that was sent ended, for the breaker: only failures that say the provider is unwell count against it. */
export type CallHealth = 'healthy' | 'unhealthy' | 'neutral';

export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
}

/** What the store answers: the breaker's state after the operation, and the transition it made, if any. */
export interface BreakerAnswer {
  state: BreakerState;
  transition?: BreakerTransition;
}

/** Where breakers live: this process's memory or Redis. Both run the same state machine. */
export interface BreakerStore {
  admit(provider: ProviderName): Promise<BreakerAnswer & { admission: Admission }>;
  /** Reports a call's outcome; `probe` when the call was admitted as the probe. */
  record(provider: ProviderName, health: CallHealth, probe: boolean): Promise<BreakerAnswer>;
  /** True when every process shares the breakers (Redis reachable). */
  readonly shared: boolean;
  close(): Promise<void>;
}

/**
 * Failures that say the provider itself is unwell: it is down, overloaded, unreachable, or answers
 * garbage. A 429 is the provider pacing this deployment (its Retry-After handles it), and a
 * rejected request, a bad key or a model's off-format answer say nothing about its health.
 */
const UNHEALTHY_FAILURES: ReadonlySet<string> = new Set([
  FailureType.ProviderUnavailable,
  FailureType.ProviderTimeout,
  FailureType.ProviderNetworkError,
  FailureType.ProviderMalformedResponse,
  FailureType.ProviderGenerationFailed,
]);

/** The breaker's reading of a call that got an answer or failed with `failureType`. */
export function callHealth(failureType: string | undefined): CallHealth {
  if (failureType === undefined) return 'healthy';
  if (UNHEALTHY_FAILURES.has(failureType)) return 'unhealthy';
  // The provider answered (a 4xx, a filtered or truncated answer): it is up, so the call counts as healthy.
  if (ANSWERED_FAILURES.has(failureType)) return 'healthy';
  return 'neutral';
}

/** Failures the provider answered with: proof it is up. Anything else (429, cancelled, nothing sent) is neutral. */
const ANSWERED_FAILURES: ReadonlySet<string> = new Set([
  FailureType.ProviderAuthFailed,
  FailureType.ProviderRejectedRequest,
  FailureType.ProviderContentFiltered,
  FailureType.ProviderOutputTruncated,
  FailureType.ProviderQuotaExhausted,
  FailureType.InvalidModelOutput,
]);

interface LocalBreaker {
  state: BreakerState;
  /** Times of the calls counted in the window, and of the failures among them. */
  calls: number[];
  failures: number[];
  openUntil: number;
  probeUntil: number;
}

/** The state machine, in this process's memory: exact for the calls of this process. */
export function createLocalBreakerStore(settings: BreakerSettings, clock: () => number = Date.now): BreakerStore {
  const breakers = new Map<ProviderName, LocalBreaker>();
  const of = (provider: ProviderName) => {
    let breaker = breakers.get(provider);
    if (!breaker) breakers.set(provider, (breaker = { state: 'closed', calls: [], failures: [], openUntil: 0, probeUntil: 0 }));
    return breaker;
  };
  const move = (breaker: LocalBreaker, to: BreakerState): BreakerTransition => {
    const transition = { from: breaker.state, to };
    breaker.state = to;
    return transition;
  };
  const open = (breaker: LocalBreaker, now: number) => {
    breaker.openUntil = now + settings.cooldownMs;
    breaker.calls = [];
    breaker.failures = [];
    return move(breaker, 'open');
  };
  return {
    shared: false,
    async admit(provider) {
      const breaker = of(provider);
      const now = clock();
      if (breaker.state === 'closed') return { state: 'closed', admission: 'call' };
      if (breaker.state === 'open') {
        if (now < breaker.openUntil) return { state: 'open', admission: 'skip' };
        breaker.probeUntil = now + settings.probeLeaseMs;
        return { state: 'half-open', transition: move(breaker, 'half-open'), admission: 'probe' };
      }
      if (now < breaker.probeUntil) return { state: 'half-open', admission: 'skip' };
      // The last probe never reported (its worker died): this call probes instead.
      breaker.probeUntil = now + settings.probeLeaseMs;
      return { state: 'half-open', admission: 'probe' };
    },
    async record(provider, health, probe) {
      const breaker = of(provider);
      const now = clock();
      if (probe) {
        if (breaker.state !== 'half-open') return { state: breaker.state };
        if (health === 'healthy') return { state: 'closed', transition: move(breaker, 'closed') };
        if (health === 'unhealthy') return { state: 'open', transition: open(breaker, now) };
        // A probe that could not tell (a 429, cancelled): the next call probes.
        breaker.probeUntil = 0;
        return { state: 'half-open' };
      }
      // Calls admitted before the breaker opened report late: only the probe decides once it has.
      if (breaker.state !== 'closed' || health === 'neutral') return { state: breaker.state };
      const since = now - settings.windowMs;
      breaker.calls = [...breaker.calls.filter((at) => at > since), now];
      breaker.failures = [...breaker.failures.filter((at) => at > since), ...(health === 'unhealthy' ? [now] : [])];
      if (tripped(breaker.failures.length, breaker.calls.length, settings)) return { state: 'open', transition: open(breaker, now) };
      return { state: 'closed' };
    },
    close: async () => undefined,
  };
}

/** The opening rule, shared by both stores (the Lua script has the same comparison). */
export const tripped = (failures: number, calls: number, settings: Pick<BreakerSettings, 'failureThreshold' | 'failureRatio'>) =>
  failures >= settings.failureThreshold && failures >= settings.failureRatio * calls;

/**
 * The same state machine in Redis, on Redis's clock (one clock for every worker). KEYS[1] is the
 * breaker's hash (state, openUntil, probeUntil, seq), KEYS[2] and KEYS[3] the sorted sets of the
 * window's calls and failures (member: a sequence number, score: the time in ms). Each script
 * returns { admission, state, transition-from or '' }.
 */
const NOW_MS_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function ms(value) return string.format('%.0f', value) end
`;

const ADMIT_LUA = `${NOW_MS_LUA}
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local lease = tonumber(ARGV[1])
if state == 'closed' then return { 'call', 'closed', '' } end
if state == 'open' then
  if now < tonumber(redis.call('HGET', KEYS[1], 'openUntil') or '0') then return { 'skip', 'open', '' } end
  redis.call('HSET', KEYS[1], 'state', 'half-open', 'probeUntil', ms(now + lease))
  return { 'probe', 'half-open', 'open' }
end
if now < tonumber(redis.call('HGET', KEYS[1], 'probeUntil') or '0') then return { 'skip', 'half-open', '' } end
redis.call('HSET', KEYS[1], 'probeUntil', ms(now + lease))
return { 'probe', 'half-open', '' }
`;

/** ARGV: health, probe ('1' or '0'), failureThreshold, failureRatio, windowMs, cooldownMs. */
const RECORD_LUA = `${NOW_MS_LUA}
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local health, probe = ARGV[1], ARGV[2] == '1'
local threshold, ratio, window, cooldown = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local function open()
  redis.call('HSET', KEYS[1], 'state', 'open', 'openUntil', ms(now + cooldown))
  redis.call('DEL', KEYS[2], KEYS[3])
end
if probe then
  if state ~= 'half-open' then return { '', state, '' } end
  if health == 'healthy' then
    redis.call('HSET', KEYS[1], 'state', 'closed')
    redis.call('DEL', KEYS[2], KEYS[3])
    return { '', 'closed', 'half-open' }
  end
  if health == 'unhealthy' then
    open()
    return { '', 'open', 'half-open' }
  end
  redis.call('HSET', KEYS[1], 'probeUntil', '0')
  return { '', state, '' }
end
if state ~= 'closed' or health == 'neutral' then return { '', state, '' } end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('ZADD', KEYS[2], now, seq)
if health == 'unhealthy' then redis.call('ZADD', KEYS[3], now, seq) end
for _, key in ipairs({ KEYS[2], KEYS[3] }) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ms(now - window))
  redis.call('PEXPIRE', key, window)
end
local calls, failures = redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3])
if failures >= threshold and failures >= ratio * calls then
  open()
  return { '', 'open', 'closed' }
end
return { '', 'closed', '' }
`;

type BreakerRedis = Redis & {
  chorusBreakerAdmit(hash: string, leaseMs: number): Promise<[string, string, string]>;
  chorusBreakerRecord(hash: string, calls: string, failures: string, ...args: (string | number)[]): Promise<[string, string, string]>;
};

const answerOf = ([admission, state, from]: [string, string, string]): BreakerAnswer & { admission: Admission } => ({
  state: state as BreakerState,
  ...(from ? { transition: { from: from as BreakerState, to: state as BreakerState } } : {}),
  admission: admission as Admission,
});

export interface SharedBreakerOptions {
  redisUrl: string;
  /** Separates deployments that share one Redis: the Temporal task queue, as for the pacer. */
  scope: string;
  /** Told when Redis becomes unreachable (each process then keeps its own breakers) and when it is back. */
  onSharedChange?: (shared: boolean, error?: Error) => void;
}

/** The Redis hash of one provider's breaker (fields state, openUntil, probeUntil, seq, in Redis's ms). */
export const breakerRedisKey = (scope: string, provider: ProviderName) => `chorus:breaker:${scope}:${provider}`;

/**
 * The breakers in Redis, shared by every worker. While Redis is unreachable each process keeps its
 * own (the same rule over its own calls): a provider call never fails because the breaker's store did.
 */
export async function createSharedBreakerStore(settings: BreakerSettings, options: SharedBreakerOptions): Promise<BreakerStore> {
  const fallback = createLocalBreakerStore(settings);
  const connection = await connectSharedRedis<BreakerRedis>(options.redisUrl, options.onSharedChange, (redis) => {
    redis.defineCommand('chorusBreakerAdmit', { numberOfKeys: 1, lua: ADMIT_LUA });
    redis.defineCommand('chorusBreakerRecord', { numberOfKeys: 3, lua: RECORD_LUA });
  });
  const { redis } = connection;
  const key = (provider: ProviderName) => breakerRedisKey(options.scope, provider);
  return {
    get shared() {
      return connection.shared;
    },
    async admit(provider) {
      if (redis.status === 'ready') {
        try {
          return answerOf(await redis.chorusBreakerAdmit(key(provider), settings.probeLeaseMs));
        } catch (error) {
          connection.lost(error as Error);
        }
      }
      return fallback.admit(provider);
    },
    async record(provider, health, probe) {
      if (redis.status === 'ready') {
        try {
          const answer = await redis.chorusBreakerRecord(
            key(provider),
            `${key(provider)}:calls`,
            `${key(provider)}:failures`,
            health,
            probe ? '1' : '0',
            settings.failureThreshold,
            settings.failureRatio,
            settings.windowMs,
            settings.cooldownMs,
          );
          const { state, transition } = answerOf(answer);
          return { state, ...(transition ? { transition } : {}) };
        } catch (error) {
          connection.lost(error as Error);
        }
      }
      return fallback.record(provider, health, probe);
    },
    close: () => connection.close(),
  };
}

/** What the breakers report, for metrics: each provider's state, its transitions, the calls they skipped. */
export interface BreakerMetrics {
  state(provider: ProviderName, state: BreakerState): void;
  transition(provider: ProviderName, transition: BreakerTransition): void;
  skipped(provider: ProviderName): void;
}

const NO_BREAKER_METRICS: BreakerMetrics = { state() {}, transition() {}, skipped() {} };

/** The breakers as the provider activity uses them: a store, with its answers reported to metrics. */
export interface ProviderBreaker {
  admit(provider: ProviderName): Promise<Admission>;
  record(provider: ProviderName, health: CallHealth, probe: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Every call goes to its provider: no breaker (tests, or CHORUS_BREAKER_ENABLED=false). */
export const NO_BREAKER: ProviderBreaker = { admit: async () => 'call', record: async () => undefined, close: async () => undefined };

export function createProviderBreaker(store: BreakerStore, metrics: BreakerMetrics = NO_BREAKER_METRICS): ProviderBreaker {
  const report = (provider: ProviderName, answer: BreakerAnswer) => {
    metrics.state(provider, answer.state);
    if (answer.transition) metrics.transition(provider, answer.transition);
  };
  return {
    async admit(provider) {
      const answer = await store.admit(provider);
      report(provider, answer);
      if (answer.admission === 'skip') metrics.skipped(provider);
      return answer.admission;
    },
    async record(provider, health, probe) {
      report(provider, await store.record(provider, health, probe));
    },
    close: () => store.close(),
  };
}
