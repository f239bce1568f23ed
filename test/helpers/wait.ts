import { inspect } from 'node:util';

/** Waits a fixed time: only for tests about time passing ("nothing happens for N ms"); wait on a condition otherwise. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WaitOptions<T> {
  /** How long to keep reading before failing. */
  timeoutMs: number;
  /** @default 100 */
  intervalMs?: number;
  /** When a value read is the one waited for. @default the value is truthy */
  until?: (value: T) => boolean;
}

/**
 * Reads `read` every `intervalMs` until `until` holds for what it returned, and resolves to that value.
 * A read that throws or rejects counts as not yet (a server still starting). After `timeoutMs` it fails
 * naming `what` and the last value (or error) it saw. `waitFor(what, read, timeoutMs, intervalMs)` is
 * short for `waitFor(what, read, { timeoutMs, intervalMs })`.
 */
export async function waitFor<T>(what: string, read: () => T | Promise<T>, options: number | WaitOptions<T>, intervalMs?: number): Promise<T> {
  const { timeoutMs, intervalMs: every = 100, until = Boolean } = typeof options === 'number' ? { timeoutMs: options, intervalMs } : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let seen: string;
    try {
      const value = await read();
      if (until(value)) return value;
      seen = inspect(value, { depth: 4, maxArrayLength: 20, maxStringLength: 500, breakLength: Infinity });
    } catch (error) {
      seen = `an error: ${(error as Error).message ?? String(error)}`;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last seen ${seen}`);
    await sleep(every);
  }
}
