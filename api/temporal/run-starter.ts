import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, PayloadTooLargeException } from '@nestjs/common';
import { Client, type ScheduleOptionsStartWorkflowAction, type WorkflowStartOptions } from '@temporalio/client';
import { runDefaultsOf, type ApiSettings } from '../../src/config/api';
import { loadBudgetPricing, priceBookFor, type BudgetPricing } from '../../src/config/budget';
import { stricterBudget, type RunBudget, type RunBudgetLimits } from '../../src/pipeline/budget';
import type { TemporalSettings } from '../../src/config/temporal';
import type { StartedRun } from '../../src/contract/api';
import { checkRunInput } from '../../src/pipeline/run-input';
import { runStartRecord, type RunSource } from '../../src/pipeline/run-start';
import { PIPELINE_NAME_ATTRIBUTE, TENANT_ATTRIBUTE } from '../../src/pipeline/search-attributes';
import type { PipelineDefinition, PipelineRunInput } from '../../src/pipeline/types';
import type { pipelineWorkflow } from '../../workflows';
import { PIPELINE_WORKFLOW_TYPE } from '../../workflows/definitions';
import { badRequest } from '../errors/bad-request';
import { API_SETTINGS, TEMPORAL_CLIENT, TEMPORAL_SETTINGS } from '../tokens';

/** Memo of a run started with an Idempotency-Key: the hash of its request, which a repeat must match. */
export const REQUEST_HASH_MEMO = 'chorusRequestHash';
/** Memo of a rerun: the run it reruns. */
export const RERUN_OF_MEMO = 'chorusRerunOf';

/** A run to start: what runs, for whom, and how it was asked for. */
export interface RunRequest {
  pipeline: PipelineDefinition;
  input: Record<string, unknown>;
  tenant: string;
  callbackUrl?: string;
  /** The start request's budget; the stricter of it and the definition's holds. */
  budget?: RunBudgetLimits;
  /** How the run starts, and the named pipeline it runs (none for an inline definition). */
  source: RunSource;
  namedPipeline?: string;
  requestHash?: string;
  rerunOf?: { workflowId: string; runId: string };
}

/** Workflow IDs, by how a run starts. */
export const runIds = {
  fresh: (pipeline: string) => `${pipeline}-${randomUUID()}`,
  /** From the caller's tenant and Idempotency-Key, so a repeated request names the same run; two tenants' equal keys name two. */
  idempotent: (pipeline: string, tenant: string, key: string) =>
    `${pipeline}-idem-${createHash('sha256').update(`${tenant}\n${key}`).digest('hex').slice(0, 32)}`,
  /** From the original run, so rerunning the same run twice names the same rerun. */
  rerun: (workflowId: string, runId: string) => `${workflowId.replace(/-rerun-[0-9a-f]{8}$/, '')}-rerun-${runId.replace(/-/g, '').slice(-8)}`,
  /** Temporal appends the scheduled time; the random part keeps the runs of equal schedule IDs in two tenants apart. */
  scheduled: (scheduleId: string) => `${scheduleId}-${randomUUID().slice(0, 8)}`,
};

export const runLinks = (workflowId: string) => ({
  statusUrl: `/v1/workflows/${encodeURIComponent(workflowId)}`,
  resultUrl: `/v1/workflows/${encodeURIComponent(workflowId)}/result`,
});

/**
 * The one way the API starts pipeline runs, now (a request, a rerun) or on a schedule: the input
 * checked against the run-input rules, then the workflow type, arguments, search attributes and memo
 * every run carries.
 */
@Injectable()
export class RunStarter {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(TEMPORAL_SETTINGS) private readonly temporal: TemporalSettings,
    @Inject(API_SETTINGS) private readonly api: ApiSettings,
  ) {}

  /** Starts `run` as `workflowId`; an ID already taken (even by a closed run) throws WorkflowExecutionAlreadyStartedError. */
  /** `started` hears of the run and the input it started with (checked and priced once, here). */
  async start(workflowId: string, run: RunRequest, started?: (runId: string, input: PipelineRunInput) => void): Promise<StartedRun> {
    const input = this.runInput(run);
    const handle = await this.client.workflow.start<typeof pipelineWorkflow>(PIPELINE_WORKFLOW_TYPE, {
      ...this.workflowOptions(run, input),
      workflowId,
      // A workflow ID names one run for good: a closed run's ID is never reused.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    const { rerunOf } = run;
    started?.(handle.firstExecutionRunId, input);
    return {
      workflowId,
      runId: handle.firstExecutionRunId,
      pipeline: run.pipeline.name,
      status: 'RUNNING',
      ...runLinks(workflowId),
      ...(rerunOf ? { rerunOf } : {}),
    };
  }

  /** What a schedule does each time it fires: start `run`, as start would. */
  scheduleAction(scheduleId: string, run: RunRequest): ScheduleOptionsStartWorkflowAction<typeof pipelineWorkflow> {
    return {
      type: 'startWorkflow',
      workflowType: PIPELINE_WORKFLOW_TYPE,
      workflowId: runIds.scheduled(scheduleId),
      ...this.workflowOptions(run, this.runInput(run)),
    };
  }

  /** The workflow's argument for `run`, its input checked (400/413) and its budget priced (400 when a model has no price). */
  runInput(run: RunRequest): PipelineRunInput {
    const { pipeline, input, tenant, callbackUrl } = run;
    this.assertRunnable(pipeline, input);
    const start = runStartRecord(run.source, run.namedPipeline);
    const budget = this.budgetOf(pipeline, run.budget);
    return { pipeline, input, tenant, ...(callbackUrl ? { callbackUrl } : {}), ...runDefaultsOf(this.api), start, ...(budget ? { budget } : {}) };
  }

  private workflowOptions(
    run: RunRequest,
    input: PipelineRunInput,
  ): Pick<WorkflowStartOptions<typeof pipelineWorkflow>, 'taskQueue' | 'args' | 'typedSearchAttributes' | 'memo'> {
    const { pipeline, tenant, requestHash, rerunOf } = run;
    const args: [PipelineRunInput] = [input];
    return {
      taskQueue: this.temporal.taskQueue,
      args,
      // The tenant sees, lists and administers its runs by these, whoever started them.
      typedSearchAttributes: [
        { key: PIPELINE_NAME_ATTRIBUTE, value: pipeline.name },
        { key: TENANT_ATTRIBUTE, value: tenant },
      ],
      memo: {
        ...(requestHash ? { [REQUEST_HASH_MEMO]: requestHash } : {}),
        ...(rerunOf ? { [RERUN_OF_MEMO]: rerunOf } : {}),
      },
    };
  }

  private budgetOf(pipeline: PipelineDefinition, requested: RunBudgetLimits | undefined): RunBudget | undefined {
    const limits = stricterBudget(pipeline.budget, requested);
    if (!limits) return undefined;
    const { priceBook, problems } = priceBookFor(pipeline, limits, this.pricing());
    if (problems.length) throw badRequest(problems);
    return { limits, priceBook };
  }

  private catalogPricing?: BudgetPricing;
  private pricing(): BudgetPricing {
    return this.api.budgetPricing ?? (this.catalogPricing ??= loadBudgetPricing({}));
  }

  /** The run-input rules as HTTP: over the size cap a 413 (the input is stored in Temporal history), else a 400 naming each field. */
  private assertRunnable(pipeline: PipelineDefinition, input: Record<string, unknown>): void {
    const { bytes, tooLarge, problems } = checkRunInput(pipeline, input, this.api);
    if (tooLarge) {
      throw new PayloadTooLargeException({
        statusCode: 413,
        error: 'Payload Too Large',
        message: `input is ${bytes} bytes as JSON; the limit is ${this.api.maxInputBytes}`,
        errors: problems,
      });
    }
    if (problems.length) throw badRequest(problems);
  }
}
