import { randomUUID } from 'node:crypto';
import { createSharedBreakerStore, type BreakerStore } from '../../activities/provider-breaker';
import { breakerScenarios, SCENARIO_SETTINGS } from '../helpers/breaker-scenarios';
import { startRedis } from '../helpers/redis';
import { sleep } from '../helpers/wait';

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
});
