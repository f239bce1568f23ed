import { createHash, randomUUID } from 'node:crypto';
import { ConflictException, ForbiddenException, Inject, Injectable, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import {
  Client,
  isGrpcDeadlineError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, TemporalFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { runDefaultsOf, type ApiSettings } from '../../src/config/api';
import type { TemporalSettings } from '../../src/config/temporal';
import { FailureType } from '../../src/pipeline/failures';
import { MAP_ITEMS_LIMIT } from '../../src/pipeline/limits';
import { PIPELINE_NAME_ATTRIBUTE, TENANT_ATTRIBUTE } from '../../src/pipeline/search-attributes';
import { runStartMemo, type RunSource } from '../../src/pipeline/run-memo';
import { readPath } from '../../src/pipeline/template';
import { isApprovalOutcome, isMapResult, isMapStep, type ApprovalDecision, type PipelineDefinition, type StepOutput, type PipelineFailureDetails, type PipelineResult, type PipelineRunInput, type StepResult } from '../../src/pipeline/types';
import { requiredInputFields, type FieldProblem } from '../../src/pipeline/validate';
import { PipelinesService } from '../pipelines/pipelines.service';
import type { pipelineWorkflow } from '../../workflows';
import { approvalUpdate, PIPELINE_WORKFLOW_TYPE } from '../../workflows/definitions';
import { badRequest } from '../errors/bad-request';
import { API_SETTINGS, TEMPORAL_CLIENT, TEMPORAL_SETTINGS } from '../tokens';
import type { Principal } from '../auth/principal';
import type { ListRunsQuery } from './dto/run-queries.dto';
import type { StartPipelineDto } from './dto/start-pipeline.dto';
import { LiveRunReader } from './live-run-reader';
import type { RunSummary, RunView } from './run-view';
import { summaryOf, visibilityQuery, type RunFilter } from './run-visibility';

const DEFAULT_WAIT_SECONDS = 30;

export interface StartedRun {
  workflowId: string;
  runId: string;
  pipeline: string;
  status: RunView['status'];
  statusUrl: string;
  resultUrl: string;
  /** True when an Idempotency-Key matched an earlier identical request: this is that request's run. */
  idempotentReplay?: boolean;
  /** The run this one re-runs, for POST /v1/workflows/:id/rerun. */
  rerunOf?: { workflowId: string; runId: string };
}

export interface StartOptions {
  workflowId: string;
  tenant: string;
  /** How the run starts, and the named pipeline it runs (none for an inline definition): kept in its memo. */
  source: RunSource;
  namedPipeline?: string;
  callbackUrl?: string;
  /** Stored in the run's memo; an idempotent retry must match it. */
  requestHash?: string;
  rerunOf?: { workflowId: string; runId: string };
}

const REQUEST_HASH_MEMO = 'chorusRequestHash';
const RERUN_OF_MEMO = 'chorusRerunOf';

/** JSON with object keys sorted (absent ones left out), so equal requests hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A run's outcome as a caller that waited for it saw it. */
interface Settled {
  runId: string;
  result?: PipelineResult;
  failure?: WorkflowFailedError;
}

export const runLinks = (workflowId: string) => ({
  statusUrl: `/v1/workflows/${encodeURIComponent(workflowId)}`,
  resultUrl: `/v1/workflows/${encodeURIComponent(workflowId)}/result`,
});

const calls = (result: StepOutput): StepResult[] => (isMapResult(result) ? result.items : isApprovalOutcome(result) ? [] : [result]);

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

/**
 * Refuses an input a run cannot take: over the size cap (413, it is stored in Temporal history),
 * missing fields the templates read, or a map list that is not a list or too long (400).
 */
export function assertRunnableInput(pipeline: PipelineDefinition, input: Record<string, unknown>, maxInputBytes: number): void {
  const inputBytes = Buffer.byteLength(JSON.stringify(input));
  if (inputBytes > maxInputBytes) {
    throw new PayloadTooLargeException({
      statusCode: 413,
      error: 'Payload Too Large',
      message: `input is ${inputBytes} bytes as JSON; the limit is ${maxInputBytes}`,
      errors: [{ field: 'input', reason: `at most ${maxInputBytes} bytes as JSON` }],
    });
  }
  const problems = inputProblems(pipeline, input);
  if (problems.length) throw badRequest(problems);
}

/** Starts, reads, waits for, cancels and lists pipeline runs; the API's only use of the Temporal client. */
@Injectable()
export class WorkflowsService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(TEMPORAL_SETTINGS) private readonly temporal: TemporalSettings,
    @Inject(API_SETTINGS) private readonly api: ApiSettings,
    private readonly pipelines: PipelinesService,
    private readonly live: LiveRunReader,
  ) {}

  /**
   * The run's description, if it belongs to the caller's tenant. Another tenant's run answers
   * exactly like an unknown ID, so IDs reveal nothing (OWASP API1).
   */
  async describeOwned(workflowId: string, principal: Principal, runId?: string): Promise<WorkflowExecutionDescription> {
    const description = await this.client.workflow.getHandle(workflowId, runId).describe();
    if (description.typedSearchAttributes.get(TENANT_ATTRIBUTE) !== principal.tenant) throw new NotFoundException('No workflow run with this ID');
    return description;
  }

  private resolvePipeline({ pipeline: name, definition }: StartPipelineDto, principal: Principal): PipelineDefinition {
    if ((name === undefined) === (definition === undefined)) {
      throw badRequest([{ field: 'pipeline', reason: 'give either pipeline (a name) or definition (inline), not both or neither' }]);
    }
    if (definition !== undefined) {
      if (!this.api.allowAdhocPipelines) throw new ForbiddenException('Inline pipeline definitions are disabled (CHORUS_ADHOC_PIPELINES=false)');
      if (!principal.scopes.has('pipelines:adhoc')) throw new ForbiddenException('Missing scope: pipelines:adhoc');
      return this.pipelines.validate(definition, 'definition');
    }
    return this.pipelines.require(name!);
  }

  /**
   * Starts a pipeline run. With an Idempotency-Key, the run's ID is derived from the caller's key and
   * the Idempotency-Key, so a repeated request finds the run the first one started (whatever its
   * state) instead of starting another; the same key with a different body is a conflict.
   */
  async startPipeline(request: StartPipelineDto, principal: Principal, idempotencyKey?: string): Promise<StartedRun> {
    const pipeline = this.resolvePipeline(request, principal);
    const { input } = request;
    assertRunnableInput(pipeline, input, this.api.maxInputBytes);
    const { tenant } = principal;
    const { callbackUrl } = request;
    const how = { source: request.definition === undefined ? 'named' : 'adhoc', namedPipeline: request.pipeline } as const;
    if (idempotencyKey === undefined) return this.startRun(pipeline, input, { workflowId: `${pipeline.name}-${randomUUID()}`, tenant, callbackUrl, ...how });

    // Keys are scoped per tenant: the same Idempotency-Key from two tenants names two runs.
    const scopedKey = createHash('sha256').update(`${tenant}\n${idempotencyKey}`).digest('hex').slice(0, 32);
    // The request as sent: a named pipeline whose file changed since is still the same request.
    const sent = { pipeline: request.pipeline, definition: request.definition, input, callbackUrl };
    const requestHash = createHash('sha256').update(canonicalJson(sent)).digest('hex');
    const options = { workflowId: `${pipeline.name}-idem-${scopedKey}`, tenant, callbackUrl, requestHash, ...how };
    try {
      return await this.startRun(pipeline, input, options);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    const existing = await this.describeOwned(options.workflowId, principal);
    if ((existing.memo?.[REQUEST_HASH_MEMO] as string | undefined) !== options.requestHash) {
      throw new ConflictException('This Idempotency-Key was already used with a different request body');
    }
    return { ...summaryOf(existing), pipeline: pipeline.name, ...runLinks(options.workflowId), idempotentReplay: true };
  }

  /** Starts a run of a validated pipeline; the definition travels in the input. */
  async startRun(pipeline: PipelineDefinition, input: Record<string, unknown>, options: StartOptions): Promise<StartedRun> {
    const { workflowId, tenant, callbackUrl, requestHash, rerunOf } = options;
    const args: [PipelineRunInput] = [{ pipeline, input, tenant, ...(callbackUrl ? { callbackUrl } : {}), ...runDefaultsOf(this.api) }];
    const handle = await this.client.workflow.start<typeof pipelineWorkflow>(PIPELINE_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: this.temporal.taskQueue,
      args,
      // A workflow ID names one run for good: a closed run's ID is never reused.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: PIPELINE_NAME_ATTRIBUTE, value: pipeline.name },
        { key: TENANT_ATTRIBUTE, value: tenant },
      ],
      memo: {
        ...runStartMemo(options.source, options.namedPipeline),
        ...(requestHash ? { [REQUEST_HASH_MEMO]: requestHash } : {}),
        ...(rerunOf ? { [RERUN_OF_MEMO]: rerunOf } : {}),
      },
    });
    this.live.started(handle.firstExecutionRunId, args[0]);
    return { workflowId, runId: handle.firstExecutionRunId, pipeline: pipeline.name, status: 'RUNNING', ...runLinks(workflowId), ...(rerunOf ? { rerunOf } : {}) };
  }

  /** Describes a run; `settled` is its outcome when the caller already waited for it (saves reading history again). */
  async describeRun(workflowId: string, principal: Principal, settled?: Settled): Promise<RunView> {
    const description = await this.describeOwned(workflowId, principal);
    const handle = this.client.workflow.getHandle<typeof pipelineWorkflow>(workflowId, description.runId);
    const rerunOf = description.memo?.[RERUN_OF_MEMO] as RunView['rerunOf'];
    const view: RunView = { ...summaryOf(description), steps: null, ...(rerunOf ? { rerunOf } : {}) };
    const sameRun = settled?.runId === description.runId;
    // A completed or failed run is described by its outcome from now on.
    if (view.status === 'COMPLETED' || view.status === 'FAILED') this.live.forget(description.runId);
    if (view.status === 'COMPLETED') {
      const result = sameRun && settled?.result ? settled.result : await handle.result();
      return {
        ...view,
        steps: result.progress,
        result,
        simulated: Object.values(result.steps).flatMap(calls).some((call) => call.simulated),
        ...(result.webhook ? { webhook: result.webhook } : {}),
      };
    }
    if (view.status === 'FAILED') {
      return { ...view, ...this.failureView(sameRun && settled?.failure ? settled.failure : await this.failureOf(handle)) };
    }
    // Cancelled, terminated or timed out: the workflow's queries still answer, from its history.
    return { ...view, ...(await this.live.read(description)) };
  }

  /** Waits up to `waitSeconds` for the run to close, then describes it. */
  async waitForRun(workflowId: string, principal: Principal, waitSeconds = DEFAULT_WAIT_SECONDS): Promise<RunView> {
    if (waitSeconds > this.api.maxWaitSeconds) {
      throw badRequest([{ field: 'waitSeconds', reason: `must be at most ${this.api.maxWaitSeconds}` }]);
    }
    // Checked before waiting: how long a foreign run takes to close is not the caller's to learn.
    const { runId } = await this.describeOwned(workflowId, principal);
    if (waitSeconds === 0) return this.describeRun(workflowId, principal);
    const handle = this.client.workflow.getHandle<typeof pipelineWorkflow>(workflowId, runId);
    let settled: Settled | undefined;
    try {
      settled = { runId, result: await this.client.withDeadline(Date.now() + waitSeconds * 1000, () => handle.result()) };
    } catch (error) {
      // A deadline means "still running"; a failed run is described below like any other.
      if (error instanceof WorkflowFailedError) settled = { runId, failure: error };
      else if (!isGrpcDeadlineError(error)) throw error;
    }
    return this.describeRun(workflowId, principal, settled);
  }

  /** Decides the approval step a run is waiting at; 409 when the run is not waiting for one. */
  async decideApproval(workflowId: string, principal: Principal, decision: ApprovalDecision['decision'], comment?: string) {
    const description = await this.describeOwned(workflowId, principal);
    if (description.status.name !== 'RUNNING') throw new ConflictException(`The run is ${description.status.name}, not waiting for an approval`);
    try {
      const { step } = await this.client.workflow
        .getHandle<typeof pipelineWorkflow>(workflowId, description.runId)
        .executeUpdate(approvalUpdate, { args: [{ decision, comment, by: principal.id }] });
      return { workflowId, step, decision };
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw new ConflictException('No approval step is waiting for a decision');
      throw error;
    }
  }

  async cancelRun(workflowId: string, principal: Principal): Promise<{ workflowId: string; status: 'CANCEL_REQUESTED' }> {
    const { runId } = await this.describeOwned(workflowId, principal);
    await this.client.workflow.getHandle(workflowId, runId).cancel();
    return { workflowId, status: 'CANCEL_REQUESTED' };
  }

  async listRuns({ limit = 20, ...filter }: ListRunsQuery & Pick<RunFilter, 'tenant'>): Promise<{ workflows: RunSummary[] }> {
    const workflows: RunSummary[] = [];
    for await (const info of this.client.workflow.list({ query: visibilityQuery(filter), pageSize: limit })) {
      workflows.push(summaryOf(info));
      if (workflows.length >= limit) break;
    }
    return { workflows };
  }

  /** The failure of a run that closed as FAILED. */
  private async failureOf(handle: WorkflowHandle<typeof pipelineWorkflow>): Promise<WorkflowFailedError> {
    const error = await handle.result().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    if (!(error instanceof WorkflowFailedError)) throw error ?? new Error('A FAILED run returned a result');
    return error;
  }

  private failureView(error: WorkflowFailedError): Pick<RunView, 'steps' | 'error' | 'webhook'> {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && cause.type === FailureType.PipelineStepFailed) {
      const details = cause.details?.[0] as PipelineFailureDetails | undefined;
      if (details) return { steps: details.progress, error: { ...details.error, step: details.step }, ...(details.webhook ? { webhook: details.webhook } : {}) };
    }
    const type = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : (cause?.name ?? 'Error');
    return { steps: null, error: { type, message: cause instanceof TemporalFailure ? cause.message : error.message } };
  }
}
