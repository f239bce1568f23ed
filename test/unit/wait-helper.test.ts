import { waitFor } from '../helpers/wait';

/** The one poll helper every test waits with: what it resolves to, and what a failing wait says. */
describe('waitFor', () => {
  it('reads until the value is the one waited for, and resolves to it', async () => {
    let reads = 0;
    const value = await waitFor('the third read', () => ++reads, { timeoutMs: 2000, intervalMs: 1, until: (count) => count === 3 });
    expect(value).toBe(3);
    expect(reads).toBe(3);
  });

  it('without `until` waits for a truthy value; the (timeoutMs, intervalMs) form is the same wait', async () => {
    let reads = 0;
    await expect(waitFor('a truthy read', () => (++reads >= 2 ? 'ready' : ''), 2000, 1)).resolves.toBe('ready');
    expect(reads).toBe(2);
  });

  it('counts a read that throws or rejects as not yet', async () => {
    let reads = 0;
    const read = async () => {
      reads += 1;
      if (reads < 3) throw new Error('connection refused');
      return true;
    };
    await expect(waitFor('a server to answer', read, 2000, 1)).resolves.toBe(true);
    expect(reads).toBe(3);
  });

  it('fails after its timeout naming what it waited for and the last value it saw', async () => {
    // Each read differs, so the message shows the last one (however many a loaded machine fits in 30 ms).
    let reads = 0;
    const failure = waitFor('two drafts', () => ({ drafts: 1, read: ++reads }), { timeoutMs: 30, intervalMs: 5, until: ({ drafts }) => drafts >= 2 });
    const message = await failure.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    expect(message).toBe(`Timed out after 30 ms waiting for two drafts; last seen { drafts: 1, read: ${reads} }`);
  });

  it('names the last error when every read failed', async () => {
    const failure = waitFor('the API', () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:1')), 30, 5);
    await expect(failure).rejects.toThrow('waiting for the API; last seen an error: ECONNREFUSED 127.0.0.1:1');
  });
});
