import { ProviderSlots } from '../../activities/provider-slots';

/** The per-provider bound of calls at once in one worker process (local activities share one pool of slots). */
describe('ProviderSlots', () => {
  it('lets `limit` calls of a provider run at once; the next waits for a release, other providers do not', async () => {
    const slots = new ProviderSlots((provider) => (provider === 'openai' ? 2 : undefined));
    const first = await slots.acquire('openai');
    await slots.acquire('openai');
    let thirdStarted = false;
    const third = slots.acquire('openai').then((release) => {
      thirdStarted = true;
      return release;
    });
    await slots.acquire('cohere');
    await new Promise((resolve) => setImmediate(resolve));
    expect(thirdStarted).toBe(false);
    expect(slots.running('openai')).toBe(2);
    first();
    first(); // a second release of the same slot frees nothing more
    (await third)();
    expect(thirdStarted).toBe(true);
    expect(slots.running('openai')).toBe(1);
  });

  it('a waiting call that is cancelled stops waiting with the abort reason and takes no slot', async () => {
    const slots = new ProviderSlots(() => 1);
    await slots.acquire('gemini');
    const cancel = new AbortController();
    const waiting = slots.acquire('gemini', cancel.signal);
    cancel.abort(new Error('CANCELLED'));
    await expect(waiting).rejects.toThrow('CANCELLED');
    expect(slots.running('gemini')).toBe(1);
  });
});
