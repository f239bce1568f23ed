import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ProviderCallMetrics } from '../activities/metrics';
import type { BreakerMetrics, BreakerState } from '../activities/provider-breaker';

/** Latency buckets for LLM calls: from a cached short answer to a long generation. */
const CALL_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];

/** Every metric name Chorus's worker exports itself (the Temporal SDK's own are `temporal_*`). */
export const PROVIDER_METRIC_NAMES = [
  'chorus_provider_calls_total',
  'chorus_provider_call_duration_seconds',
  'chorus_provider_retries_total',
  'chorus_provider_tokens_total',
  'chorus_provider_cost_usd_total',
  'chorus_provider_pacing_wait_seconds',
  'chorus_provider_breaker_state',
  'chorus_provider_breaker_transitions_total',
  'chorus_provider_breaker_skipped_calls_total',
] as const;

/** Pacing waits: none, a slot or two, or a queue of calls behind a rate limit. */
const PACING_SECONDS_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

/**
 * Temporal SDK metrics a worker exports (prefix `temporal_`, counters with `_total`, durations in
 * seconds) that Chorus's dashboard reads; the metrics test checks each is really there.
 */
export const TEMPORAL_SDK_METRIC_NAMES = [
  'temporal_workflow_completed_total',
  'temporal_workflow_endtoend_latency',
  'temporal_workflow_task_schedule_to_start_latency',
  'temporal_activity_execution_latency',
  'temporal_activity_schedule_to_start_latency',
  'temporal_activity_execution_failed_total',
  'temporal_worker_task_slots_available',
  'temporal_worker_task_slots_used',
] as const;

/** Provider-call metrics on a prom-client registry, fed by the provider activity. */
export function createProviderCallMetrics(registry: Registry): ProviderCallMetrics {
  const registers = [registry];
  const calls = new Counter({
    name: 'chorus_provider_calls_total',
    help: 'Provider call attempts by provider, model and outcome (success, a failure type, or cancelled)',
    labelNames: ['provider', 'model', 'outcome'],
    registers,
  });
  const duration = new Histogram({
    name: 'chorus_provider_call_duration_seconds',
    help: 'Duration of provider call attempts',
    labelNames: ['provider', 'model', 'outcome'],
    buckets: CALL_SECONDS_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: 'chorus_provider_retries_total',
    help: 'Provider call attempts after the first (Temporal retries)',
    labelNames: ['provider', 'model'],
    registers,
  });
  const tokens = new Counter({
    name: 'chorus_provider_tokens_total',
    help: 'Tokens of successful provider calls',
    labelNames: ['provider', 'model', 'direction'],
    registers,
  });
  const cost = new Counter({
    name: 'chorus_provider_cost_usd_total',
    help: 'Estimated cost in USD of successful provider calls (models without a price count 0)',
    labelNames: ['provider', 'model'],
    registers,
  });
  const pacing = new Histogram({
    name: 'chorus_provider_pacing_wait_seconds',
    help: "Time provider calls waited for their slot under the provider's rate limit (0 without one)",
    labelNames: ['provider'],
    buckets: PACING_SECONDS_BUCKETS,
    registers,
  });
  return {
    record(call) {
      const labels = { provider: call.provider, model: call.model };
      calls.inc({ ...labels, outcome: call.outcome });
      duration.observe({ ...labels, outcome: call.outcome }, call.durationSeconds);
      if (call.attempt > 1) retries.inc(labels);
      if (call.inputTokens) tokens.inc({ ...labels, direction: 'input' }, call.inputTokens);
      if (call.outputTokens) tokens.inc({ ...labels, direction: 'output' }, call.outputTokens);
      if (call.outcome === 'success') cost.inc(labels, call.costUsd ?? 0);
      if (call.pacedSeconds !== undefined) pacing.observe({ provider: call.provider }, call.pacedSeconds);
    },
  };
}

/** The gauge's values: 0 closed, 1 half-open (a probe decides), 2 open (calls with a fallback skip the provider). */
export const BREAKER_STATE_VALUES: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * Circuit-breaker metrics of one worker process. The state is the last one this process saw (the
 * breaker itself may be shared through Redis); transitions count those this process made, so their
 * sum over the workers is the breaker's history.
 */
export function createBreakerMetrics(registry: Registry, providers: readonly string[]): BreakerMetrics {
  const registers = [registry];
  const state = new Gauge({
    name: 'chorus_provider_breaker_state',
    help: "State of the provider's circuit breaker as this worker last saw it: 0 closed, 1 half-open, 2 open",
    labelNames: ['provider'],
    registers,
  });
  const transitions = new Counter({
    name: 'chorus_provider_breaker_transitions_total',
    help: 'Circuit-breaker transitions this worker made, by provider and states',
    labelNames: ['provider', 'from', 'to'],
    registers,
  });
  const skipped = new Counter({
    name: 'chorus_provider_breaker_skipped_calls_total',
    help: "Provider calls sent to the step's fallback without calling, because the provider's breaker was open",
    labelNames: ['provider'],
    registers,
  });
  // Every provider is exported from the start: closed and never skipped.
  for (const provider of providers) {
    state.set({ provider }, BREAKER_STATE_VALUES.closed);
    skipped.inc({ provider }, 0);
  }
  return {
    state: (provider, value) => state.set({ provider }, BREAKER_STATE_VALUES[value]),
    transition: (provider, { from, to }) => transitions.inc({ provider, from, to }),
    skipped: (provider) => skipped.inc({ provider }),
  };
}
