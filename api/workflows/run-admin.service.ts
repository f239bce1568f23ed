import { randomUUID } from 'node:crypto';
import { ConflictException, Inject, Injectable } from '@nestjs/common';
import { Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import type { TemporalSettings } from '../../src/config/temporal';
import type { BatchOutcome, ResetPoint, ResetRun, StartedRun } from '../../src/contract/api';
import type { RunBudgetLimits } from '../../src/pipeline/budget';
import type { ApprovalDecision } from '../../src/pipeline/types';
import type { pipelineWorkflow } from '../../workflows';
import { approvalUpdate, INVALID_APPROVAL_DECISION } from '../../workflows/definitions';
import type { FieldProblem } from '../errors/bad-request';
import { stateConflict } from '../errors/conflict';
import { listWorkflows } from '../temporal/listing';
import { runInputOf } from '../temporal/payloads';
import { runIds, runLinks, RunStarter } from '../temporal/run-starter';
import { TEMPORAL_CLIENT, TEMPORAL_SETTINGS } from '../tokens';
import type { Principal } from '../auth/principal';
import type { BatchRunsDto, ResetRunDto } from './dto/admin.dto';
import { RunReadService } from './run-read.service';
import { summaryOfExecution, visibilityQuery } from './run-visibility';

const { EventType } = temporal.api.enums.v1;
/** How long deciding an approval waits for the run's worker to take the update. */
const APPROVAL_DEADLINE_MS = 5000;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const eventId = (event: HistoryEvent) => Number(event.eventId);

/**
 * Acting on runs (the workflows:admin routes): deciding an approval, cancel, terminate, and bringing
 * runs back: reset (same workflow ID, new run from a chosen point), rerun (a fresh run with the same
 * definition and input, linked to the original), and the batch forms.
 */
@Injectable()
export class RunAdminService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(TEMPORAL_SETTINGS) private readonly temporal: TemporalSettings,
    private readonly runs: RunReadService,
    private readonly starter: RunStarter,
  ) {}

  /**
   * Decides the approval a run is waiting at (an approval step's, or a budget approval's with the
   * raised limits); 409 when the run is not waiting for one, or its state refuses the body (naming the field).
   */
  async decideApproval(workflowId: string, principal: Principal, decision: ApprovalDecision['decision'], comment?: string, budget?: RunBudgetLimits) {
    const description = await this.runs.describeOwned(workflowId, principal);
    if (description.status.name !== 'RUNNING') throw new ConflictException(`The run is ${description.status.name}, not waiting for an approval`);
    try {
      // An update waits for a worker to take it: bounded, so a run no worker serves answers 503 instead of hanging.
      const handle = this.client.workflow.getHandle<typeof pipelineWorkflow>(workflowId, description.runId);
      const { step } = await this.client.withDeadline(Date.now() + APPROVAL_DEADLINE_MS, () =>
        handle.executeUpdate(approvalUpdate, { args: [{ decision, comment, by: principal.id, ...(budget ? { budget } : {}) }] }),
      );
      return { workflowId, step, decision, ...(budget ? { budget } : {}) };
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        // The run's validator names what its state refuses (a budget the approval waiting needs or takes none of, a raise too small): a 409 naming the field.
        if (error.cause instanceof ApplicationFailure && error.cause.type === INVALID_APPROVAL_DECISION)
          throw stateConflict(error.cause.details?.[0] as FieldProblem[]);
        throw new ConflictException('No approval step is waiting for a decision');
      }
      throw error;
    }
  }

  async cancel(workflowId: string, principal: Principal): Promise<{ workflowId: string; status: 'CANCEL_REQUESTED' }> {
    const { runId } = await this.runs.describeOwned(workflowId, principal);
    await this.client.workflow.getHandle(workflowId, runId).cancel();
    return { workflowId, status: 'CANCEL_REQUESTED' };
  }

  async terminate(
    workflowId: string,
    principal: Principal,
    reason = 'terminated through the Chorus API',
  ): Promise<{ workflowId: string; status: 'TERMINATED' }> {
    const { runId } = await this.runs.describeOwned(workflowId, principal);
    await this.client.workflow.getHandle(workflowId, runId).terminate(reason);
    return { workflowId, status: 'TERMINATED' };
  }

  async reset(workflowId: string, principal: Principal, { to, eventId: requestedEventId, reason }: ResetRunDto, expectedRunId?: string): Promise<ResetRun> {
    const description = await this.runs.describeOwned(workflowId, principal);
    if (expectedRunId && description.runId !== expectedRunId) throw new ConflictException('The run was already reset or rerun');
    const events = (await this.client.workflow.getHandle(workflowId, description.runId).fetchHistory()).events ?? [];
    const point = to ?? (description.status.name === 'FAILED' ? 'failed-step' : 'last-workflow-task');
    const resetEventId = this.resetEventId(events, point, requestedEventId);
    const response: temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse = await this.client.workflowService.resetWorkflowExecution({
      namespace: this.temporal.namespace,
      workflowExecution: { workflowId, runId: description.runId },
      workflowTaskFinishEventId: Long.fromNumber(resetEventId),
      requestId: randomUUID(),
      reason: reason ?? `reset to ${point} through the Chorus API`,
    });
    return { workflowId, previousRunId: description.runId, runId: response.runId ?? '', resetTo: { point, eventId: resetEventId }, ...runLinks(workflowId) };
  }

  /** The WorkflowTaskCompleted event a reset resumes after. */
  private resetEventId(events: HistoryEvent[], point: ResetPoint, requested?: number): number {
    const completedTasks = events.filter((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    if (point === 'event') {
      if (!completedTasks.some((event) => eventId(event) === requested)) {
        throw stateConflict([{ field: 'eventId', reason: `the run's history has no WorkflowTaskCompleted event ${requested}` }]);
      }
      return requested!;
    }
    if (point === 'failed-step') {
      const failed = [...events]
        .reverse()
        .find((event) => event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED || event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
      const scheduledId = Number(failed?.activityTaskFailedEventAttributes?.scheduledEventId ?? failed?.activityTaskTimedOutEventAttributes?.scheduledEventId);
      const scheduled = events.find((event) => eventId(event) === scheduledId);
      const taskId = Number(scheduled?.activityTaskScheduledEventAttributes?.workflowTaskCompletedEventId);
      if (!taskId)
        throw stateConflict([{ field: 'to', reason: 'the run has no failed step to reset to; use first-workflow-task, last-workflow-task or event' }]);
      return taskId;
    }
    const task = point === 'first-workflow-task' ? completedTasks[0] : completedTasks[completedTasks.length - 1];
    if (!task) throw stateConflict([{ field: 'to', reason: 'the run has no completed workflow task yet' }]);
    return eventId(task);
  }

  /**
   * Starts a fresh run with the original's definition and input. Its workflow ID is derived from
   * the original run, so rerunning the same run twice finds the first rerun instead of starting another.
   */
  async rerun(workflowId: string, principal: Principal, expectedRunId?: string): Promise<StartedRun> {
    const description = await this.runs.describeOwned(workflowId, principal);
    if (expectedRunId && description.runId !== expectedRunId) throw new ConflictException('The run was already reset');
    const original = await runInputOf(this.client, description.workflowId, description.runId);
    const rerunId = runIds.rerun(workflowId, description.runId);
    try {
      return await this.starter.start(rerunId, {
        pipeline: original.pipeline,
        input: original.input,
        tenant: principal.tenant,
        callbackUrl: original.callbackUrl,
        rerunOf: { workflowId, runId: description.runId },
        source: 'rerun',
        // A rerun of a named pipeline's run is still that pipeline's, with the definition the original ran.
        namedPipeline: original.start?.namedPipeline,
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictException(`This run was already rerun as ${rerunId}`);
      throw error;
    }
  }

  /** Resets or reruns every failed run that matches; a dry run only lists them. */
  async batch(
    action: 'reset' | 'rerun',
    principal: Principal,
    { dryRun = false, limit = 50, to, pipeline, errorType, startedAfter, startedBefore }: BatchRunsDto,
  ): Promise<BatchOutcome> {
    const query = visibilityQuery({
      tenant: principal.tenant,
      status: 'FAILED',
      pipeline,
      errorType,
      startedAfter: startedAfter ? new Date(startedAfter) : undefined,
      startedBefore: startedBefore ? new Date(startedBefore) : undefined,
    });
    const matched = await listWorkflows(this.client, query, limit, summaryOfExecution);
    if (dryRun) return { dryRun, matched };
    const results: NonNullable<BatchOutcome['results']> = [];
    // One at a time: a batch must not become a burst against Temporal or the providers.
    for (const run of matched) {
      try {
        if (action === 'reset') {
          const reset = await this.reset(run.workflowId, principal, { to }, run.runId);
          results.push({ workflowId: run.workflowId, runId: run.runId, outcome: 'reset', newRunId: reset.runId });
        } else {
          const rerun = await this.rerun(run.workflowId, principal, run.runId);
          results.push({ workflowId: run.workflowId, runId: run.runId, outcome: 'rerun', newWorkflowId: rerun.workflowId, newRunId: rerun.runId });
        }
      } catch (error) {
        const skipped = error instanceof ConflictException;
        results.push({ workflowId: run.workflowId, runId: run.runId, outcome: skipped ? 'skipped' : 'error', reason: (error as Error).message });
      }
    }
    return { dryRun, matched, results };
  }
}
