import type { BreakerSettings } from '../../src/config/worker';
import type { BreakerStore } from '../../activities/provider-breaker';

/** Small numbers so the Redis store's scenarios pass in real time: they wait out the cool-down. */
export const SCENARIO_SETTINGS: BreakerSettings = { failureThreshold: 3, failureRatio: 0.5, windowMs: 2000, cooldownMs: 300, probeLeaseMs: 400 };

/** A store to test and a way to let time pass for it (a fake clock, or a real wait). */
export interface BreakerUnderTest {
  /** A store of one worker; several calls of it give stores that share state where the store does (Redis). */
  store(): Promise<BreakerStore>;
  advance(ms: number): Promise<void>;
}

const trip = async (store: BreakerStore, provider: string) => {
  const answers = [];
  for (let failure = 0; failure < SCENARIO_SETTINGS.failureThreshold; failure += 1) answers.push(await store.record(provider, 'unhealthy', false));
  return answers;
};

/** The state machine every store runs: closed → open → half-open probe → closed or open again. */
export function breakerScenarios(name: string, subject: () => BreakerUnderTest) {
  describe(`${name}: the circuit breaker state machine`, () => {
    it('stays closed below the failure threshold, and opens at it', async () => {
      const { store } = subject();
      const breaker = await store();
      expect((await breaker.admit('openai')).admission).toBe('call');
      expect(await breaker.record('openai', 'unhealthy', false)).toEqual({ state: 'closed' });
      expect(await breaker.record('openai', 'unhealthy', false)).toEqual({ state: 'closed' });
      expect(await breaker.record('openai', 'unhealthy', false)).toEqual({ state: 'open', transition: { from: 'closed', to: 'open' } });
      expect(await breaker.admit('openai')).toEqual({ state: 'open', admission: 'skip' });
      // Breakers are per provider.
      expect((await breaker.admit('cohere')).admission).toBe('call');
    });

    it('needs the failure ratio too: failures among many healthy calls do not open it', async () => {
      const { store } = subject();
      const breaker = await store();
      for (let call = 0; call < 4; call += 1) await breaker.record('gemini', 'healthy', false);
      // 3 failures of 7 calls: the threshold, but under half.
      const answers = await trip(breaker, 'gemini');
      expect(answers.map((answer) => answer.state)).toEqual(['closed', 'closed', 'closed']);
      // A fourth failure makes 4 of 8: half.
      expect(await breaker.record('gemini', 'unhealthy', false)).toEqual({ state: 'open', transition: { from: 'closed', to: 'open' } });
    });

    it('ignores neutral outcomes (429s, cancelled calls) and failures older than the window', async () => {
      const { store, advance } = subject();
      const breaker = await store();
      await breaker.record('openai', 'unhealthy', false);
      await breaker.record('openai', 'unhealthy', false);
      for (let call = 0; call < 5; call += 1) expect(await breaker.record('openai', 'neutral', false)).toEqual({ state: 'closed' });
      await advance(SCENARIO_SETTINGS.windowMs + 100);
      expect(await breaker.record('openai', 'unhealthy', false)).toEqual({ state: 'closed' });
      expect(await breaker.record('openai', 'unhealthy', false)).toEqual({ state: 'closed' });
      expect((await breaker.record('openai', 'unhealthy', false)).state).toBe('open');
    });

    it('after the cool-down lets exactly one probe through; a healthy probe closes it', async () => {
      const { store, advance } = subject();
      const [first, second] = [await store(), await store()];
      await trip(first, 'openai');
      await advance(SCENARIO_SETTINGS.cooldownMs + 50);
      const admissions = await Promise.all([first.admit('openai'), second.admit('openai'), first.admit('openai'), second.admit('openai')]);
      expect(admissions.filter((answer) => answer.admission === 'probe')).toEqual([
        { state: 'half-open', transition: { from: 'open', to: 'half-open' }, admission: 'probe' },
      ]);
      expect(admissions.filter((answer) => answer.admission === 'skip')).toHaveLength(3);
      // A late report of a call admitted before the breaker opened decides nothing.
      expect(await second.record('openai', 'healthy', false)).toEqual({ state: 'half-open' });
      expect(await first.record('openai', 'healthy', true)).toEqual({ state: 'closed', transition: { from: 'half-open', to: 'closed' } });
      expect(await second.admit('openai')).toEqual({ state: 'closed', admission: 'call' });
      // Closed afresh: the failures before it opened are gone.
      expect(await second.record('openai', 'unhealthy', false)).toEqual({ state: 'closed' });
    });

    it('an unhealthy probe opens it again for another cool-down', async () => {
      const { store, advance } = subject();
      const breaker = await store();
      await trip(breaker, 'cohere');
      await advance(SCENARIO_SETTINGS.cooldownMs + 50);
      expect((await breaker.admit('cohere')).admission).toBe('probe');
      expect(await breaker.record('cohere', 'unhealthy', true)).toEqual({ state: 'open', transition: { from: 'half-open', to: 'open' } });
      expect(await breaker.admit('cohere')).toEqual({ state: 'open', admission: 'skip' });
      await advance(SCENARIO_SETTINGS.cooldownMs + 50);
      expect(await breaker.admit('cohere')).toEqual({ state: 'half-open', transition: { from: 'open', to: 'half-open' }, admission: 'probe' });
    });

    it('a probe that cannot tell hands the turn on; a probe that never reports loses it after its lease', async () => {
      const { store, advance } = subject();
      const breaker = await store();
      await trip(breaker, 'gemini');
      await advance(SCENARIO_SETTINGS.cooldownMs + 50);
      expect((await breaker.admit('gemini')).admission).toBe('probe');
      expect(await breaker.record('gemini', 'neutral', true)).toEqual({ state: 'half-open' });
      expect(await breaker.admit('gemini')).toEqual({ state: 'half-open', admission: 'probe' });
      // This probe's worker dies: nobody else probes until its lease is over.
      expect((await breaker.admit('gemini')).admission).toBe('skip');
      await advance(SCENARIO_SETTINGS.probeLeaseMs + 50);
      expect(await breaker.admit('gemini')).toEqual({ state: 'half-open', admission: 'probe' });
    });
  });
}
