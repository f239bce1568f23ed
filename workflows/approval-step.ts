import { FailureType } from '../src/pipeline/failures';
import { durationMs } from '../src/pipeline/duration';
import { renderTemplate } from '../src/pipeline/template';
import type { ApprovalOutcome, ApprovalStep } from '../src/pipeline/types';
import type { RunState } from './run-state';
import { asStepFailure, StepFailed } from './step-failure';

/** A human decides: the run waits for the approval update, or until the timeout decides by `onTimeout`. */
export async function runApprovalStep(step: ApprovalStep, run: RunState): Promise<void> {
  const state = run.entry(step.id);
  const prompt = step.approval.prompt === undefined ? null : asStepFailure(step.id, () => renderTemplate(step.approval.prompt!, run.scope));
  const timeoutMs = step.approval.timeout === undefined ? undefined : durationMs(step.approval.timeout);
  state.status = 'waiting';
  state.approval = { prompt, timeoutAt: timeoutMs === undefined ? null : new Date(new Date().getTime() + timeoutMs).toISOString() };
  const decision = await run.decision(step.id, timeoutMs);
  const outcome: ApprovalOutcome = decision
    ? { decision: decision.decision, comment: decision.comment ?? null, by: decision.by, decidedAt: new Date().toISOString(), timedOut: false }
    : {
        decision: step.approval.onTimeout === 'approve' ? 'approved' : 'rejected',
        comment: null,
        by: null,
        decidedAt: new Date().toISOString(),
        timedOut: true,
      };
  run.outputs[step.id] = outcome;
  delete state.approval;
  if (outcome.decision === 'rejected' && (step.approval.onReject ?? 'fail') === 'fail') {
    state.status = 'failed';
    state.error = {
      type: FailureType.ApprovalRejected,
      message: outcome.timedOut ? 'No decision before the approval timeout' : `Rejected by ${outcome.by}${outcome.comment ? `: ${outcome.comment}` : ''}`,
    };
    throw new StepFailed(step.id, state.error, undefined);
  }
  state.status = 'done';
}
