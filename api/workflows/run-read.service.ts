import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { Client, WorkflowFailedError, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import type { ApiSettings } from '../../src/config/api';
import type { RunPage, RunView } from '../../src/contract/api';
import { FailureType } from '../../src/pipeline/failures';
import { TENANT_ATTRIBUTE } from '../../src/pipeline/search-attributes';
import { isApprovalOutcome, isMapResult, type PipelineFailureDetails, type StepOutput, type StepResult } from '../../src/pipeline/types';
import type { pipelineWorkflow } from '../../workflows';
import { badRequest } from '../errors/bad-request';
import { listWorkflowPage, PageTokens } from '../temporal/listing';
import { RERUN_OF_MEMO } from '../temporal/run-starter';
import { API_SETTINGS, TEMPORAL_CLIENT } from '../tokens';
import type { Principal } from '../auth/principal';
import type { ListRunsQuery } from './dto/run-queries.dto';
import { LiveRunReader } from './live-run-reader';
import { RunCloseWaits, type Settled } from './run-close-waits';
import { summaryOf, summaryOfExecution, visibilityQuery, type RunFilter } from './run-visibility';

const DEFAULT_WAIT_SECONDS = 30;

const calls = (result: StepOutput): StepResult[] => (isMapResult(result) ? result.items : isApprovalOutcome(result) ? [] : [result]);

/** Reads runs: one by ID (its status, progress, result or typed error), waiting for one to close, and listings. */
@Injectable()
export class RunReadService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(API_SETTINGS) private readonly api: ApiSettings,
    private readonly live: LiveRunReader,
    private readonly pageTokens: PageTokens,
    private readonly closes: RunCloseWaits,
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
        simulated: Object.values(result.steps)
          .flatMap(calls)
          .some((call) => call.simulated),
        ...(result.webhook ? { webhook: result.webhook } : {}),
        ...(result.budget ? { budget: result.budget } : {}),
      };
    }
    if (view.status === 'FAILED') {
      return { ...view, ...failureView(sameRun && settled?.failure ? settled.failure : await failureOf(handle)) };
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
    const settled = await this.closes.untilClosed(workflowId, runId, Date.now() + waitSeconds * 1000);
    return this.describeRun(workflowId, principal, settled);
  }

  /** One page of the tenant's runs, newest first; `nextPageToken` continues the same listing. */
  async listRuns({ limit = 20, pageToken, ...filter }: ListRunsQuery & Pick<RunFilter, 'tenant'>): Promise<RunPage> {
    const query = visibilityQuery(filter);
    // The page size is part of the listing: Temporal's cursor continues the same query and page size.
    const listing = `${query}\n${limit}`;
    const page = await listWorkflowPage(this.client, { query, pageSize: limit, cursor: this.pageTokens.open(listing, pageToken) }, summaryOfExecution);
    return { workflows: page.items, nextPageToken: this.pageTokens.issue(listing, page.nextPageToken) };
  }
}

/** The failure of a run that closed as FAILED. */
async function failureOf(handle: WorkflowHandle<typeof pipelineWorkflow>): Promise<WorkflowFailedError> {
  const error = await handle.result().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof WorkflowFailedError)) throw error ?? new Error('A FAILED run returned a result');
  return error;
}

function failureView(error: WorkflowFailedError): Pick<RunView, 'steps' | 'error' | 'webhook' | 'budget'> {
  const cause = error.cause;
  if (cause instanceof ApplicationFailure && cause.type === FailureType.PipelineStepFailed) {
    const details = cause.details?.[0] as PipelineFailureDetails | undefined;
    if (details) {
      return {
        steps: details.progress,
        error: { ...details.error, step: details.step },
        ...(details.webhook ? { webhook: details.webhook } : {}),
        ...(details.budget ? { budget: details.budget } : {}),
      };
    }
  }
  const type = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : (cause?.name ?? 'Error');
  return { steps: null, error: { type, message: cause instanceof TemporalFailure ? cause.message : error.message } };
}
