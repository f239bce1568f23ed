import type Redis from 'ioredis';
import { connectSharedRedis } from './shared-redis';
import type { ProviderName } from '../src/pipeline/providers';

/**
 * Spaces provider requests evenly, so no 1 s window holds more than the provider's limit.
 *
 * Temporal's task-queue limit (which every worker also sets) bounds the sustained rate across the
 * cluster, but it is a token bucket that may hand out a whole second's worth at once: a second can
 * then see twice the limit. The pacer removes those bursts at the moment of sending. With Redis the
 * schedule is shared by every worker process; without it each process paces only its own calls.
 */
export interface ProviderPacer {
  /** Reserves the provider's next send slot: when to send, in this process's Date.now(); undefined when the provider has no limit. */
  reserve(provider: ProviderName): Promise<number | undefined>;
  /** True when every process shares the schedule (Redis reachable). */
  readonly shared: boolean;
  close(): Promise<void>;
}

/**
 * Spacing absorbs this much lateness between a reserved slot and the request's arrival (a busy
 * event loop, a timer firing late) before a window could hold one request too many. It costs
 * 40 / 1040 ≈ 3.8% of the limit: measured sustained use is 95–96% (npm run bench).
 */
export const ARRIVAL_JITTER_ALLOWANCE_MS = 40;

/** Time between two requests to a provider limited to `perSecond` requests a second. */
export function pacingIntervalMs(perSecond: number): number {
  return (1000 + ARRIVAL_JITTER_ALLOWANCE_MS) / perSecond;
}

/**
 * The interval each reservation of this process leaves after itself, or undefined for a provider
 * without a limit. A process's first request to a provider leaves two: it opens a connection while
 * the process is still busy starting, and measured on a 2-core machine it arrived up to ~60 ms after
 * its slot, more than the allowance.
 */
function processIntervals(ratesPerSecond: Partial<Record<ProviderName, number>>): (provider: ProviderName) => number | undefined {
  const started = new Set<ProviderName>();
  return (provider) => {
    const rate = ratesPerSecond[provider];
    if (!rate) return undefined;
    const first = !started.has(provider);
    started.add(provider);
    return pacingIntervalMs(rate) * (first ? 2 : 1);
  };
}

export const NO_PACING: ProviderPacer = { reserve: async () => undefined, shared: true, close: async () => undefined };

/**
 * A wakeup this late gives its slot up: sent now, it would crowd the requests of the next slots.
 * Half the allowance: the other half covers the way from here to the provider.
 */
const MAX_LATENESS_MS = ARRIVAL_JITTER_ALLOWANCE_MS / 2;
const MAX_RESERVATIONS = 10;

/**
 * Waits for the provider's next slot with `sleep` (which the caller makes cancellable) and resolves
 * to the milliseconds waited. A caller that wakes too late (a busy event loop) takes a new slot; if
 * that keeps happening it goes anyway rather than starve (its activity timeout would otherwise end it).
 */
export async function waitForTurn(
  pacer: ProviderPacer,
  provider: ProviderName,
  sleep: (ms: number) => Promise<void>,
  clock: () => number = Date.now,
): Promise<number> {
  const startedAt = clock();
  for (let reservation = 1; reservation <= MAX_RESERVATIONS; reservation += 1) {
    const sendAt = await pacer.reserve(provider);
    if (sendAt === undefined) break;
    if (sendAt > clock()) await sleep(sendAt - clock());
    if (clock() - sendAt <= MAX_LATENESS_MS) break;
  }
  return clock() - startedAt;
}

/**
 * The slot rule, shared by both stores: the next request goes at the later of now and the slot
 * after the previous one. There is deliberately no burst allowance; it is what the pacer removes.
 */
export function nextSlot(reservedUntil: number, now: number, intervalMs: number): { slot: number; reservedUntil: number } {
  const slot = Math.max(now, reservedUntil);
  return { slot, reservedUntil: slot + intervalMs };
}

/** One process's schedule: exact for the calls of this process. */
export function createLocalPacer(ratesPerSecond: Partial<Record<ProviderName, number>>, clock: () => number = Date.now): ProviderPacer {
  const reservedUntil = new Map<ProviderName, number>();
  const intervalOf = processIntervals(ratesPerSecond);
  return {
    shared: false,
    async reserve(provider) {
      const interval = intervalOf(provider);
      if (interval === undefined) return undefined;
      const next = nextSlot(reservedUntil.get(provider) ?? 0, clock(), interval);
      reservedUntil.set(provider, next.reservedUntil);
      return next.slot;
    },
    close: async () => undefined,
  };
}

/**
 * nextSlot in Redis, in epoch microseconds of Redis's clock (one clock orders every worker's
 * reservations). KEYS[1] holds the end of the last reserved slot; ARGV[1] is the interval. Returns
 * the slot, absolute so the time the reply spends reaching a busy worker does not shift it, and
 * Redis's now, from which the worker learns how far its clock is from Redis's.
 */
const RESERVE_SLOT_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local reservedUntil = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', reservedUntil), 'PX', math.ceil((reservedUntil - now) / 1000) + 1000)
return { string.format('%.0f', slot), string.format('%.0f', now) }
`;

type PacingRedis = Redis & { chorusReserveSlot(key: string, intervalMicros: number): Promise<[string, string]> };

const CLOCK_SAMPLES_AT_START = 5;
/** How long a clock-offset sample is trusted before a newer one (even with a slower round trip) replaces it. */
const OFFSET_SAMPLE_TTL_MS = 60_000;

/**
 * Redis's clock minus this process's, estimated NTP-style from the reservations themselves: a
 * sample is off by at most half its round trip, so the fastest recent one wins. Without it a worker
 * whose clock is ahead would find every slot already missed.
 */
export function createClockOffset(clock: () => number = Date.now) {
  let best: { offsetMs: number; roundTripMs: number; at: number } | undefined;
  return {
    get ms() {
      return best?.offsetMs ?? 0;
    },
    sample(remoteNowMs: number, sentAt: number, receivedAt: number) {
      const roundTripMs = receivedAt - sentAt;
      if (!best || roundTripMs <= best.roundTripMs || clock() - best.at > OFFSET_SAMPLE_TTL_MS) {
        best = { offsetMs: remoteNowMs - (sentAt + receivedAt) / 2, roundTripMs, at: clock() };
      }
    },
  };
}

export interface SharedPacerOptions {
  redisUrl: string;
  /** Separates deployments that share one Redis: the Temporal task queue, like the queue's own limit. */
  scope: string;
  /** Told when Redis becomes unreachable (pacing falls back to this process) and when it is back. */
  onSharedChange?: (shared: boolean, error?: Error) => void;
}

/**
 * The schedule in Redis, shared by every worker. While Redis is unreachable each process paces
 * its own calls (and Temporal's queue limit still bounds the cluster): a provider call never fails
 * because the pacer's store did.
 */
export async function createSharedPacer(ratesPerSecond: Partial<Record<ProviderName, number>>, options: SharedPacerOptions): Promise<ProviderPacer> {
  const fallback = createLocalPacer(ratesPerSecond);
  const offset = createClockOffset();
  const intervalOf = processIntervals(ratesPerSecond);
  const connection = await connectSharedRedis<PacingRedis>(options.redisUrl, options.onSharedChange, (redis) =>
    redis.defineCommand('chorusReserveSlot', { numberOfKeys: 1, lua: RESERVE_SLOT_LUA }),
  );
  const { redis } = connection;
  // The first reservations come in a burst while the process is busy starting: learn the clock
  // offset now, from quiet round trips, so they are not placed by a rough estimate.
  for (let sample = 0; sample < CLOCK_SAMPLES_AT_START && redis.status === 'ready'; sample += 1) {
    const sentAt = Date.now();
    const [seconds, micros] = await redis.time().catch(() => [NaN, NaN]);
    if (Number.isFinite(Number(seconds))) offset.sample(Number(seconds) * 1000 + Number(micros) / 1000, sentAt, Date.now());
  }
  return {
    get shared() {
      return connection.shared;
    },
    async reserve(provider) {
      if (!ratesPerSecond[provider]) return undefined;
      if (redis.status === 'ready') {
        try {
          const sentAt = Date.now();
          const [slot, redisNow] = await redis.chorusReserveSlot(`chorus:pace:${options.scope}:${provider}`, Math.round(intervalOf(provider)! * 1000));
          offset.sample(Number(redisNow) / 1000, sentAt, Date.now());
          return Number(slot) / 1000 - offset.ms;
        } catch (error) {
          connection.lost(error as Error);
        }
      }
      return fallback.reserve(provider);
    },
    close: () => connection.close(),
  };
}
