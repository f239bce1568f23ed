/**
 * Most requests that arrived within any window of `windowMs` (each window starting at a request):
 * what a provider that limits requests per second sees, unlike counts per wall-clock second, which
 * miss a burst split across a second's boundary.
 */
export function peakRequestsInWindow(arrivals: readonly number[], windowMs = 1000): number {
  const times = [...arrivals].sort((a, b) => a - b);
  let max = 0;
  let end = 0;
  for (let start = 0; start < times.length; start += 1) {
    while (end < times.length && times[end] < times[start] + windowMs) end += 1;
    max = Math.max(max, end - start);
  }
  return max;
}
