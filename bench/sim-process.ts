/**
 * The provider simulator in its own process, so its event loop does not compete with the load
 * generator's. The parent changes its latency between scenarios over IPC and reads its request log.
 */
import { peakRequestsInWindow, requestsPerSecond } from '../simulator/request-rate';
import { startSimulator, type SimulatorOptions } from '../simulator/server';

export type SimulatorCommand = { id: number; type: 'latency'; latencyMs: number } | { id: number; type: 'clear' } | { id: number; type: 'stats' };

export interface SimulatorStats {
  requests: number;
  byStatus: Record<string, number>;
  byProvider: Record<string, number>;
  /** Requests per second between the first and the last request. */
  meanRatePerSec: number;
  /** Most requests that arrived within any 1 s window. */
  peakRatePerSec: number;
  rateLimited429: number;
  /** Each provider's requests over the span between its own first and last request. */
  meanRatePerSecByProvider: Record<string, number>;
  /** Most requests of each provider within any 1 s window. */
  peakRatePerSecByProvider: Record<string, number>;
  /**
   * Each provider's rate between its 10th and 90th percentile request: the sustained rate, without
   * the ramp while runs start and the tail while the last ones finish.
   */
  steadyRatePerSecByProvider: Record<string, number>;
  /** Each provider's requests in each second since its first one: the shape behind the mean. */
  perSecondByProvider: Record<string, number[]>;
  /** When each request arrived (epoch ms), in arrival order: places a call on a run's own timeline. */
  arrivals: number[];
}

async function main() {
  // The simulator reads options.latencyMs on every request, so changing it here changes the next answers.
  const options: SimulatorOptions = { host: '127.0.0.1', port: 0, latencyMs: Number(process.env.BENCH_SIM_LATENCY_MS ?? 100), jitterMs: 0 };
  const simulator = await startSimulator(options);
  process.on('message', (command: SimulatorCommand) => {
    if (command.type === 'latency') options.latencyMs = command.latencyMs;
    if (command.type === 'clear') simulator.clearRequests();
    const reply = command.type === 'stats' ? { id: command.id, stats: statsOf(simulator.requests()) } : { id: command.id };
    process.send?.(reply);
  });
  process.on('disconnect', () => void simulator.close().then(() => process.exit(0)));
  process.on('SIGTERM', () => void simulator.close().then(() => process.exit(0)));
  process.send?.({ type: 'ready', url: simulator.url });
}

function statsOf(log: ReturnType<Awaited<ReturnType<typeof startSimulator>>['requests']>): SimulatorStats {
  const byStatus: Record<string, number> = {};
  const byProvider: Record<string, number> = {};
  for (const record of log) {
    byStatus[String(record.status)] = (byStatus[String(record.status)] ?? 0) + 1;
    byProvider[record.provider] = (byProvider[record.provider] ?? 0) + 1;
  }
  const meanRatePerSecByProvider: Record<string, number> = {};
  const peakRatePerSecByProvider: Record<string, number> = {};
  const perSecondByProvider: Record<string, number[]> = {};
  const steadyRatePerSecByProvider: Record<string, number> = {};
  for (const provider of Object.keys(byProvider)) {
    const times = log
      .filter((record) => record.provider === provider)
      .map((record) => record.receivedAt)
      .sort((a, b) => a - b);
    const providerSpan = (times[times.length - 1] - times[0]) / 1000;
    meanRatePerSecByProvider[provider] = providerSpan > 0 ? Math.round((times.length / providerSpan) * 10) / 10 : 0;
    peakRatePerSecByProvider[provider] = peakRequestsInWindow(times);
    const [from, to] = [Math.floor(times.length * 0.1), Math.floor(times.length * 0.9)];
    const steadySpan = (times[to] - times[from]) / 1000;
    steadyRatePerSecByProvider[provider] = steadySpan > 0 ? Math.round(((to - from) / steadySpan) * 10) / 10 : 0;
    perSecondByProvider[provider] = requestsPerSecond(times);
  }
  const span = log.length > 1 ? (log[log.length - 1].receivedAt - log[0].receivedAt) / 1000 : 0;
  return {
    requests: log.length,
    byStatus,
    byProvider,
    meanRatePerSec: span > 0 ? Math.round((log.length / span) * 10) / 10 : 0,
    peakRatePerSec: peakRequestsInWindow(log.map((record) => record.receivedAt)),
    rateLimited429: byStatus['429'] ?? 0,
    meanRatePerSecByProvider,
    peakRatePerSecByProvider,
    steadyRatePerSecByProvider,
    perSecondByProvider,
    arrivals: log.map((record) => record.receivedAt),
  };
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
