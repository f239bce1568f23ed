/**
 * The provider simulator in its own process, so its event loop does not compete with the load
 * generator's. The parent changes its latency between scenarios over IPC and reads its request log.
 */
import { startSimulator, type SimulatorOptions } from '../src/simulator/server';

export type SimulatorCommand = { id: number; type: 'latency'; latencyMs: number } | { id: number; type: 'clear' } | { id: number; type: 'stats' };

export interface SimulatorStats {
  requests: number;
  byStatus: Record<string, number>;
  byProvider: Record<string, number>;
  /** Requests per second between the first and the last request. */
  meanRatePerSec: number;
  /** Most requests that arrived within one wall-clock second. */
  peakRatePerSec: number;
  rateLimited429: number;
  /** Each provider's requests over the span between its own first and last request. */
  meanRatePerSecByProvider: Record<string, number>;
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
  const perSecond = new Map<number, number>();
  for (const record of log) {
    byStatus[String(record.status)] = (byStatus[String(record.status)] ?? 0) + 1;
    byProvider[record.provider] = (byProvider[record.provider] ?? 0) + 1;
    const second = Math.floor(record.receivedAt / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  const meanRatePerSecByProvider: Record<string, number> = {};
  for (const provider of Object.keys(byProvider)) {
    const times = log.filter((record) => record.provider === provider).map((record) => record.receivedAt);
    const providerSpan = (Math.max(...times) - Math.min(...times)) / 1000;
    meanRatePerSecByProvider[provider] = providerSpan > 0 ? Math.round((times.length / providerSpan) * 10) / 10 : 0;
  }
  const span = log.length > 1 ? (log[log.length - 1].receivedAt - log[0].receivedAt) / 1000 : 0;
  return {
    requests: log.length,
    byStatus,
    byProvider,
    meanRatePerSec: span > 0 ? Math.round((log.length / span) * 10) / 10 : 0,
    peakRatePerSec: Math.max(0, ...perSecond.values()),
    rateLimited429: byStatus['429'] ?? 0,
    meanRatePerSecByProvider,
  };
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
