import type { StepResult } from '../src/pipeline/types';

/**
 * Provider answers this process got, by activity (workflow, run, activity ID), kept for a while.
 *
 * When Temporal does not record an attempt's completion (the server was down when it came, or the
 * attempt had already timed out there), it schedules the activity again although the provider
 * answered, and paid, once. A retry that finds the answer here returns it instead of calling the
 * provider again; a retry that comes while the first call is still running waits for that call.
 */
export class AnsweredCalls {
  private readonly answers = new Map<string, { result: StepResult; expiresAt: number }>();
  private readonly running = new Map<string, { promise: Promise<StepResult>; deadline: number }>();

  constructor(
    private readonly maxEntries = 2000,
    private readonly ttlMs = 15 * 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * The answer of an earlier attempt of this activity, waiting for it if one is still running within
   * its own time limit; undefined if none answered. A call past that limit is what the step's
   * timeout gave up on as too slow: the retry calls again.
   */
  async earlier(key: string): Promise<StepResult | undefined> {
    const running = this.running.get(key);
    if (running && running.deadline > this.clock()) return running.promise.catch(() => undefined);
    const answer = this.answers.get(key);
    if (!answer) return undefined;
    if (answer.expiresAt > this.clock()) return answer.result;
    this.answers.delete(key);
    return undefined;
  }

  /** Runs `call` as this activity's provider call, remembering its answer; `deadline` is when its attempt's startToClose ends. */
  async track(key: string, deadline: number, call: () => Promise<StepResult>): Promise<StepResult> {
    const promise = call();
    const running = { promise, deadline };
    this.running.set(key, running);
    try {
      const result = await promise;
      this.answers.delete(key);
      this.answers.set(key, { result, expiresAt: this.clock() + this.ttlMs });
      // Oldest first: Map keeps insertion order.
      for (const oldest of this.answers.keys()) {
        if (this.answers.size <= this.maxEntries) break;
        this.answers.delete(oldest);
      }
      return result;
    } finally {
      if (this.running.get(key) === running) this.running.delete(key);
    }
  }
}
