import type { ProviderName } from '../src/pipeline/providers';

/** What one provider-call attempt did, for metrics. */
export interface ProviderCallRecord {
  provider: ProviderName;
  model: string;
  /** `success`, or the failure type (`ProviderRateLimited`, …), or `cancelled`. */
  outcome: string;
  durationSeconds: number;
  /** Temporal's attempt number of this activity; > 1 is a retry. */
  attempt: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number | null;
  /** How long the attempt waited for its rate-limit slot; absent when it failed before getting that far. */
  pacedSeconds?: number;
}

/** Where the provider activity reports each attempt; injected so tests need no module mocks. */
export interface ProviderCallMetrics {
  record(call: ProviderCallRecord): void;
}

export const NO_PROVIDER_CALL_METRICS: ProviderCallMetrics = { record() {} };
