import { createHook } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createSharedBreakerStore, type BreakerStore } from '../../activities/provider-breaker';
import { connectSharedRedis } from '../../activities/shared-redis';
import { breakerScenarios, SCENARIO_SETTINGS } from '../helpers/breaker-scenarios';
import { startRedis } from '../helpers/redis';
import { sleep, waitFor } from '../helpers/wait';

let redis: Awaited<ReturnType<typeof startRedis>>;
const stores: BreakerStore[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await redis?.stop();
});

breakerScenarios('Redis store', () => {
  // Each scenario has its own scope; its stores are separate connections, as separate workers have.
  const scope = `breaker-${randomUUID()}`;
  return {
    store: async () => {
      const store = await createSharedBreakerStore(SCENARIO_SETTINGS, { redisUrl: redis.url, scope });
      stores.push(store);
      expect(store.shared).toBe(true);
      return store;
    },
    // The store runs on Redis's clock: the scenario waits for real.
    advance: (ms) => sleep(ms),
  };
});

describe('Redis store without Redis', () => {
  it('keeps breakers in the process when Redis is unreachable', async () => {
    const store = await createSharedBreakerStore(SCENARIO_SETTINGS, { redisUrl: 'redis://127.0.0.1:1', scope: 'nowhere' });
    stores.push(store);
    expect(store.shared).toBe(false);
    for (let failure = 0; failure < SCENARIO_SETTINGS.failureThreshold; failure += 1) await store.record('openai', 'unhealthy', false);
    expect((await store.admit('openai')).admission).toBe('skip');
  });

  it('closes its connection without leaving a timer behind, so a stopped worker exits at once', async () => {
    // The connection the breaker and pacer stores close.
    const connection = await connectSharedRedis('redis://127.0.0.1:1', undefined, () => undefined);
    // As in a worker that ran a while without Redis: the refused socket has closed, ioredis waits to try again.
    await waitFor('ioredis to wait between connection attempts', () => connection.redis.status, {
      timeoutMs: 5000,
      intervalMs: 5,
      until: (status) => status === 'reconnecting',
    });
    const startedByClose = new Set<number>();
    let closing = true;
    const hook = createHook({
      init: (id, type) => closing && type === 'Timeout' && startedByClose.add(id),
      destroy: (id) => startedByClose.delete(id),
    }).enable();
    try {
      await connection.close();
      closing = false;
      // ioredis's disconnect() used to wait 2 s on a live timer for that socket's 'close', which had already come.
      await waitFor('the timers the close started to end', () => startedByClose.size, { timeoutMs: 1000, intervalMs: 20, until: (count) => count === 0 });
    } finally {
      hook.disable();
    }
  });
});
