import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { round } from './processes';

export interface LatencySummary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  issued: number;
  completed: number;
  errors: number;
  /** Errors by message (at most 5 distinct ones), to tell a deadline from a reset or a 5xx. */
  errorSamples: string[];
  errorCounts: Record<string, number>;
  concurrency: number;
  elapsedMs: number;
  /** completed / elapsed. */
  throughputPerSec: number;
  /** Completions between the 10th and 90th percentile completion times: the rate without ramp-up and drain. */
  steadyThroughputPerSec: number;
  latencyMs: LatencySummary;
  /** Sorted latencies, thinned to at most 200 points, for the chart. */
  latencyCurve: number[];
  /** Highest number of operations that were between their start and their end at once. */
  maxInFlight: number;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function summarize(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    min: round(sorted[0] ?? NaN),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? NaN),
    mean: round(mean),
  };
}

function thin(sorted: number[], points = 200): number[] {
  if (sorted.length <= points) return sorted.map((value) => round(value));
  return Array.from({ length: points }, (_, i) => round(sorted[Math.round((i / (points - 1)) * (sorted.length - 1))]));
}

export interface LoadOptions {
  /** Operations to run at most. */
  count: number;
  /** Operations in flight at once (closed loop). */
  concurrency: number;
  /** No new operation starts after this. */
  maxMs: number;
  /** Operations still running this long after the start are aborted and count as errors. @default maxMs + 30 s */
  abortAfterMs?: number;
}

/** Closed-loop load: `concurrency` loops run `operation` until `count` ran or `maxMs` passed. */
export async function runLoad(options: LoadOptions, operation: (index: number, signal: AbortSignal) => Promise<void>): Promise<LoadResult> {
  const latencies: number[] = [];
  const completionTimes: number[] = [];
  const errorCounts = new Map<string, number>();
  let issued = 0;
  let errors = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const startedAt = performance.now();
  const deadline = startedAt + options.maxMs;
  const abortAfterMs = options.abortAfterMs ?? options.maxMs + 30_000;
  const signal = AbortSignal.timeout(abortAfterMs);
  // Every in-flight request listens to this one signal.
  setMaxListeners(Infinity, signal);

  async function loop() {
    while (issued < options.count && performance.now() < deadline) {
      const index = issued++;
      const t0 = performance.now();
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await operation(index, signal);
        const t1 = performance.now();
        latencies.push(t1 - t0);
        completionTimes.push(t1 - startedAt);
      } catch (error) {
        errors++;
        const message = signal.aborted ? `aborted: still running ${abortAfterMs} ms after the scenario began` : (error as Error).message;
        const key = message.slice(0, 200);
        if (errorCounts.has(key) || errorCounts.size < 5) errorCounts.set(key, (errorCounts.get(key) ?? 0) + 1);
      } finally {
        inFlight--;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.count) }, loop));
  const elapsedMs = performance.now() - startedAt;
  completionTimes.sort((a, b) => a - b);
  const t10 = percentile(completionTimes, 10);
  const t90 = percentile(completionTimes, 90);
  const steadyCount = completionTimes.filter((t) => t > t10 && t <= t90).length;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    issued,
    completed: latencies.length,
    errors,
    errorSamples: [...errorCounts.keys()],
    errorCounts: Object.fromEntries(errorCounts),
    concurrency: options.concurrency,
    elapsedMs: round(elapsedMs),
    throughputPerSec: round((latencies.length / elapsedMs) * 1000, 2),
    steadyThroughputPerSec: t90 > t10 ? round((steadyCount / (t90 - t10)) * 1000, 2) : NaN,
    latencyMs: summarize(latencies),
    latencyCurve: thin(sorted),
    maxInFlight,
  };
}
