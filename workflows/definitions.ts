import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { BudgetStatus } from '../src/pipeline/budget';
import type { ApprovalDecision, StepProgress, WebhookState } from '../src/pipeline/types';

/** Workflow type name of every pipeline run; the API starts and lists runs by it. */
export const PIPELINE_WORKFLOW_TYPE = 'pipelineWorkflow';

/** Each step's state: pending, running, done, failed, cancelled. */
export const progressQuery = defineQuery<StepProgress[]>('progress');

/** Decides the approval step the run is waiting at; rejected (and not recorded) when none is waiting. */
export const approvalUpdate = defineUpdate<{ step: string }, [ApprovalDecision]>('approval');

/** The failure type of an approval update whose body the approval waiting refuses (the API answers 409 with its details' field problems). */
export const INVALID_APPROVAL_DECISION = 'InvalidApprovalDecision';

/** The run's webhook delivery, or null when it has no callbackUrl. */
export const webhookQuery = defineQuery<WebhookState | null>('webhook');

/** The run's spend against its budget: spent, reserved by calls in flight, remaining; null when the run has no budget. */
export const budgetQuery = defineQuery<BudgetStatus | null>('budget');
