/**
 * What the REST API answers, in one place: the API builds these shapes and the CLI reads them.
 * Plain types and constants only, so any client can import them without the API's framework.
 */
import type { BudgetStatus } from '../pipeline/budget';
import type { PipelineResult, StepFailureInfo, StepProgress, WebhookState } from '../pipeline/types';
import type { FieldProblem } from '../pipeline/validate';

/** Every 400 lists each rejected field and why: `{ errors: [{ field, reason }] }`. */
export type { FieldProblem };

export const RUN_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A run as listings show it (GET /v1/workflows), from Temporal visibility. */
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
  /** A budgeted run's spend: spent, reserved by calls in flight, remaining. */
  budget?: BudgetStatus;
  /** Set on a run started by POST /v1/workflows/:id/rerun. */
  rerunOf?: { workflowId: string; runId: string };
}

/** What POST /v1/workflows and POST /v1/workflows/:id/rerun answer. */
export interface StartedRun {
  workflowId: string;
  runId: string;
  pipeline: string;
  status: RunView['status'];
  statusUrl: string;
  resultUrl: string;
  /** True when an Idempotency-Key matched an earlier identical request: this is that request's run. */
  idempotentReplay?: boolean;
  /** The run this one re-runs, for POST /v1/workflows/:id/rerun. */
  rerunOf?: { workflowId: string; runId: string };
}

export const RESET_POINTS = ['failed-step', 'first-workflow-task', 'last-workflow-task', 'event'] as const;
export type ResetPoint = (typeof RESET_POINTS)[number];

/** What POST /v1/workflows/:id/reset answers. */
export interface ResetRun {
  workflowId: string;
  previousRunId: string;
  runId: string;
  resetTo: { point: ResetPoint; eventId: number };
  statusUrl: string;
  resultUrl: string;
}

/** What POST /v1/batch/reset and /rerun answer; `results` is absent on a dry run. */
export interface BatchOutcome {
  dryRun: boolean;
  matched: RunSummary[];
  results?: {
    workflowId: string;
    runId: string;
    outcome: 'reset' | 'rerun' | 'skipped' | 'error';
    newRunId?: string;
    newWorkflowId?: string;
    reason?: string;
  }[];
}

/** A named pipeline as GET /v1/pipelines lists it. */
export interface PipelineSummary {
  name: string;
  description: string | null;
  requiredInput: string[];
}

/** How a schedule's runs are timed, as the caller gave it. */
export interface ScheduleTiming {
  cron?: string;
  every?: string;
  timezone?: string;
}

export interface ScheduledRun {
  workflowId: string;
  runId: string;
  scheduledAt: string;
  startedAt: string;
  statusUrl: string;
}

/** A schedule as GET /v1/schedules lists it. */
export interface ScheduleView extends ScheduleTiming {
  id: string;
  pipeline: string | null;
  paused: boolean;
  note: string | null;
  nextRunTimes: string[];
  /** Most recent runs it started (scheduled or triggered), oldest first. */
  recentRuns: ScheduledRun[];
}

/** One schedule, as GET /v1/schedules/:id answers. */
export interface ScheduleDetails extends ScheduleView {
  input: Record<string, unknown> | null;
  createdAt: string;
  runsStarted: number;
}
