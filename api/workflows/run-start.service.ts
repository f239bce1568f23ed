import { createHash } from 'node:crypto';
import { ConflictException, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ApiSettings } from '../../src/config/api';
import type { StartedRun } from '../../src/contract/api';
import type { RunBudgetLimits } from '../../src/pipeline/budget';
import type { PipelineDefinition } from '../../src/pipeline/types';
import { badRequest } from '../errors/bad-request';
import { budgetLimitsOf } from '../validation';
import { PipelinesService } from '../pipelines/pipelines.service';
import { REQUEST_HASH_MEMO, runIds, runLinks, RunStarter, type RunRequest } from '../temporal/run-starter';
import { API_SETTINGS } from '../tokens';
import type { Principal } from '../auth/principal';
import type { StartPipelineDto } from './dto/start-pipeline.dto';
import { LiveRunReader } from './live-run-reader';
import { RunReadService } from './run-read.service';
import { runStatus } from './run-visibility';

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

/** The start request's own budget, checked like a definition's; a 400 names the field. */
function budgetOf({ budget }: StartPipelineDto): RunBudgetLimits | undefined {
  return budget === undefined ? undefined : budgetLimitsOf(budget);
}

/** POST /v1/workflows: a named pipeline or an inline definition, started once per Idempotency-Key. */
@Injectable()
export class RunStartService {
  constructor(
    @Inject(API_SETTINGS) private readonly api: ApiSettings,
    private readonly pipelines: PipelinesService,
    private readonly starter: RunStarter,
    private readonly runs: RunReadService,
    private readonly live: LiveRunReader,
  ) {}

  /**
   * Starts a pipeline run. With an Idempotency-Key, the run's ID is derived from the caller's key and
   * the Idempotency-Key, so a repeated request finds the run the first one started (whatever its
   * state) instead of starting another; the same key with a different body is a conflict.
   */
  async startPipeline(request: StartPipelineDto, principal: Principal, idempotencyKey?: string): Promise<StartedRun> {
    const pipeline = this.resolvePipeline(request, principal);
    const { input, callbackUrl } = request;
    const budget = budgetOf(request);
    const run: RunRequest = {
      pipeline,
      input,
      tenant: principal.tenant,
      callbackUrl,
      budget,
      source: request.definition === undefined ? 'named' : 'adhoc',
      namedPipeline: request.pipeline,
    };
    // The request as sent: a named pipeline whose file changed since is still the same request.
    return this.startOnce(run, principal, idempotencyKey, { pipeline: request.pipeline, definition: request.definition, input, callbackUrl, budget });
  }

  /**
   * Starts `run`, or with an Idempotency-Key finds the run an earlier request with the same key
   * started: its ID is derived from the tenant and the key, and `sent` (the request as its caller
   * sent it) must hash as the earlier one did, else a 409.
   */
  async startOnce(run: RunRequest, principal: Principal, idempotencyKey: string | undefined, sent: unknown): Promise<StartedRun> {
    const { pipeline } = run;
    if (idempotencyKey === undefined) return this.start(runIds.fresh(pipeline.name), run);
    const requestHash = createHash('sha256').update(canonicalJson(sent)).digest('hex');
    const workflowId = runIds.idempotent(pipeline.name, principal.tenant, idempotencyKey);
    try {
      return await this.start(workflowId, { ...run, requestHash });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    const existing = await this.runs.describeOwned(workflowId, principal);
    if ((existing.memo?.[REQUEST_HASH_MEMO] as string | undefined) !== requestHash) {
      throw new ConflictException('This Idempotency-Key was already used with a different request body');
    }
    return { workflowId, runId: existing.runId, pipeline: pipeline.name, status: runStatus(existing), ...runLinks(workflowId), idempotentReplay: true };
  }

  private async start(workflowId: string, run: RunRequest): Promise<StartedRun> {
    return this.starter.start(workflowId, run, (runId, input) => this.live.started(runId, input));
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
}
