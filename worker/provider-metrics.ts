import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ProviderCallMetrics } from '../activities/metrics';
import type { BreakerMetrics, BreakerState } from '../activities/provider-breaker';
import type { TenantSpendMetrics } from '../activities/tenant-spend';

/** Latency buckets for LLM calls: from a cached short answer to a long generation. */
const CALL_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];

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

/**
 * Every metric Chorus's worker exports itself (the Temporal SDK's own are `temporal_*`), by its name
 * on /metrics: what it measures, its labels and, for a histogram, its buckets.
 */
const PROVIDER_METRICS = {
  chorus_provider_calls_total: {
    help: 'Provider call attempts by provider, model and outcome (success, a failure type, or cancelled)',
    labelNames: ['provider', 'model', 'outcome'],
  },
  chorus_provider_call_duration_seconds: {
    help: 'Duration of provider call attempts',
    labelNames: ['provider', 'model', 'outcome'],
    buckets: CALL_SECONDS_BUCKETS,
  },
  chorus_provider_retries_total: { help: 'Provider call attempts after the first (Temporal retries)', labelNames: ['provider', 'model'] },
  chorus_provider_tokens_total: { help: 'Tokens of successful provider calls', labelNames: ['provider', 'model', 'direction'] },
  chorus_provider_cost_usd_total: {
    help: 'Estimated cost in USD of successful provider calls (models without a price count 0)',
    labelNames: ['provider', 'model'],
  },
  chorus_provider_pacing_wait_seconds: {
    help: "Time provider calls waited for their slot under the provider's rate limit (0 without one)",
    labelNames: ['provider'],
    buckets: PACING_SECONDS_BUCKETS,
  },
  chorus_provider_breaker_state: {
    help: "State of the provider's circuit breaker as this worker last saw it: 0 closed, 1 half-open, 2 open",
    labelNames: ['provider'],
  },
  chorus_provider_breaker_transitions_total: {
    help: 'Circuit-breaker transitions this worker made, by provider and states',
    labelNames: ['provider', 'from', 'to'],
  },
  chorus_provider_breaker_skipped_calls_total: {
    help: "Provider calls sent to the step's fallback without calling, because the provider's breaker was open",
    labelNames: ['provider'],
  },
} as const satisfies Record<string, { help: string; labelNames: readonly string[]; buckets?: readonly number[] }>;

type ProviderMetricName = keyof typeof PROVIDER_METRICS;
type LabelOf<N extends ProviderMetricName> = (typeof PROVIDER_METRICS)[N]['labelNames'][number];
/** The metrics the table gives buckets: histograms. */
type HistogramName = { [N in ProviderMetricName]: (typeof PROVIDER_METRICS)[N] extends { buckets: readonly number[] } ? N : never }[ProviderMetricName];

export const PROVIDER_METRIC_NAMES = Object.keys(PROVIDER_METRICS) as ProviderMetricName[];

/** The metric of this name, as the table declares it, on `registry`. */
const metricOf = (registry: Registry, name: ProviderMetricName) => ({ name, help: PROVIDER_METRICS[name].help, registers: [registry] });
const counter = <N extends ProviderMetricName>(registry: Registry, name: N) =>
  new Counter<LabelOf<N>>({ ...metricOf(registry, name), labelNames: PROVIDER_METRICS[name].labelNames });
const gauge = <N extends ProviderMetricName>(registry: Registry, name: N) =>
  new Gauge<LabelOf<N>>({ ...metricOf(registry, name), labelNames: PROVIDER_METRICS[name].labelNames });
const histogram = <N extends HistogramName>(registry: Registry, name: N) =>
  new Histogram<LabelOf<N>>({ ...metricOf(registry, name), labelNames: PROVIDER_METRICS[name].labelNames, buckets: [...PROVIDER_METRICS[name].buckets] });

/** Provider-call metrics on a prom-client registry, fed by the provider activity. */
export function createProviderCallMetrics(registry: Registry): ProviderCallMetrics {
  const calls = counter(registry, 'chorus_provider_calls_total');
  const duration = histogram(registry, 'chorus_provider_call_duration_seconds');
  const retries = counter(registry, 'chorus_provider_retries_total');
  const tokens = counter(registry, 'chorus_provider_tokens_total');
  const cost = counter(registry, 'chorus_provider_cost_usd_total');
  const pacing = histogram(registry, 'chorus_provider_pacing_wait_seconds');
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
  const state = gauge(registry, 'chorus_provider_breaker_state');
  const transitions = counter(registry, 'chorus_provider_breaker_transitions_total');
  const skipped = counter(registry, 'chorus_provider_breaker_skipped_calls_total');
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

/**
 * Metrics of tenant spend, exported by workers that share a spend ledger (CHORUS_REDIS_URL): this
 * worker's share, so their sum over the workers is the tenants' spend (GET /v1/usage answers it
 * from the ledger itself).
 */
const TENANT_SPEND_METRICS = {
  chorus_tenant_spend_usd_total: {
    help: "USD the tenant's provider calls spent, as its ledger counted them (models without a price count their fallback price, or 0)",
    labelNames: ['tenant', 'provider', 'model'],
  },
  chorus_tenant_spend_tokens_total: {
    help: "Tokens the tenant's provider calls used, as its ledger counted them",
    labelNames: ['tenant', 'provider', 'model'],
  },
  chorus_tenant_cap_refusals_total: {
    help: "Provider calls not sent because they did not fit the tenant's daily or monthly cap",
    labelNames: ['tenant', 'period'],
  },
} as const satisfies Record<string, { help: string; labelNames: readonly string[] }>;

type TenantSpendMetricName = keyof typeof TENANT_SPEND_METRICS;
export const TENANT_SPEND_METRIC_NAMES = Object.keys(TENANT_SPEND_METRICS) as TenantSpendMetricName[];

const tenantCounter = <N extends TenantSpendMetricName>(registry: Registry, name: N) =>
  new Counter<(typeof TENANT_SPEND_METRICS)[N]['labelNames'][number]>({
    name,
    help: TENANT_SPEND_METRICS[name].help,
    labelNames: TENANT_SPEND_METRICS[name].labelNames,
    registers: [registry],
  });

export function createTenantSpendMetrics(registry: Registry): TenantSpendMetrics {
  const cost = tenantCounter(registry, 'chorus_tenant_spend_usd_total');
  const tokens = tenantCounter(registry, 'chorus_tenant_spend_tokens_total');
  const refused = tenantCounter(registry, 'chorus_tenant_cap_refusals_total');
  return {
    spent({ tenant, provider, model, costUsd, tokens: used }) {
      cost.inc({ tenant, provider, model }, costUsd);
      tokens.inc({ tenant, provider, model }, used);
    },
    refused: (tenant, period) => refused.inc({ tenant, period }),
  };
}
