import { PROVIDER_NAMES, type ProviderName } from '../../src/pipeline/providers';
import type { ExecutionMode } from '../../src/pipeline/types';
import { busiestWindow, peakRequestsInWindow, requestsPerSecond } from '../../simulator/request-rate';
import {
  auditRuns,
  describeAudit,
  EXECUTION_MODES,
  SIMULATOR_ENTRY,
  startPipelineRuns,
  startSimulatorProcess,
  startWorkerProcess,
  tunedPipeline,
  WORKER_ENTRY,
  type WorkerProcess,
} from '../helpers/reliability';
import { reliabilitySuite } from '../helpers/reliability-suite';

const WORKERS = 3;
/** Local: a third as many, still 5 s of each provider's limit; the count is not the point, the pacer is. */
const RUNS: Record<ExecutionMode, number> = { remote: 300, local: 100 };
/** Provider request-rate limit of every worker, for each provider. */
const MAX_RPS = 20;
const TOLERANCE = 1.05;
/** The providers the classic pipeline calls, one request each per run (the catalog has more, which it never calls). */
const CALLED_PROVIDERS: ProviderName[] = ['openai', 'cohere', 'gemini'];

/**
 * Three worker processes share the workflow queue and the per-provider activity queues of 300
 * pipelines; every worker does part of the work, no provider ever sees more than its rate limit in
 * any 1 s window (the workers pace their calls through one Redis), and the limit is used, not wasted.
 * Local: no task-queue rate limit of the server applies (the calls are not activity tasks), so the
 * Redis pacer alone holds each limit across the workflow workers that make the calls.
 */
describe.each(EXECUTION_MODES)('scale: worker processes and per-provider rate limits, %s execution', (execution) => {
  const PIPELINES = RUNS[execution];
  const suite = reliabilitySuite(`scale-${execution}`, { entries: [WORKER_ENTRY, SIMULATOR_ENTRY], redis: true });
  const { pool, temporal } = suite;
  let simulator: Awaited<ReturnType<typeof startSimulatorProcess>>;

  beforeAll(async () => {
    simulator = await startSimulatorProcess(pool, { CHORUS_SIMULATOR_LATENCY_MS: '20', CHORUS_SIMULATOR_JITTER_MS: '30' });
  });

  it(`runs ${PIPELINES} pipelines on ${WORKERS} worker processes within ${MAX_RPS} requests/s per provider`, async () => {
    const limits = Object.fromEntries(PROVIDER_NAMES.map((provider) => [`CHORUS_${provider.toUpperCase()}_MAX_RPS`, String(MAX_RPS)]));
    const workers: WorkerProcess[] = await Promise.all(
      Array.from({ length: WORKERS }, (_, index) =>
        startWorkerProcess(pool, `worker-${index + 1}`, {
          ...suite.workerEnv(simulator.url),
          CHORUS_LOG_LEVEL: 'info',
          CHORUS_REDIS_URL: suite.redis.url,
          ...limits,
        }),
      ),
    );
    const client = suite.client();
    const pipeline = tunedPipeline('classic', { execution, retry: { initialInterval: '500ms' } });
    const startedAt = Date.now();
    const ids = await startPipelineRuns(client, temporal.taskQueue, {
      prefix: `scale-${execution}`,
      count: PIPELINES,
      pipeline,
      prompt: (index) => `Scaled job ${index}`,
    });
    const audit = await auditRuns(client, ids, Date.now() + 90_000);
    const elapsedMs = Date.now() - startedAt;

    const activitiesBy = new Map<string, number>(workers.map((worker) => [worker.identity, 0]));
    for (const event of audit.workerEvents) {
      if (event.kind === 'activity') activitiesBy.set(event.identity, (activitiesBy.get(event.identity) ?? 0) + 1);
    }
    const requests = await simulator.requests();
    const first = Math.min(...requests.map((record) => record.receivedAt));
    const arrivalsOf = (provider: ProviderName) => requests.filter((record) => record.provider === provider).map((record) => record.receivedAt);
    const rates = Object.fromEntries(CALLED_PROVIDERS.map((provider) => [provider, peakRequestsInWindow(arrivalsOf(provider))])) as Record<
      ProviderName,
      number
    >;
    // Where each provider's busiest window began (ms after the first request) and the gaps inside it:
    // a crowded start points at worker start-up, crowded gaps mid-run at a starved machine.
    const busiest = Object.fromEntries(
      CALLED_PROVIDERS.map((provider) => {
        const inside = busiestWindow(arrivalsOf(provider));
        return [
          provider,
          {
            atMs: inside[0] - first,
            gapsMs: inside
              .slice(1)
              .map((time, index) => time - inside[index])
              .join(' '),
          },
        ];
      }),
    );
    // Each provider's requests over its own busy span: how much of the limit the pipelines got.
    const meanRates = Object.fromEntries(
      CALLED_PROVIDERS.map((provider) => {
        const arrivals = arrivalsOf(provider);
        return [provider, Math.round(((arrivals.length - 1) / ((Math.max(...arrivals) - Math.min(...arrivals)) / 1000)) * 10) / 10];
      }),
    ) as Record<ProviderName, number>;
    // Requests per whole second since the first one, per provider: shows a burst or a sustained excess.
    const profile = Object.fromEntries(CALLED_PROVIDERS.map((provider) => [provider, requestsPerSecond(arrivalsOf(provider), first).join(' ')]));
    const throttled = requests.filter((record) => record.status === 429).length;
    const perWorker = Object.fromEntries(workers.map((worker, index) => [`worker-${index + 1}`, activitiesBy.get(worker.identity) ?? 0]));
    console.log(
      describeAudit(`scale (${execution})`, audit, {
        workers: WORKERS,
        'provider calls per worker': perWorker,
        'max requests/s per provider (1 s sliding window)': rates,
        'mean requests/s per provider (over its busy span)': meanRates,
        'busiest 1 s window': busiest,
        limit: MAX_RPS,
        '429s': throttled,
        'requests per second': profile,
        'provider requests': requests.length,
        'elapsed ms': elapsedMs,
      }),
    );

    expect(audit.completed).toBe(PIPELINES);
    expect(audit.lost).toEqual([]);
    expect(audit.duplicates).toEqual([]);
    expect(throttled).toBe(0);
    // Every activity ran on one of the three processes, and each did a real share of them.
    expect([...activitiesBy.keys()].sort()).toEqual(workers.map((worker) => worker.identity).sort());
    const total = [...activitiesBy.values()].reduce((sum, count) => sum + count, 0);
    expect(total).toBe(PIPELINES * 3);
    expect(audit.localCalls).toBe(execution === 'local' ? total : 0);
    for (const count of activitiesBy.values()) expect(count).toBeGreaterThan(total / WORKERS / 4);
    for (const provider of CALLED_PROVIDERS) {
      expect(requests.filter((record) => record.provider === provider)).toHaveLength(PIPELINES);
      expect(rates[provider]).toBeLessThanOrEqual(MAX_RPS * TOLERANCE);
      // A pacer stuck far below its limit would still pass the checks above, so some 1 s window
      // must reach half of it. How close to the limit the calls run is throughput, bounded by this
      // 2-core machine's CPU as much as by the pacer (the busy-span mean fell to 11.5/s at 20 in a
      // loaded CI run): the benchmark's rate-limit scenario reports that utilization, not this test.
      expect(rates[provider]).toBeGreaterThanOrEqual(MAX_RPS / 2);
    }
  }, 150_000);
});
