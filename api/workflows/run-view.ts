import type { PipelineResult, StepFailureInfo, StepProgress, WebhookState } from '../../src/pipeline/types';
import type { RunStatus } from './dto/run-queries.dto';

/** One step as the API shows it: the workflow's progress plus live attempt data for a running step. */
export interface StepView extends StepProgress {
  /** Last failure of a step that is still being retried. */
  lastError?: StepFailureInfo;
}

/** What GET /v1/workflows/:id answers. */
export interface RunView extends RunSummary {
  /** Null when progress could not be read (no worker answered the query in time). */
  steps: StepView[] | null;
  result?: PipelineResult;
  error?: StepFailureInfo & { step?: string };
  /** True when any step was answered by the provider simulator. */
  simulated?: boolean;
  /** Delivery of the run's webhook, when it has a callbackUrl. */
  webhook?: WebhookState;
  /** Set on a run started by POST /v1/workflows/:id/rerun. */
  rerunOf?: { workflowId: string; runId: string };
}

export interface RunSummary {
  workflowId: string;
  runId: string;
  pipeline: string | null;
  status: RunStatus | 'UNKNOWN';
  startedAt: string;
  closedAt: string | null;
  /** Estimated cost and tokens of a completed run (search attributes); null while running. */
  costUsd: number | null;
  totalTokens: number | null;
  /** Failure type of a failed run (search attribute), e.g. ProviderAuthFailed. */
  errorType: string | null;
}
