import Redis from 'ioredis';
import { breakerRedisKey } from '../../activities/provider-breaker';
import { FailureType } from '../../src/pipeline/failures';
import type { ExecutionMode, PipelineDefinition, PipelineResult, StepResult } from '../../src/pipeline/types';
import {
  auditRuns,
  describeAudit,
  EXECUTION_MODES,
  freePort,
  SIMULATOR_ENTRY,
  sleep,
  startPipelineRuns,
  startSimulatorProcess,
  startWorkerProcess,
  waitFor,
  WORKER_ENTRY,
} from '../helpers/reliability';
import { reliabilitySuite } from '../helpers/reliability-suite';

const WORKERS = 3;
const FAILURE_THRESHOLD = 3;
const COOLDOWN_MS = 10_000;
/** The step's own retry budget: without the breaker, each run would spend it on the failing provider before falling back. */
const RETRY_BUDGET = '5m';
/** The tripping run falls back within this, far within RETRY_BUDGET. */
const TRIP_BOUND_MS = 20_000;
const OPEN_PHASE_RUNS = 20;
const PROBE_PHASE_RUNS = 10;

/** One step on the failing provider, with a healthy fallback, retried quickly so the breaker's window fills in a second. */
const pipelineIn = (execution: ExecutionMode): PipelineDefinition => ({
  name: 'breaker',
  execution,
  steps: [
    {
      id: 'answer',
      provider: 'openai',
      task: 'generate',
      prompt: '{{input.prompt}}',
      retry: { budget: RETRY_BUDGET, initialInterval: '100ms', backoffCoefficient: 1 },
      fallback: [{ provider: 'cohere' }],
    },
  ],
});
const FAILING = (index: number) => `[[sim:openai:503]] Question ${index}`;

/** Sums a counter or gauge over the workers' /metrics, for the samples whose labels include `labels`. */
function sumOf(pages: string[], name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const page of pages) {
    for (const line of page.split('\n')) {
      const match = /^([a-z_]+)\{([^}]*)\} ([0-9.e+-]+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const sample = Object.fromEntries([...match[2].matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
      if (Object.entries(labels).every(([key, value]) => sample[key] === value)) sum += Number(match[3]);
    }
  }
  return sum;
}

/**
 * Three worker processes share one Redis; the simulator fails OpenAI completely. The breaker opens
 * after FAILURE_THRESHOLD failed calls (whichever workers made them), then every run goes to its
 * fallback at once instead of after its 5-minute retry budget; after the cool-down exactly one call
 * across the three workers probes OpenAI, and once OpenAI is well again the probe closes the breaker.
 * In both modes: remote, the breaker is asked by the activity workers of the OpenAI queue; local, by
 * the workflow workers, in the local activity, which fails ProviderUnhealthy as at once.
 */
describe.each(EXECUTION_MODES)('circuit breaker shared by worker processes, %s execution', (execution) => {
  const PIPELINE = pipelineIn(execution);
  const suite = reliabilitySuite(`breaker-${execution}`, { entries: [WORKER_ENTRY, SIMULATOR_ENTRY], redis: true });
  const { pool, temporal } = suite;
  /** Reads the breaker's shared state, as a fourth process would. */
  let breakerState: Redis | undefined;
  afterAll(() => breakerState?.disconnect());

  it('sends runs to their fallback within the breaker window, probes once per cool-down and closes again', async () => {
    // Latency keeps the recovery probe in flight while other runs ask: they must not become probes too.
    const simulator = await startSimulatorProcess(pool, { CHORUS_SIMULATOR_LATENCY_MS: '300', CHORUS_SIMULATOR_JITTER_MS: '0' });
    const metricsPorts = await Promise.all(Array.from({ length: WORKERS }, () => freePort()));
    await Promise.all(
      metricsPorts.map((port, index) =>
        startWorkerProcess(
          pool,
          `worker-${index + 1}`,
          {
            ...suite.workerEnv(simulator.url),
            CHORUS_REDIS_URL: suite.redis.url,
            CHORUS_WORKER_METRICS_PORT: String(port),
            CHORUS_BREAKER_FAILURES: String(FAILURE_THRESHOLD),
            CHORUS_BREAKER_FAILURE_RATIO: '0.5',
            CHORUS_BREAKER_WINDOW_MS: '60000',
            CHORUS_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
            CHORUS_BREAKER_PROBE_LEASE_MS: '30000',
          },
          // Three workers bundling at once on a loaded 2-core machine: give them time to poll.
          90_000,
        ),
      ),
    );
    const client = suite.client();
    const state = (breakerState = new Redis(suite.redis.url));
    const openaiRequests = async () => (await simulator.requests()).filter((record) => record.provider === 'openai');
    // The end of the cool-down as the workers' shared breaker set it, in Redis's clock (this machine's).
    const openUntil = async () => Number((await state.hget(breakerRedisKey(temporal.taskQueue, 'openai'), 'openUntil')) ?? 0);
    const runPhase = async (prefix: string, count: number, prompt: (index: number) => string) => {
      const ids = await startPipelineRuns(client, temporal.taskQueue, { prefix, count, pipeline: PIPELINE, prompt });
      // When the runs have closed, before the (slow) reading of their histories.
      await Promise.all(
        ids.map((id) =>
          client.workflow
            .getHandle(id)
            .result()
            .catch(() => undefined),
        ),
      );
      const settledAt = Date.now();
      const audit = await auditRuns(client, ids, Date.now() + 60_000);
      console.log(describeAudit(`breaker ${prefix} (${execution})`, audit));
      expect(audit.localCalls).toBe(execution === 'local' ? audit.activities : 0);
      expect(audit.completed).toBe(count);
      expect(audit.duplicates).toEqual([]);
      // By the server's clock, the last moment a worker decided an OpenAI call of these runs (an admission comes before its activity ends).
      // A local call's marker does not name its provider; its OpenAI call ended before its fallback began, so any of its ends bounds it.
      const openaiEnds = audit.activityEnds.filter((end) => (execution === 'local' ? true : end.taskQueue === `${temporal.taskQueue}-openai`));
      const openaiDecidedBy = Math.max(...openaiEnds.map((end) => end.at));
      const results = [...audit.outcomes.values()].map((outcome) => (outcome.status === 'completed' ? outcome.result : undefined)) as PipelineResult[];
      return { results, settledAt, openaiDecidedBy };
    };
    const answer = (result: PipelineResult) => result.steps.answer as StepResult;
    const skipped = (result: PipelineResult) => result.progress[0].skippedUnhealthy ?? [];

    // 1. One run fails FAILURE_THRESHOLD times on OpenAI; its next attempt finds the breaker open and falls back.
    const tripStartedAt = Date.now();
    const tripPhase = runPhase('trip', 1, FAILING);
    // 2 begins as soon as the breaker is open, while the tripping run falls back: its runs are decided within the cool-down.
    const cooledDownAt = await waitFor('the breaker to open', openUntil, { timeoutMs: 60_000, intervalMs: 20 });
    const openPhase = runPhase('open', OPEN_PHASE_RUNS, (index) => FAILING(100 + index));
    const {
      results: [tripped],
      settledAt: trippedAt,
    } = await tripPhase;
    const tripMs = trippedAt - tripStartedAt;
    const afterTrip = await openaiRequests();
    expect(afterTrip.map((record) => record.status)).toEqual(Array(FAILURE_THRESHOLD).fill(503));
    expect(answer(tripped)).toMatchObject({ provider: 'cohere', fallbackFrom: { provider: 'openai', error: { type: FailureType.ProviderUnhealthy } } });
    expect(skipped(tripped)).toEqual(['openai']);
    // Far within the 5-minute retry budget it would otherwise have spent.
    expect(tripMs).toBeLessThan(TRIP_BOUND_MS);

    // 2. While open, every run skips OpenAI at once: no request reaches it.
    const { results: openResults, openaiDecidedBy: openDecidedBy } = await openPhase;
    // Valid only for calls decided while the cool-down lasted; a machine too slow for that would see a probe here.
    const openPhaseMs = openDecidedBy - (cooledDownAt - COOLDOWN_MS);
    expect(openDecidedBy).toBeLessThan(cooledDownAt);
    for (const result of openResults) {
      expect(answer(result)).toMatchObject({ provider: 'cohere', fallbackFrom: { provider: 'openai', error: { type: FailureType.ProviderUnhealthy } } });
      expect(skipped(result)).toEqual(['openai']);
    }
    expect(await openaiRequests()).toHaveLength(FAILURE_THRESHOLD);

    // 3. After the cool-down, of PROBE_PHASE_RUNS runs at once on three workers, exactly one probes OpenAI; it fails, the breaker opens again.
    await sleep(Math.max(0, cooledDownAt + 50 - Date.now())); // the cool-down passing is what this phase is about
    const { results: probeResults, openaiDecidedBy: probeDecidedBy } = await runPhase('probe', PROBE_PHASE_RUNS, (index) => FAILING(200 + index));
    const cooledDownAgainAt = await openUntil();
    const afterProbe = await openaiRequests();
    // As above: the runs that did not probe were decided before the new cool-down was over.
    expect(cooledDownAgainAt).toBeGreaterThan(cooledDownAt);
    expect(probeDecidedBy).toBeLessThan(cooledDownAgainAt);
    expect(afterProbe).toHaveLength(FAILURE_THRESHOLD + 1);
    expect(afterProbe[FAILURE_THRESHOLD].status).toBe(503);
    for (const result of probeResults) {
      expect(answer(result).provider).toBe('cohere');
      // The probe's own run retries, finds the breaker open again, and skips too.
      expect(skipped(result)).toEqual(['openai']);
    }

    // 4. OpenAI is well again: after the next cool-down the one probe succeeds and closes the breaker.
    await sleep(Math.max(0, cooledDownAgainAt + 50 - Date.now())); // as above: the cool-down passing
    const { results: recoveryResults } = await runPhase('recover', PROBE_PHASE_RUNS, (index) => `Healthy question ${index}`);
    const byOpenai = recoveryResults.filter((result) => answer(result).provider === 'openai');
    const byFallback = recoveryResults.filter((result) => answer(result).provider === 'cohere');
    expect(byOpenai.length).toBeGreaterThanOrEqual(1);
    for (const result of byOpenai) expect(skipped(result)).toEqual([]);
    for (const result of byFallback) expect(skipped(result)).toEqual(['openai']);
    const afterRecovery = await openaiRequests();
    expect(afterRecovery.slice(FAILURE_THRESHOLD + 1).map((record) => record.status)).toEqual(Array(byOpenai.length).fill(200));
    const {
      results: [closed],
    } = await runPhase('closed', 1, () => 'Healthy again');
    expect(answer(closed)).toMatchObject({ provider: 'openai' });
    expect(answer(closed).fallbackFrom).toBeUndefined();

    // /metrics of the three workers: the breaker's history, and the calls it skipped.
    const pages = await Promise.all(metricsPorts.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()));
    const transitions = (from: string, to: string) => sumOf(pages, 'chorus_provider_breaker_transitions_total', { provider: 'openai', from, to });
    const skippedRuns = [tripped, ...openResults, ...probeResults, ...recoveryResults].filter((result) => skipped(result).length > 0).length;
    const skippedCalls = pages.map((page) => sumOf([page], 'chorus_provider_breaker_skipped_calls_total', { provider: 'openai' }));
    console.log(
      `breaker (${execution}): openai requests ${afterRecovery.length + 1} (threshold ${FAILURE_THRESHOLD}, 2 probes, ${byOpenai.length - 1} after closing), ` +
        `trip to fallback ${tripMs} ms (retry budget ${RETRY_BUDGET}), open phase decided ${openPhaseMs} ms after opening (cool-down ${COOLDOWN_MS} ms), skippedUnhealthy steps ${skippedRuns}, skipped calls per worker ${skippedCalls.join('/')}`,
    );
    expect({
      opened: transitions('closed', 'open'),
      probed: transitions('open', 'half-open'),
      reopened: transitions('half-open', 'open'),
      closed: transitions('half-open', 'closed'),
    }).toEqual({ opened: 1, probed: 2, reopened: 1, closed: 1 });
    expect(skippedCalls.reduce((sum, count) => sum + count, 0)).toBe(skippedRuns);
    expect(skippedRuns).toBe(1 + OPEN_PHASE_RUNS + PROBE_PHASE_RUNS + byFallback.length);
    // Several workers skipped on one shared state: OpenAI saw FAILURE_THRESHOLD failures in all, not that many per worker.
    expect(skippedCalls.filter((count) => count > 0).length).toBeGreaterThanOrEqual(2);
    for (const page of pages) expect(page).toMatch(/^chorus_provider_breaker_state\{provider="openai"\} [012]$/m);
  }, 300_000);
});
