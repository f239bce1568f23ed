import type { ProviderName } from './providers';

/** What a step asks of its model; decides the instructions sent and how the answer is parsed. */
export const STEP_TASKS = ['generate', 'summarize', 'sentiment'] as const;
export type StepTask = (typeof STEP_TASKS)[number];

/** Temporal retry policy overrides for one step; durations are Temporal duration strings ('2s', '1m'). */
export interface StepRetryPolicy {
  /** @default 5 */
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

export interface StepDefinition {
  /** Unique within the pipeline; later steps read this step's answer as `steps.<id>.*`. */
  id: string;
  provider: ProviderName;
  /** Model name; the provider's configured default when absent. */
  model?: string;
  task: StepTask;
  /** Template of the user prompt; may read `input.*` and earlier `steps.<id>.*`. */
  prompt: string;
  retry?: StepRetryPolicy;
  timeout?: StepTimeouts;
}

export interface PipelineDefinition {
  name: string;
  description?: string;
  steps: StepDefinition[];
  /** Result field → dotted path into `{ input, steps }`; every step's text when absent. */
  output?: Record<string, string>;
}

/** The workflow's only argument: the definition travels with the run, so edits never change a running job. */
export interface PipelineRunInput {
  pipeline: PipelineDefinition;
  input: Record<string, unknown>;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** What one provider call produced; the activity's result. */
export interface StepResult {
  provider: ProviderName;
  model: string;
  text: string;
  /** Parsed answer for structured tasks (sentiment: `{ label, score }`). */
  data?: unknown;
  usage: TokenUsage;
  latencyMs: number;
  /** True when the answer came from the Chorus provider simulator, not the real provider. */
  simulated: boolean;
  /** Temporal attempt number that succeeded (1 = first try). */
  attempt: number;
}

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled' | 'skipped';

export interface StepFailureInfo {
  type: string;
  message: string;
}

export interface StepProgress {
  id: string;
  provider: ProviderName;
  status: StepStatus;
  /** Attempts made so far; known once the step ends (the API adds live attempts of a running step). */
  attempts?: number;
  error?: StepFailureInfo;
}

export interface PipelineResult {
  pipeline: string;
  output: Record<string, unknown>;
  steps: Record<string, StepResult>;
  usage: TokenUsage;
}

/** Details carried by a PipelineStepFailed failure so the API can report which step failed and why. */
export interface PipelineFailureDetails {
  step: string;
  error: StepFailureInfo;
  progress: StepProgress[];
}

/** Sentiment is returned by the model as JSON of this shape. */
export interface Sentiment {
  label: 'positive' | 'negative' | 'neutral';
  score: number;
}
