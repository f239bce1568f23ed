import { ApplicationFailure, condition, patched, setHandler } from '@temporalio/workflow';
import { type ApprovalDecision, type PipelineRunInput, type PipelineStep, type StepOutput, type StepProgress, type WebhookState } from '../src/pipeline/types';
import { progressEntries } from '../src/pipeline/progress';
import type { ProviderName } from '../src/pipeline/providers';
import { BudgetLedger, type BudgetApprovalRequest } from '../src/pipeline/budget';
import { durationMs } from '../src/pipeline/duration';
import { FailureType } from '../src/pipeline/failures';
import { approvalUpdate, budgetQuery, INVALID_APPROVAL_DECISION, progressQuery, webhookQuery } from './definitions';
import { StepFailed } from './step-failure';

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
  /** The approval waiting for a decision (an approval step's, or a budget approval's), and the decision once it arrives. */
  private awaiting: { step: string; budget: boolean; decision?: ApprovalDecision } | undefined;
  /** The budget approval being waited for, shared by every call refused meanwhile (a map's lanes, a group's members). */
  private budgetWait: Promise<ApprovalDecision | undefined> | undefined;

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
        validator: (decision: ApprovalDecision) => {
          if (!this.awaiting || this.awaiting.decision) throw new Error('No approval step is waiting for a decision');
          const problems = this.decisionProblems(this.awaiting, decision);
          if (problems.length) {
            throw ApplicationFailure.create({
              type: INVALID_APPROVAL_DECISION,
              message: problems.map((problem) => `${problem.field}: ${problem.reason}`).join('; '),
              details: [problems],
            });
          }
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
  async decision(step: string, timeoutMs: number | undefined, budget = false): Promise<ApprovalDecision | undefined> {
    this.awaiting = { step, budget };
    const decided = () => Boolean(this.awaiting?.decision);
    const inTime = timeoutMs === undefined ? (await condition(decided), true) : await condition(decided, timeoutMs);
    const { decision } = this.awaiting;
    this.awaiting = undefined;
    return inTime ? decision : undefined;
  }

  /**
   * Whether `error` is the run budget's refusal of a call and the pipeline says `onExceeded:
   * await-approval`, so the run waits for a budget approval instead of failing. Decided at once
   * (no await), so a run that fails keeps the order of its commands.
   */
  awaitsBudgetApproval(error: unknown): error is StepFailed {
    const refused = error instanceof StepFailed ? error.budgetRefusal : undefined;
    // An unpriced model fits no raised limit; a tenant cap's refusal is not the run's to raise.
    if (!refused || refused.refusal.unpriced || this.run.pipeline.budget?.onExceeded !== 'await-approval' || !this.budget) return false;
    // Patched: runs recorded before budget approvals failed here.
    return patched('chorus-budget-approval');
  }

  /**
   * Records a pending budget approval for the refused call (or joins the one pending) and waits:
   * returns once an approval raised the budget (the caller reserves the call again); a rejection or
   * the approval timeout fails the step BudgetExceeded.
   */
  async awaitBudgetApproval(stepId: string, error: StepFailed): Promise<void> {
    const refused = error.budgetRefusal!;
    const policy = this.run.pipeline.budget!;
    const timeoutMs = policy.approvalTimeout === undefined ? undefined : durationMs(policy.approvalTimeout);
    if (!this.budgetWait) {
      const now = new Date();
      const timeoutAt = timeoutMs === undefined ? null : new Date(now.getTime() + timeoutMs).toISOString();
      const request = this.budget!.requestApproval(stepId, refused.call, refused.planned, refused.refusal.dimension, now.toISOString(), timeoutAt);
      this.budgetWait = this.budgetDecision(request, timeoutMs);
    }
    const state = this.entry(stepId);
    state.status = 'waiting';
    const decision = await this.budgetWait;
    state.status = 'running';
    if (decision?.decision === 'approved') return;
    const why = decision
      ? `the budget approval was rejected by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}`
      : `no budget approval within ${policy.approvalTimeout}`;
    throw new StepFailed(stepId, { type: FailureType.BudgetExceeded, message: `${error.info.message}; ${why}` }, undefined);
  }

  private async budgetDecision(request: BudgetApprovalRequest, timeoutMs: number | undefined): Promise<ApprovalDecision | undefined> {
    const decision = await this.decision(request.step, timeoutMs, true);
    this.budget!.decide(
      { decision: decision?.decision ?? 'rejected', by: decision?.by ?? null, comment: decision?.comment ?? null, decidedAt: new Date().toISOString() },
      decision?.budget,
    );
    this.budgetWait = undefined;
    return decision;
  }

  /** What is wrong with `decision` for the approval waiting; the fields are the approve body's. */
  private decisionProblems(awaiting: { step: string; budget: boolean }, decision: ApprovalDecision): { field: string; reason: string }[] {
    if (!awaiting.budget) {
      return decision.budget ? [{ field: 'budget', reason: `the run waits at approval step "${awaiting.step}", which raises no budget` }] : [];
    }
    if (decision.decision === 'rejected') return decision.budget ? [{ field: 'budget', reason: 'a rejection raises no budget' }] : [];
    if (!decision.budget) {
      const toFit = JSON.stringify(this.budget!.pendingApproval?.limitsToFit ?? {});
      return [{ field: 'budget', reason: `the run waits for a budget approval: approve with the raised limits, at least ${toFit}` }];
    }
    return this.budget!.raiseProblems(decision.budget);
  }

  /** Once the run fails or is cancelled: steps still running or waiting end as cancelled, and the pending ones too when the run was cancelled. */
  endUnfinished(runCancelled: boolean): void {
    for (const unfinished of this.progress) if (unfinished.status === 'running' || unfinished.status === 'waiting') unfinished.status = 'cancelled';
    if (runCancelled) for (const unfinished of this.progress) if (unfinished.status === 'pending') unfinished.status = 'cancelled';
  }
}
