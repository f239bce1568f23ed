/**
 * Token events travel from the worker that calls a provider to the API that streams them to a
 * client, beside Temporal and never through workflow history (history keeps the durable answer only).
 */

/** `attempt`: an attempt of a call starts its text anew; `token`: the next piece of that attempt's text. */
export type TokenEventKind = 'attempt' | 'token';

export interface TokenEventInput {
  kind: TokenEventKind;
  /** The pipeline step (map elements and fallback calls share their step's). */
  step: string;
  /** The provider call within the step, as step events name it (`summaries[2]`, `draft~gemini`). */
  call: string;
  attempt: number;
  /** token events only. */
  text?: string;
}

export interface TokenEvent extends TokenEventInput {
  /** Position in the run's token stream, `<ms>-<seq>` (a Redis stream entry ID); later events have greater IDs. */
  id: string;
}

/** Reads one run's token events in order; a reader holds what a blocking read needs (a Redis connection). */
export interface TokenReader {
  /** The events after `afterId` (`0-0`: from the start), waiting up to `blockMs` for one to come; [] when none did. */
  read(afterId: string, blockMs: number): Promise<TokenEvent[]>;
  close(): Promise<void>;
}

export interface TokenStream {
  /** What carries the events, for logs and banners. */
  readonly transport: 'redis' | 'memory';
  /** Appends an event to the run's stream; never throws (a lost token must not fail a provider call). */
  publish(runId: string, event: TokenEventInput): Promise<void>;
  /** The events after `afterId` stored now, without waiting (beside a reader's blocking read). */
  readAfter(runId: string, afterId: string): Promise<TokenEvent[]>;
  openReader(runId: string): TokenReader;
  close(): Promise<void>;
}

export const TOKEN_STREAM_START = '0-0';

export interface TokenStreamLimits {
  /** Events kept per run; older ones are dropped first. @default 20000 */
  maxEventsPerRun?: number;
  /** How long a run's events are kept after its last one. @default 1 hour */
  ttlMs?: number;
}

export const DEFAULT_TOKEN_LIMITS: Required<TokenStreamLimits> = { maxEventsPerRun: 20_000, ttlMs: 60 * 60_000 };

/** `<ms>-<seq>` IDs compare as number pairs. */
export function compareTokenIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number);
  const [bMs, bSeq] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}

export const isTokenId = (text: string) => /^\d+-\d+$/.test(text);

interface RunEvents {
  events: TokenEvent[];
  expiresAt: number;
  waiters: Set<() => void>;
}

/**
 * Token events of one process (a worker and an API in the same process: tests, a single-process
 * deployment), with the same IDs, limits and expiry as the Redis transport.
 */
export function createMemoryTokenStream(limits: TokenStreamLimits = {}, clock: () => number = Date.now): TokenStream {
  const { maxEventsPerRun, ttlMs } = { ...DEFAULT_TOKEN_LIMITS, ...limits };
  const runs = new Map<string, RunEvents>();
  let lastMs = 0;
  let seq = 0;
  const nextId = () => {
    const now = clock();
    if (now > lastMs) {
      lastMs = now;
      seq = 0;
    } else seq += 1;
    return `${lastMs}-${seq}`;
  };
  const sweep = () => {
    const now = clock();
    for (const [runId, run] of runs) if (run.expiresAt <= now && run.waiters.size === 0) runs.delete(runId);
  };
  const runOf = (runId: string) => {
    let run = runs.get(runId);
    if (!run) runs.set(runId, (run = { events: [], expiresAt: clock() + ttlMs, waiters: new Set() }));
    return run;
  };
  const eventsAfter = (runId: string, afterId: string) => (runs.get(runId)?.events ?? []).filter((event) => compareTokenIds(event.id, afterId) > 0);
  return {
    transport: 'memory',
    async publish(runId, event) {
      sweep();
      const run = runOf(runId);
      run.events.push({ ...event, id: nextId() });
      if (run.events.length > maxEventsPerRun) run.events.splice(0, run.events.length - maxEventsPerRun);
      run.expiresAt = clock() + ttlMs;
      for (const wake of [...run.waiters]) wake();
    },
    async readAfter(runId, afterId) {
      return eventsAfter(runId, afterId);
    },
    openReader(runId) {
      let closed = false;
      let wakeReader: (() => void) | undefined;
      const after = (afterId: string) => eventsAfter(runId, afterId);
      return {
        async read(afterId, blockMs) {
          const ready = after(afterId);
          if (ready.length || closed || blockMs <= 0) return ready;
          const run = runOf(runId);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, blockMs);
            function done() {
              clearTimeout(timer);
              run.waiters.delete(done);
              wakeReader = undefined;
              resolve();
            }
            run.waiters.add(done);
            wakeReader = done;
          });
          return after(afterId);
        },
        async close() {
          closed = true;
          wakeReader?.();
        },
      };
    },
    async close() {
      runs.clear();
    },
  };
}
