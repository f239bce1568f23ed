/**
 * The arrivals in the busiest window of `windowMs` (each window starting at a request), sorted:
 * what a provider that limits requests per second sees, unlike counts per wall-clock second, which
 * miss a burst split across a second's boundary.
 */
export function busiestWindow(arrivals: readonly number[], windowMs = 1000): number[] {
  const times = [...arrivals].sort((a, b) => a - b);
  let best = { start: 0, end: 0 };
  let end = 0;
  for (let start = 0; start < times.length; start += 1) {
    while (end < times.length && times[end] < times[start] + windowMs) end += 1;
    if (end - start > best.end - best.start) best = { start, end };
  }
  return times.slice(best.start, best.end);
}

/** Most requests that arrived within any window of `windowMs`: the size of the busiest window. */
export function peakRequestsInWindow(arrivals: readonly number[], windowMs = 1000): number {
  return busiestWindow(arrivals, windowMs).length;
}

/** How many requests arrived in each whole second from `origin` (the first arrival by default). */
export function requestsPerSecond(arrivals: readonly number[], origin = Math.min(...arrivals)): number[] {
  const counts: number[] = [];
  for (const time of arrivals) {
    const second = Math.floor((time - origin) / 1000);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return Array.from(counts, (count) => count ?? 0);
}
