import type { BudgetStatus, PipelineBudget, RunBudget, RunBudgetLimits } from './budget';
import type { Condition } from './condition';
import type { RunStart } from './run-start';
import type { ProviderName } from './providers';

/** What a step asks of its model; decides the instructions sent and how the answer is parsed. */
export const STEP_TASKS = ['generate', 'summarize', 'sentiment', 'classify', 'extract', 'analyze-image'] as const;
export type StepTask = (typeof STEP_TASKS)[number];

/**
 * Temporal retry policy overrides for one step; durations are Temporal duration strings ('2s', '1m').
 * By default a step retries transient failures (5xx, 429, timeouts, a crashed worker, a server
 * outage) for a time budget, not a number of attempts; non-retryable failures fail at once.
 */
export interface StepRetryPolicy {
  /**
   * How long transient failures are retried, every attempt and the waits between them included
   * (the activity's scheduleToClose timeout). Each fallback target gets a budget of its own, after
   * the one before it has spent its own.
   * @default the run's default (CHORUS_STEP_RETRY_BUDGET, else DEFAULT_STEP_RETRY_BUDGET) when maximumAttempts is absent; none when it is set
   */
  budget?: string;
  /** Retry by count instead: at most this many attempts (and within `budget` only when that is set too). @default unlimited, within the budget */
  maximumAttempts?: number;
  /** @default '1s' */
  initialInterval?: string;
  /** @default 2 */
  backoffCoefficient?: number;
  /** @default '30s' */
  maximumInterval?: string;
}

export interface StepTimeouts {
  /** Longest a single attempt may take. @default '60s' */
  startToClose?: string;
  /** How soon a silent (e.g. crashed) worker's attempt is retried elsewhere. @default '10s' */
  heartbeat?: string;
}

/**
 * Where a step's provider calls run. `remote`: an activity on the provider's own task queue, any
 * worker serving that queue runs it, each attempt recorded by the server as it starts and ends.
 * `local`: a local activity in the workflow's own worker, its result recorded with the next
 * workflow task completion (sequential local steps share one workflow task): no round trip per
 * step, but a crashed worker repeats every call of the workflow task it had not completed.
 */
export const EXECUTION_MODES = ['remote', 'local'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];
/** The mode of a pipeline and step that name none; runs recorded before modes existed are all remote. */
export const DEFAULT_EXECUTION: ExecutionMode = 'remote';

/** Another provider/model to try once a step's retries are exhausted or its provider fails for good. */
export interface FallbackTarget {
  provider: ProviderName;
  model?: string;
}

/** The provider-call part of a step, shared by plain steps, parallel members and map templates. */
export interface ProviderCallSpec {
  provider: ProviderName;
  /** Model name; the provider's configured default when absent. */
  model?: string;
  task: StepTask;
  /** Template of the user prompt; may read `input.*`, earlier `steps.<id>.*`, and `item`/`index` in a map. */
  prompt: string;
  /** classify: the allowed labels. */
  labels?: string[];
  /** extract: JSON Schema the answer must satisfy. */
  schema?: Record<string, unknown>;
  /** analyze-image: template that renders to an http(s) URL or a `data:image/...;base64,` URL. */
  image?: string;
  /** Most tokens the answer may take; a longer one fails as ProviderOutputTruncated (unless allowTruncated). @default the provider's own */
  maxOutputTokens?: number;
  /**
   * An answer cut at the output-token limit is a success flagged `truncated: true` instead of a
   * ProviderOutputTruncated failure: for text tasks whose first part is worth having. @default false
   */
  allowTruncated?: boolean;
  /** Sampling temperature, 0 to 2; Anthropic takes at most 1 and gets min(temperature, 1). @default the provider's own */
  temperature?: number;
  /** The answer ends before any of these strings. */
  stopSequences?: string[];
  retry?: StepRetryPolicy;
  timeout?: StepTimeouts;
  fallback?: FallbackTarget[];
  /** Where this call runs (its fallbacks too). @default the pipeline's `execution` */
  execution?: ExecutionMode;
  /**
   * Reuse an earlier identical call's answer (same tenant, provider, model and rendered request) for
   * `ttl`: at $0, flagged `cached: true`. Set here, it applies at any temperature. @default the pipeline's `cache`, for steps at temperature 0 or unset
   */
  cache?: ResponseCacheSpec;
}

/** How long an answer is reused for identical calls. */
export interface ResponseCacheSpec {
  /** A duration such as 10m or 24h. */
  ttl: string;
}

export interface ProviderStep extends ProviderCallSpec {
  /** Unique within the pipeline; later steps read this step's answer as `steps.<id>.*`. */
  id: string;
  /** Runs only when this condition holds on `{ input, steps }`; otherwise the step is skipped. */
  when?: Condition;
}

/** Steps that run at the same time; each member's answer is `steps.<member id>.*`. */
export interface ParallelStep {
  id: string;
  when?: Condition;
  parallel: ProviderStep[];
}

/** One provider call per element of a list, at most `concurrency` at a time. */
export interface MapStep {
  id: string;
  when?: Condition;
  map: {
    /** Dotted path of the list, e.g. `input.documents`. */
    over: string;
    /** @default 4 */
    concurrency?: number;
    /** The call made for each element; its templates read the element as `item` and its position as `index`. */
    step: ProviderCallSpec;
  };
}

/** A human in the loop: the run waits here until someone approves or rejects (or the timeout decides). */
export interface ApprovalStep {
  id: string;
  when?: Condition;
  approval: {
    /** Template of what the approver is asked; may read `input.*` and earlier `steps.<id>.*`. */
    prompt?: string;
    /** How long to wait; forever when absent. */
    timeout?: string;
    /** The decision when the timeout passes. @default 'reject' */
    onTimeout?: 'approve' | 'reject';
    /** What a rejection does: fail the run (ApprovalRejected), or continue so later steps can branch on it. @default 'fail' */
    onReject?: 'fail' | 'continue';
  };
}

export type PipelineStep = ProviderStep | ParallelStep | MapStep | ApprovalStep;

export const isParallelStep = (step: PipelineStep): step is ParallelStep => 'parallel' in step;
export const isMapStep = (step: PipelineStep): step is MapStep => 'map' in step;
export const isApprovalStep = (step: PipelineStep): step is ApprovalStep => 'approval' in step;

/** What an approval step produced: `steps.<id>.decision`, `.comment`, … */
export interface ApprovalOutcome {
  decision: 'approved' | 'rejected';
  comment: string | null;
  /** Who decided (API key id or token subject); null when the timeout decided. */
  by: string | null;
  decidedAt: string;
  timedOut: boolean;
}

/** The decision an approver sends (through the API's approve/reject routes). */
export interface ApprovalDecision {
  decision: 'approved' | 'rejected';
  comment?: string;
  by: string;
  /** A budget approval's raised limits (each replaces the run's limit of its kind); only an approval of a call that did not fit its budget takes one. */
  budget?: RunBudgetLimits;
}

export interface PipelineDefinition {
  name: string;
  description?: string;
  steps: PipelineStep[];
  /**
   * Result field → dotted path into `{ input, steps }`, or a list of paths where the first that has
   * a value wins (for conditional steps). Every step's text when absent.
   */
  output?: Record<string, string | string[]>;
  /** A cap on what the run's provider calls may cost or use; each call reserves its worst case before it is sent. */
  budget?: PipelineBudget;
  /** Where provider calls run unless a step says otherwise. @default DEFAULT_EXECUTION */
  execution?: ExecutionMode;
  /** Answers reused by every step that sets no `cache` of its own and no temperature above 0. @default none: no step is cached */
  cache?: ResponseCacheSpec;
}

/** Retry budget of a step whose definition sets neither `retry.budget` nor `retry.maximumAttempts`. */
export const DEFAULT_STEP_RETRY_BUDGET = '10m';

/** Defaults the starter of a run (the API, from its configuration) gives every step of it. */
export interface RunDefaults {
  /** @default DEFAULT_STEP_RETRY_BUDGET */
  retryBudget?: string;
}

/** The workflow's only argument: the definition travels with the run, so edits never change a running job. */
export interface PipelineRunInput {
  pipeline: PipelineDefinition;
  input: Record<string, unknown>;
  /** Workflows cannot read the environment: configured step defaults travel with the run too. */
  defaults?: RunDefaults;
  /** The tenant that started the run (signs its webhook). */
  tenant?: string;
  /** Where the run's outcome is POSTed when it closes (signed webhook). */
  callbackUrl?: string;
  /** How the run started (absent in runs started before Chorus recorded it). */
  start?: RunStart;
  /** The run's budget (the stricter of its definition's and its start request's) and the prices to hold it at; absent: no budget. */
  budget?: RunBudget;
}

/** Delivery of a run's webhook, as the status shows it. */
export interface WebhookState {
  url: string;
  status: 'pending' | 'delivering' | 'delivered' | 'failed';
  /** Attempt that delivered it. */
  attempts?: number;
  deliveredAt?: string;
  error?: StepFailureInfo;
}

export interface TokenUsage {
  inputTokens: number;
  /** Thinking tokens included, which providers bill as output. */
  outputTokens: number;
  /** Of `outputTokens`, those the model spent thinking (Gemini `thoughtsTokenCount`, OpenAI `reasoning_tokens`), when reported. */
  thinkingTokens?: number;
}

/** What one provider call produced; the activity's result. */
export interface StepResult {
  provider: ProviderName;
  model: string;
  text: string;
  /** Parsed answer for structured tasks (sentiment/classify: `{ label, score }`; extract: the JSON object). */
  data?: unknown;
  usage: TokenUsage;
  /** True when the provider's answer reported no token usage (it is optional): `usage` is zero and `costUsd` null. */
  usageUnknown?: boolean;
  /** Tokens the provider bills, when it reports them apart from `usage` (Cohere `billed_units`); the cost is priced from these. */
  billedUsage?: TokenUsage;
  /** Estimated from the configured price table; null when the model has no price or the usage is unknown. */
  costUsd: number | null;
  latencyMs: number;
  /** True when the answer came from the Chorus provider simulator, not the real provider. */
  simulated: boolean;
  /** Temporal attempt number that succeeded (1 = first try). */
  attempt: number;
  /** Set when a fallback target answered because the step's own provider failed. */
  fallbackFrom?: { provider: ProviderName; error: StepFailureInfo };
  /** The answer stopped at the output-token limit and the step allows that (allowTruncated): `text` is its first part. */
  truncated?: true;
  /** An earlier identical call's answer, from the response cache: `usage` is that call's, `costUsd` 0. */
  cached?: true;
}

/** What a map step produced: one result per element, in the list's order. */
export interface MapResult {
  items: StepResult[];
  texts: string[];
  /** Structured answers of the elements, for classify/extract/sentiment maps. */
  data: unknown[];
}

/** Whatever a step produced: a provider call's result, a map's results, or an approval's outcome. */
export type StepOutput = StepResult | MapResult | ApprovalOutcome;
export const isMapResult = (output: StepOutput): output is MapResult => 'items' in output;
export const isApprovalOutcome = (output: StepOutput): output is ApprovalOutcome => 'decision' in output;

export type StepStatus = 'pending' | 'running' | 'waiting' | 'done' | 'failed' | 'cancelled' | 'skipped';

export interface StepFailureInfo {
  type: string;
  message: string;
}

export interface StepProgress {
  id: string;
  /** The provider(s) the step calls; `human` for an approval. */
  provider: ProviderName | 'mixed' | 'human';
  status: StepStatus;
  /** Attempts made so far; known once the step ends (the API adds live attempts of a running step). */
  attempts?: number;
  /** Map steps: how many elements are done out of how many; `notRun`: those left when the run's budget ran out. */
  items?: { done: number; total: number; notRun?: number };
  /** Approval steps while waiting: what is asked, and when the timeout decides. */
  approval?: { prompt: string | null; timeoutAt: string | null };
  error?: StepFailureInfo;
  /** Providers this step skipped for its fallback because their circuit breaker was open (ProviderUnhealthy). */
  skippedUnhealthy?: ProviderName[];
}

export interface StepUsage extends TokenUsage {
  step: string;
  provider: ProviderName;
  model: string;
  latencyMs: number;
  attempts: number;
  costUsd: number | null;
  simulated: boolean;
}

export interface UsageReport {
  steps: StepUsage[];
  total: TokenUsage & { costUsd: number; latencyMs: number; calls: number };
  /** True when any call's model had no price, so the total cost is a lower bound. */
  costIncomplete: boolean;
}

export interface PipelineResult {
  pipeline: string;
  output: Record<string, unknown>;
  steps: Record<string, StepOutput>;
  /** Each step's final state, in definition order (skipped steps included). */
  progress: StepProgress[];
  usage: UsageReport;
  webhook?: WebhookState;
  /** A budgeted run's spend against its budget. */
  budget?: BudgetStatus;
}

/** Details carried by a PipelineStepFailed failure so the API can report which step failed and why. */
export interface PipelineFailureDetails {
  step: string;
  error: StepFailureInfo;
  progress: StepProgress[];
  webhook?: WebhookState;
  budget?: BudgetStatus;
}

/** sentiment and classify answers. */
export interface LabelAnswer {
  label: string;
  score: number;
}
