import { randomUUID } from 'node:crypto';
import { ConflictException, Inject, Injectable } from '@nestjs/common';
import { Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import type { TemporalSettings } from '../../src/config/temporal';
import { NAMED_PIPELINE_MEMO } from '../../src/pipeline/run-memo';
import type { PipelineRunInput } from '../../src/pipeline/types';
import { badRequest } from '../errors/bad-request';
import { TEMPORAL_CLIENT, TEMPORAL_SETTINGS } from '../tokens';
import type { Principal } from '../auth/principal';
import type { BatchRunsDto, ResetPoint, ResetRunDto } from './dto/admin.dto';
import type { RunSummary } from './run-view';
import { summaryOf, visibilityQuery } from './run-visibility';
import { runLinks, WorkflowsService, type StartedRun } from './workflows.service';

const { EventType } = temporal.api.enums.v1;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface ResetRun {
  workflowId: string;
  previousRunId: string;
  runId: string;
  resetTo: { point: ResetPoint; eventId: number };
  statusUrl: string;
  resultUrl: string;
}

export interface BatchOutcome {
  dryRun: boolean;
  matched: RunSummary[];
  results?: { workflowId: string; runId: string; outcome: 'reset' | 'rerun' | 'skipped' | 'error'; newRunId?: string; newWorkflowId?: string; reason?: string }[];
}

const eventId = (event: HistoryEvent) => Number(event.eventId);

/**
 * Bringing runs back: reset (same workflow ID, new run from a chosen point), rerun (a fresh run with
 * the same definition and input, linked to the original), terminate, and the batch forms.
 */
@Injectable()
export class RunAdminService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(TEMPORAL_SETTINGS) private readonly temporal: TemporalSettings,
    private readonly workflows: WorkflowsService,
  ) {}

  async terminate(workflowId: string, principal: Principal, reason = 'terminated through the Chorus API'): Promise<{ workflowId: string; status: 'TERMINATED' }> {
    const { runId } = await this.workflows.describeOwned(workflowId, principal);
    await this.client.workflow.getHandle(workflowId, runId).terminate(reason);
    return { workflowId, status: 'TERMINATED' };
  }

  async reset(workflowId: string, principal: Principal, { to, eventId: requestedEventId, reason }: ResetRunDto, expectedRunId?: string): Promise<ResetRun> {
    const description = await this.workflows.describeOwned(workflowId, principal);
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
        throw badRequest([{ field: 'eventId', reason: `event ${requested} is not a WorkflowTaskCompleted event of this run` }]);
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
      if (!taskId) throw badRequest([{ field: 'to', reason: 'the run has no failed step to reset to; use first-workflow-task, last-workflow-task or event' }]);
      return taskId;
    }
    const task = point === 'first-workflow-task' ? completedTasks[0] : completedTasks[completedTasks.length - 1];
    if (!task) throw badRequest([{ field: 'to', reason: 'the run has no completed workflow task yet' }]);
    return eventId(task);
  }

  /**
   * Starts a fresh run with the original's definition and input. Its workflow ID is derived from
   * the original run, so rerunning the same run twice finds the first rerun instead of starting another.
   */
  async rerun(workflowId: string, principal: Principal, expectedRunId?: string): Promise<StartedRun> {
    const description = await this.workflows.describeOwned(workflowId, principal);
    if (expectedRunId && description.runId !== expectedRunId) throw new ConflictException('The run was already reset');
    const original = await this.originalInput(description);
    const rerunId = `${workflowId.replace(/-rerun-[0-9a-f]{8}$/, '')}-rerun-${description.runId.replace(/-/g, '').slice(-8)}`;
    try {
      return await this.workflows.startRun(original.pipeline, original.input, {
        workflowId: rerunId,
        tenant: principal.tenant,
        callbackUrl: original.callbackUrl,
        rerunOf: { workflowId, runId: description.runId },
        source: 'rerun',
        // A rerun of a named pipeline's run is still that pipeline's, with the definition the original ran.
        namedPipeline: description.memo?.[NAMED_PIPELINE_MEMO] as string | undefined,
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictException(`This run was already rerun as ${rerunId}`);
      throw error;
    }
  }

  private async originalInput(description: WorkflowExecutionDescription): Promise<PipelineRunInput> {
    const history = await this.client.workflow.getHandle(description.workflowId, description.runId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    return decodeFromPayloadsAtIndex<PipelineRunInput>(this.client.options.loadedDataConverter, 0, started?.input?.payloads);
  }

  /** Resets or reruns every failed run that matches; a dry run only lists them. */
  async batch(action: 'reset' | 'rerun', principal: Principal, { dryRun = false, limit = 50, to, pipeline, errorType, startedAfter, startedBefore }: BatchRunsDto): Promise<BatchOutcome> {
    const query = visibilityQuery({
      tenant: principal.tenant,
      status: 'FAILED',
      pipeline,
      errorType,
      startedAfter: startedAfter ? new Date(startedAfter) : undefined,
      startedBefore: startedBefore ? new Date(startedBefore) : undefined,
    });
    const matched: RunSummary[] = [];
    for await (const info of this.client.workflow.list({ query, pageSize: limit })) {
      matched.push(summaryOf(info));
      if (matched.length >= limit) break;
    }
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
