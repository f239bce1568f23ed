import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../activities';
import {
  ARRIVAL_JITTER_ALLOWANCE_MS,
  createClockOffset,
  createLocalPacer,
  createSharedPacer,
  nextSlot,
  pacingIntervalMs,
  waitForTurn,
  type ProviderPacer,
} from '../../activities/provider-pacer';
import { peakRequestsInWindow } from '../../simulator/request-rate';
import { startSimulator } from '../../simulator/server';
import { createProviderHttpClient } from '../../worker/worker';
import { startRedis } from '../helpers/redis';
import { freePort } from '../helpers/reliability';
import { simulatedProviders } from '../helpers/stack';
import { sleep } from '../helpers/wait';

const RATE = 40;

/** `count` requests at once, round-robin over the pacers; resolves to when each was sent. */
async function sendPaced(pacers: ProviderPacer[], count: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      await waitForTurn(pacers[index % pacers.length], 'openai', sleep);
      return performance.now();
    }),
  );
}

describe('provider pacing', () => {
  it('puts each request one interval after the previous reservation, or now when the provider was idle', () => {
    expect(nextSlot(0, 1000, 25)).toEqual({ slot: 1000, reservedUntil: 1025 });
    expect(nextSlot(1025, 1000, 25)).toEqual({ slot: 1025, reservedUntil: 1050 });
    // No burst credit is saved up while idle: that credit is what lets a second see twice the limit.
    expect(nextSlot(1050, 5000, 25)).toEqual({ slot: 5000, reservedUntil: 5025 });
  });

  it('spaces requests a little wider than 1/rate, so 40 ms of arrival jitter cannot push a window over the limit', () => {
    expect(pacingIntervalMs(20)).toBe(52);
    // `rate + 1` evenly spaced requests span at least 1 s even when the first arrives 40 ms late.
    expect(RATE * pacingIntervalMs(RATE) - 40).toBeGreaterThanOrEqual(1000);
  });

  it('a process-local pacer spaces one provider evenly, after room for the cold first request, and leaves unlimited providers alone', async () => {
    let now = 0;
    const pacer = createLocalPacer({ openai: 20 }, () => now);
    const slots = [];
    for (let i = 0; i < 5; i++) slots.push(await pacer.reserve('openai'));
    // The process's first request opens a connection while the process is busy starting: it gets two intervals.
    expect(slots).toEqual([0, 104, 156, 208, 260]);
    expect(await pacer.reserve('cohere')).toBeUndefined();
    now = 10_000;
    expect(await pacer.reserve('openai')).toBe(10_000);
  });

  it('a caller that wakes too late for its slot takes a new one instead of crowding the next requests', async () => {
    let now = 0;
    const pacer = createLocalPacer({ openai: 20 }, () => now);
    await pacer.reserve('openai');
    const sleeps: number[] = [];
    // The wakeup comes 100 ms after its slot, as from a blocked event loop.
    const late = async (ms: number) => {
      sleeps.push(ms);
      now += ms + 100;
    };
    const waited = await waitForTurn(pacer, 'openai', late, () => now);
    expect(sleeps).toEqual([104]);
    expect(waited).toBe(204);
    // It went in a fresh slot (now), so the schedule continues from there, not from the missed one.
    expect(await pacer.reserve('openai')).toBe(204 + 52);
    expect(await waitForTurn(pacer, 'cohere', late, () => now)).toBe(0);
  });

  it("learns how far Redis's clock is from the worker's from the fastest round trip, and forgets it after a minute", () => {
    let now = 0;
    const offset = createClockOffset(() => now);
    expect(offset.ms).toBe(0);
    // Redis's clock runs 300 ms ahead; the reply of a 40 ms round trip came back at its midpoint + 20 ms.
    offset.sample(1300 + 20, 1000, 1040);
    expect(offset.ms).toBe(300);
    // A slow round trip (a busy event loop took 200 ms to read the reply) says less: it is ignored.
    offset.sample(2300 + 10, 2000, 2200);
    expect(offset.ms).toBe(300);
    // A faster one refines it.
    offset.sample(3300, 3000, 3010);
    expect(offset.ms).toBe(295);
    now = 70_000;
    offset.sample(70_100 + 50, 70_000, 70_100);
    expect(offset.ms).toBe(100);
  });

  describe('shared through Redis', () => {
    let redis: Awaited<ReturnType<typeof startRedis>>;
    const pacers: ProviderPacer[] = [];
    const sharedPacer = async (url = redis.url, onSharedChange?: (shared: boolean) => void) => {
      const pacer = await createSharedPacer({ openai: RATE }, { redisUrl: url, scope: `pacing-${Math.random()}`, onSharedChange });
      pacers.push(pacer);
      return pacer;
    };

    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await Promise.all(pacers.map((pacer) => pacer.close()));
      await redis?.stop();
    });

    it(`two workers' pacers together hold ${RATE} requests in every 1 s window; local pacers alone do not`, async () => {
      const scope = `pacing-shared-${Date.now()}`;
      const a = await createSharedPacer({ openai: RATE }, { redisUrl: redis.url, scope });
      const b = await createSharedPacer({ openai: RATE }, { redisUrl: redis.url, scope });
      pacers.push(a, b);
      expect([a.shared, b.shared]).toEqual([true, true]);

      const shared = await sendPaced([a, b], 2 * RATE);
      const separate = await sendPaced([createLocalPacer({ openai: RATE }), createLocalPacer({ openai: RATE })], 2 * RATE);
      console.log(
        `pacing: peak per 1 s window ${peakRequestsInWindow(shared)} shared through Redis, ${peakRequestsInWindow(separate)} with per-process pacers (limit ${RATE})`,
      );

      expect(peakRequestsInWindow(shared)).toBeLessThanOrEqual(RATE);
      expect(peakRequestsInWindow(shared)).toBeGreaterThanOrEqual(RATE - 3);
      expect(Math.max(...shared) - Math.min(...shared)).toBeGreaterThanOrEqual((2 * RATE - 1) * pacingIntervalMs(RATE) - ARRIVAL_JITTER_ALLOWANCE_MS);
      expect(peakRequestsInWindow(separate)).toBeGreaterThan(1.5 * RATE);
    });

    it('paces locally while Redis is unreachable, and says so, instead of failing provider calls', async () => {
      const changes: boolean[] = [];
      const pacer = await sharedPacer(`redis://127.0.0.1:${await freePort()}`, (shared) => changes.push(shared));
      expect(pacer.shared).toBe(false);
      const [first, second, third] = [await pacer.reserve('openai'), await pacer.reserve('openai'), await pacer.reserve('openai')];
      expect([second! - first!, third! - second!]).toEqual([2 * pacingIntervalMs(RATE), pacingIntervalMs(RATE)]);

      const own = await startRedis();
      try {
        const sharedUntilStopped = await sharedPacer(own.url, (shared) => changes.push(shared));
        expect(sharedUntilStopped.shared).toBe(true);
        await own.stop();
        await expect(sharedUntilStopped.reserve('openai')).resolves.toBeGreaterThan(0);
        expect(sharedUntilStopped.shared).toBe(false);
        expect(changes).toEqual([true, false]);
      } finally {
        await own.stop();
      }
    });
  });

  it('the provider activity waits for its slot before sending, so no request reaches the provider before its slot', async () => {
    const simulator = await startSimulator({ latencyMs: 0 });
    try {
      const rate = 20;
      const pacer = createLocalPacer({ cohere: rate });
      const reservedSlots: number[] = [];
      const recordingPacer: ProviderPacer = {
        ...pacer,
        reserve: async (provider) => {
          const slot = await pacer.reserve(provider);
          if (slot !== undefined) reservedSlots.push(slot);
          return slot;
        },
      };
      const activities = createActivities({
        http: createProviderHttpClient(),
        providers: { ...simulatedProviders(simulator.url), requestTimeoutMs: 5000, maxRetryAfterMs: 60_000 },
        pacer: recordingPacer,
      });
      const calls = 2 * rate;
      const results = await Promise.all(
        Array.from({ length: calls }, (_, index) =>
          new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(activities.callProvider, {
            stepId: 'paced',
            provider: 'cohere' as const,
            task: 'generate' as const,
            prompt: `Paced call ${index}`,
          }),
        ),
      );
      expect(results).toHaveLength(calls);
      const arrivals = simulator
        .requests()
        .map((record) => record.receivedAt)
        .sort((a, b) => a - b);
      expect(arrivals).toHaveLength(calls);
      // Every call reserved at least one slot (a late wakeup reserves another). If each request is sent
      // at or after its slot, the i-th arrival is at or after the i-th earliest slot. The slots themselves
      // keep the limit in every window. Arrival windows are not counted here: the simulator shares this
      // process's event loop, which delays its stamps; the scale test counts arrivals in a separate process.
      const slots = [...reservedSlots].sort((a, b) => a - b);
      expect(slots.length).toBeGreaterThanOrEqual(calls);
      const timerRoundingMs = 2;
      const sentBeforeSlot = arrivals.filter((arrival, index) => arrival + timerRoundingMs < slots[index]!);
      expect(sentBeforeSlot).toEqual([]);
      expect(peakRequestsInWindow(slots)).toBeLessThanOrEqual(rate);
      expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThanOrEqual((calls - 1) * pacingIntervalMs(rate) - ARRIVAL_JITTER_ALLOWANCE_MS);
    } finally {
      await simulator.close();
    }
  });
});
