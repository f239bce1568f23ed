import { condition, setHandler } from '@temporalio/workflow';
import { type ApprovalDecision, type PipelineRunInput, type PipelineStep, type StepOutput, type StepProgress, type WebhookState } from '../src/pipeline/types';
import { progressEntries } from '../src/pipeline/progress';
import type { ProviderName } from '../src/pipeline/providers';
import { BudgetLedger } from '../src/pipeline/budget';
import { approvalUpdate, budgetQuery, progressQuery, webhookQuery } from './definitions';

export type StepOutputs = Record<string, StepOutput>;

/** What templates and conditions read: the run's input and the outputs of the steps so far. */
export interface TemplateScope extends Record<string, unknown> {
  input: Record<string, unknown>;
  steps: StepOutputs;
}

/**
 * Everything a run knows while it runs, in one place: each step's progress, the steps' outputs, the
 * approval it waits at, and its webhook delivery. The queries and the approval update read it here.
 */
export class RunState {
  readonly progress: StepProgress[];
  readonly outputs: StepOutputs = {};
  /** Present when the run has a callbackUrl (and a tenant to sign it). */
  readonly webhook: WebhookState | undefined;
  /** Present when the run has a budget: what its calls spent and hold. */
  readonly budget: BudgetLedger | undefined;
  /** The approval step waiting for a decision, and the decision once it arrives. */
  private awaiting: { step: string; decision?: ApprovalDecision } | undefined;

  constructor(readonly run: PipelineRunInput) {
    this.progress = run.pipeline.steps.flatMap(progressEntries);
    setHandler(progressQuery, () => this.progress);
    this.webhook = run.callbackUrl && run.tenant ? { url: run.callbackUrl, status: 'pending' } : undefined;
    setHandler(webhookQuery, () => this.webhook ?? null);
    this.budget = run.budget ? new BudgetLedger(run.budget) : undefined;
    setHandler(budgetQuery, () => this.budget?.status() ?? null);
    setHandler(
      approvalUpdate,
      (decision: ApprovalDecision) => {
        this.awaiting!.decision = decision;
        return { step: this.awaiting!.step };
      },
      {
        validator: (_decision: ApprovalDecision) => {
          if (!this.awaiting || this.awaiting.decision) throw new Error('No approval step is waiting for a decision');
        },
      },
    );
  }

  entry(id: string): StepProgress {
    return this.progress.find((candidate) => candidate.id === id)!;
  }

  get scope(): TemplateScope {
    return { input: this.run.input, steps: this.outputs };
  }

  /** A call of the step skipped `provider`, whose circuit breaker was open, for its fallback. */
  markSkippedUnhealthy(id: string, provider: ProviderName): void {
    const state = this.entry(id);
    state.skippedUnhealthy ??= [];
    if (!state.skippedUnhealthy.includes(provider)) state.skippedUnhealthy.push(provider);
  }

  markSkipped(step: PipelineStep): void {
    for (const skipped of progressEntries(step)) this.entry(skipped.id).status = 'skipped';
  }

  /**
   * Waits for the approval update of `step`; undefined when `timeoutMs` passed first.
   * The update is accepted only while this wait is on.
   */
  async decision(step: string, timeoutMs: number | undefined): Promise<ApprovalDecision | undefined> {
    this.awaiting = { step };
    const decided = () => Boolean(this.awaiting?.decision);
    const inTime = timeoutMs === undefined ? (await condition(decided), true) : await condition(decided, timeoutMs);
    const { decision } = this.awaiting;
    this.awaiting = undefined;
    return inTime ? decision : undefined;
  }

  /** Once the run fails or is cancelled: steps still running or waiting end as cancelled, and the pending ones too when the run was cancelled. */
  endUnfinished(runCancelled: boolean): void {
    for (const unfinished of this.progress) if (unfinished.status === 'running' || unfinished.status === 'waiting') unfinished.status = 'cancelled';
    if (runCancelled) for (const unfinished of this.progress) if (unfinished.status === 'pending') unfinished.status = 'cancelled';
  }
}
