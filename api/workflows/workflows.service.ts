import { randomUUID } from 'node:crypto';
import { ForbiddenException, Inject, Injectable } from '@nestjs/common';
import {
  Client,
  isGrpcDeadlineError,
  WorkflowFailedError,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import type { ApiSettings } from '../../src/config/api';
import type { TemporalSettings } from '../../src/config/temporal';
import { FailureType } from '../../src/pipeline/failures';
import { MAP_ITEMS_LIMIT } from '../../src/pipeline/limits';
import { COST_ATTRIBUTE, PIPELINE_NAME_ATTRIBUTE, TOKENS_ATTRIBUTE } from '../../src/pipeline/search-attributes';
import { readPath } from '../../src/pipeline/template';
import { isMapStep, type MapResult, type PipelineDefinition, type PipelineFailureDetails, type PipelineResult, type PipelineRunInput, type StepResult } from '../../src/pipeline/types';
import { requiredInputFields, type FieldProblem } from '../../src/pipeline/validate';
import { PipelinesService } from '../pipelines/pipelines.service';
import type { pipelineWorkflow } from '../../workflows';
import { PIPELINE_WORKFLOW_TYPE, progressQuery } from '../../workflows/definitions';
import { badRequest } from '../errors/bad-request';
import { API_SETTINGS, TEMPORAL_CLIENT, TEMPORAL_SETTINGS } from '../tokens';
import type { ListRunsQuery, RunStatus } from './dto/run-queries.dto';
import type { StartPipelineDto } from './dto/start-pipeline.dto';
import type { RunSummary, RunView, StepView } from './run-view';

const PROGRESS_QUERY_DEADLINE_MS = 3000;
const DEFAULT_WAIT_SECONDS = 30;

// Visibility query spelling of each run status.
const VISIBILITY_STATUS: Record<RunStatus, string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Canceled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
};

export interface StartedRun {
  workflowId: string;
  runId: string;
  pipeline: string;
  status: 'RUNNING';
  statusUrl: string;
  resultUrl: string;
}

function runStatus(info: Pick<WorkflowExecutionInfo, 'status'>): RunView['status'] {
  const name = info.status.name;
  return (name in VISIBILITY_STATUS ? name : 'UNKNOWN') as RunView['status'];
}

function summaryOf(info: Omit<WorkflowExecutionInfo, 'raw'>): RunSummary {
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    pipeline: info.typedSearchAttributes.get(PIPELINE_NAME_ATTRIBUTE) ?? null,
    status: runStatus(info),
    startedAt: info.startTime.toISOString(),
    closedAt: info.closeTime?.toISOString() ?? null,
    costUsd: info.typedSearchAttributes.get(COST_ATTRIBUTE) ?? null,
    totalTokens: info.typedSearchAttributes.get(TOKENS_ATTRIBUTE) ?? null,
  };
}

const calls = (result: StepResult | MapResult): StepResult[] => ('items' in result ? result.items : [result]);

/** What a pipeline needs from its input that a template cannot check: present fields, bounded lists. */
function inputProblems(pipeline: PipelineDefinition, input: Record<string, unknown>): FieldProblem[] {
  const missing = requiredInputFields(pipeline)
    .filter((field) => input[field] === undefined || input[field] === null || input[field] === '')
    .map((field) => ({ field: `input.${field}`, reason: `required by pipeline "${pipeline.name}"` }));
  const lists = pipeline.steps
    .filter(isMapStep)
    .filter((step) => step.map.over.startsWith('input.'))
    .flatMap((step) => {
      const value = readPath({ input }, step.map.over);
      if (value === undefined) return [];
      if (!Array.isArray(value)) return [{ field: step.map.over, reason: `must be a list (step "${step.id}" maps over it)` }];
      if (value.length > MAP_ITEMS_LIMIT) return [{ field: step.map.over, reason: `must have at most ${MAP_ITEMS_LIMIT} elements` }];
      return [];
    });
  return [...missing, ...lists];
}

/** Starts, reads, waits for, cancels and lists pipeline runs; the API's only use of the Temporal client. */
@Injectable()
export class WorkflowsService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(TEMPORAL_SETTINGS) private readonly temporal: TemporalSettings,
    @Inject(API_SETTINGS) private readonly api: ApiSettings,
    private readonly pipelines: PipelinesService,
  ) {}

  private resolvePipeline({ pipeline: name, definition }: StartPipelineDto): PipelineDefinition {
    if ((name === undefined) === (definition === undefined)) {
      throw badRequest([{ field: 'pipeline', reason: 'give either pipeline (a name) or definition (inline), not both or neither' }]);
    }
    if (definition !== undefined) {
      if (!this.api.allowAdhocPipelines) throw new ForbiddenException('Inline pipeline definitions are disabled (CHORUS_ADHOC_PIPELINES=false)');
      return this.pipelines.validate(definition, 'definition');
    }
    const pipeline = this.pipelines.find(name!);
    if (!pipeline) {
      const known = this.pipelines.list().map((summary) => summary.name);
      throw badRequest([{ field: 'pipeline', reason: `unknown pipeline "${name}"; known: ${known.join(', ')}` }]);
    }
    return pipeline;
  }

  async startPipeline(request: StartPipelineDto): Promise<StartedRun> {
    const pipeline = this.resolvePipeline(request);
    const { input } = request;
    const problems = inputProblems(pipeline, input);
    if (problems.length) throw badRequest(problems);
    const name = pipeline.name;

    const workflowId = `${name}-${randomUUID()}`;
    const args: [PipelineRunInput] = [{ pipeline, input }];
    const handle = await this.client.workflow.start<typeof pipelineWorkflow>(PIPELINE_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: this.temporal.taskQueue,
      args,
      typedSearchAttributes: [{ key: PIPELINE_NAME_ATTRIBUTE, value: name }],
    });
    return {
      workflowId,
      runId: handle.firstExecutionRunId,
      pipeline: name,
      status: 'RUNNING',
      statusUrl: `/v1/workflows/${encodeURIComponent(workflowId)}`,
      resultUrl: `/v1/workflows/${encodeURIComponent(workflowId)}/result`,
    };
  }

  async describeRun(workflowId: string): Promise<RunView> {
    const handle = this.client.workflow.getHandle<typeof pipelineWorkflow>(workflowId);
    const description = await handle.describe();
    const view: RunView = { ...summaryOf(description), steps: null };
    if (view.status === 'COMPLETED') {
      const result = await handle.result();
      return { ...view, steps: result.progress, result, simulated: Object.values(result.steps).flatMap(calls).some((call) => call.simulated) };
    }
    if (view.status === 'FAILED') {
      return { ...view, ...(await this.failureOf(handle)) };
    }
    return { ...view, steps: await this.liveProgress(handle, description) };
  }

  /** Waits up to `waitSeconds` for the run to close, then describes it. */
  async waitForRun(workflowId: string, waitSeconds = DEFAULT_WAIT_SECONDS): Promise<RunView> {
    if (waitSeconds > this.api.maxWaitSeconds) {
      throw badRequest([{ field: 'waitSeconds', reason: `must be at most ${this.api.maxWaitSeconds}` }]);
    }
    if (waitSeconds > 0) {
      const handle = this.client.workflow.getHandle(workflowId);
      try {
        await this.client.withDeadline(Date.now() + waitSeconds * 1000, () => handle.result());
      } catch (error) {
        // A deadline means "still running"; a failed run is described below like any other.
        if (!isGrpcDeadlineError(error) && !(error instanceof WorkflowFailedError)) throw error;
      }
    }
    return this.describeRun(workflowId);
  }

  async cancelRun(workflowId: string): Promise<{ workflowId: string; status: 'CANCEL_REQUESTED' }> {
    await this.client.workflow.getHandle(workflowId).cancel();
    return { workflowId, status: 'CANCEL_REQUESTED' };
  }

  async listRuns({ pipeline, status, limit = 20 }: ListRunsQuery): Promise<{ workflows: RunSummary[] }> {
    // Inputs are validated against strict patterns before they reach the query.
    const clauses = [`WorkflowType = '${PIPELINE_WORKFLOW_TYPE}'`];
    if (pipeline) clauses.push(`${PIPELINE_NAME_ATTRIBUTE.name} = '${pipeline}'`);
    if (status) clauses.push(`ExecutionStatus = '${VISIBILITY_STATUS[status]}'`);
    const workflows: RunSummary[] = [];
    for await (const info of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: limit })) {
      workflows.push(summaryOf(info));
      if (workflows.length >= limit) break;
    }
    return { workflows };
  }

  private async failureOf(handle: WorkflowHandle<typeof pipelineWorkflow>): Promise<Pick<RunView, 'steps' | 'error'>> {
    try {
      await handle.result();
      return { steps: null };
    } catch (error) {
      if (!(error instanceof WorkflowFailedError)) throw error;
      const cause = error.cause;
      if (cause instanceof ApplicationFailure && cause.type === FailureType.PipelineStepFailed) {
        const details = cause.details?.[0] as PipelineFailureDetails | undefined;
        if (details) return { steps: details.progress, error: { ...details.error, step: details.step } };
      }
      const type = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : (cause?.name ?? 'Error');
      return { steps: null, error: { type, message: cause instanceof TemporalFailure ? cause.message : error.message } };
    }
  }

  /** Progress from the workflow's query, with live attempt numbers and last errors of running steps. */
  private async liveProgress(handle: WorkflowHandle<typeof pipelineWorkflow>, description: WorkflowExecutionDescription): Promise<StepView[] | null> {
    let steps: StepView[];
    try {
      steps = await this.client.withDeadline(Date.now() + PROGRESS_QUERY_DEADLINE_MS, () => handle.query(progressQuery));
    } catch {
      return null;
    }
    for (const pending of description.raw.pendingActivities ?? []) {
      const step = steps.find((candidate) => candidate.id === pending.activityId);
      if (!step || step.status !== 'running') continue;
      step.attempts = pending.attempt ?? undefined;
      const failure = pending.lastFailure;
      if (failure) step.lastError = { type: failure.applicationFailureInfo?.type ?? 'Error', message: failure.message ?? '' };
    }
    return steps;
  }
}
