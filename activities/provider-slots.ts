import type { ProviderName } from '../src/pipeline/providers';

/**
 * At most `limitOf(provider)` calls to a provider at once in this process. A remote activity is
 * already bounded by its provider queue's worker slots; a local activity runs in the workflow
 * worker, which has one pool of local-activity slots for every provider, so this bounds it instead.
 */
export class ProviderSlots {
  private readonly inUse = new Map<ProviderName, number>();
  private readonly waiting = new Map<ProviderName, Array<() => void>>();

  constructor(private readonly limitOf: (provider: ProviderName) => number | undefined) {}

  /** Waits for a free slot of `provider` (or until `signal` aborts) and returns its release. */
  async acquire(provider: ProviderName, signal?: AbortSignal): Promise<() => void> {
    const limit = this.limitOf(provider);
    if (limit === undefined) return () => undefined;
    while ((this.inUse.get(provider) ?? 0) >= limit) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(provider) ?? [];
        this.waiting.set(provider, queue);
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          const at = queue.indexOf(wake);
          if (at >= 0) queue.splice(at, 1);
          resolve();
        };
        queue.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
    this.inUse.set(provider, (this.inUse.get(provider) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse.set(provider, (this.inUse.get(provider) ?? 1) - 1);
      this.waiting.get(provider)?.[0]?.();
    };
  }

  /** Calls of `provider` running now (tests, metrics). */
  running(provider: ProviderName): number {
    return this.inUse.get(provider) ?? 0;
  }
}
