import { Body, Controller, Get, Headers, HttpStatus, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { WORKFLOW_ID_PATTERN } from '../../src/contract/api';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { badRequest } from '../errors/bad-request';
import { Operation, PathId } from '../openapi/operation';
import { runLinks } from '../temporal/run-starter';
import { budgetLimitsOf, checkedIdempotencyKey, IdempotencyKeyHeader, WorkflowId } from '../validation';
import { ApprovalDecisionDto, ApproveRunDto, ResetRunDto, TerminateRunDto } from './dto/admin.dto';
import { RunAdminService } from './run-admin.service';
import { RunEventsService } from './run-events.service';
import { RunReadService } from './run-read.service';
import { RunStartService } from './run-start.service';
import { ListRunsQuery, WaitForResultQuery } from './dto/run-queries.dto';
import { StartPipelineDto } from './dto/start-pipeline.dto';

/** A history event ID, with the token stream's position after it when token events were sent (run-events.service). */
const LAST_EVENT_ID = /^\d{1,19}(:\d{1,19}-\d{1,19})?$/;

const WorkflowIdParam = () => PathId('id', WORKFLOW_ID_PATTERN, 'The workflow ID', 'classic-0b9c4f5e-8d1a-4c47-9f2e-6f1f3c7a2b10');

@ApiTags('workflows')
@ApiSecurity('api-key')
@ApiBearerAuth('bearer')
@Controller('v1/workflows')
export class WorkflowsController {
  constructor(
    private readonly starts: RunStartService,
    private readonly runs: RunReadService,
    private readonly admin: RunAdminService,
    private readonly events: RunEventsService,
  ) {}

  @Post()
  @Operation({
    id: 'startRun',
    summary: 'Start a pipeline run; answers at once with its workflow ID',
    description: 'An inline `definition` also needs the scope `pipelines:adhoc`.',
    scope: 'workflows:start',
    answers: {
      202: { description: 'The run was started durably; poll statusUrl or long-poll resultUrl.', schema: 'StartedRun', location: true },
      200: { description: 'An earlier request with the same Idempotency-Key and body started this run.', schema: 'StartedRun' },
    },
    problems: [400, 409, 413, 503],
  })
  @IdempotencyKeyHeader()
  async start(
    @Body() request: StartPipelineDto,
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const run = await this.starts.startPipeline(request, principal, checkedIdempotencyKey(idempotencyKey));
    if (run.idempotentReplay) response.status(HttpStatus.OK);
    else response.status(HttpStatus.ACCEPTED).location(run.statusUrl);
    return run;
  }

  @Get()
  @Operation({
    id: 'listRuns',
    summary: "List the tenant's pipeline runs, newest first, a page at a time",
    scope: 'workflows:read',
    answers: { 200: { description: 'One page of runs.', schema: 'RunPage' } },
    problems: [400, 503],
  })
  list(@Query() query: ListRunsQuery, @CurrentPrincipal() principal: Principal) {
    return this.runs.listRuns({ ...query, tenant: principal.tenant });
  }

  @Get(':id')
  @WorkflowIdParam()
  @Operation({
    id: 'getRun',
    summary: 'Status of a run: per-step progress, result or typed error',
    scope: 'workflows:read',
    answers: { 200: { description: 'The run, whatever its state.', schema: 'RunView' } },
    problems: [400, 404, 503],
  })
  describe(@WorkflowId() workflowId: string, @CurrentPrincipal() principal: Principal) {
    return this.runs.describeRun(workflowId, principal);
  }

  @Get(':id/events')
  @WorkflowIdParam()
  @Operation({
    id: 'streamRunEvents',
    summary: 'Live progress as Server-Sent Events: one `step` event per step state change, a final `run` event; resumable with Last-Event-ID',
    description:
      'Each event has an `id` (a Temporal history event ID), an `event` name (`step` or `run`) and JSON `data`: ' +
      '`{step, call, status, error?}` for `step`, the RunView of GET /v1/workflows/{id} for `run`, after which the stream ends.',
    scope: 'workflows:read',
    answers: {
      200: {
        description: 'The event stream.',
        mediaType: 'text/event-stream',
        // Each event: its history event ID, its name, and its JSON data as text.
        inlineSchema: {
          type: 'object',
          properties: {
            id: { type: 'string', pattern: LAST_EVENT_ID.source },
            event: { type: 'string', enum: ['step', 'run', 'tokens', 'attempt', 'token', 'error'] },
            data: { type: 'string' },
          },
          required: ['event', 'data'],
        },
        example: 'id: 5\nevent: step\ndata: {"step":"draft","call":"draft","status":"running"}\n\n',
      },
    },
    problems: [400, 404, 503],
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event', schema: { type: 'string', pattern: LAST_EVENT_ID.source } })
  async streamEvents(
    @WorkflowId() workflowId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    if (lastEventId !== undefined && !LAST_EVENT_ID.test(lastEventId))
      throw badRequest([{ field: 'Last-Event-ID', reason: 'must be an event ID this stream sent (digits, or digits:digits-digits)' }]);
    await this.events.stream(workflowId, principal, lastEventId, request, response);
  }

  @Get(':id/result')
  @WorkflowIdParam()
  @Operation({
    id: 'waitForRun',
    summary: 'Long-poll: waits up to waitSeconds for the run to close (200), else answers its current state (202)',
    scope: 'workflows:read',
    answers: {
      200: { description: 'The run has closed.', schema: 'RunView' },
      202: { description: 'The run is still running; its current state.', schema: 'RunView', location: true },
    },
    problems: [400, 404, 503],
  })
  async result(
    @WorkflowId() workflowId: string,
    @Query() { waitSeconds }: WaitForResultQuery,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) response: Response,
  ) {
    const run = await this.runs.waitForRun(workflowId, principal, waitSeconds);
    if (run.status === 'RUNNING') response.status(HttpStatus.ACCEPTED).location(runLinks(workflowId).statusUrl);
    else response.status(HttpStatus.OK);
    return run;
  }

  @Post(':id/terminate')
  @WorkflowIdParam()
  @Operation({
    id: 'terminateRun',
    optionalBody: TerminateRunDto,
    summary: 'Terminate a run at once, without letting in-flight steps finish or clean up',
    scope: 'workflows:admin',
    answers: { 200: { description: 'The run is terminated.', schema: 'RunAction' } },
    problems: [400, 404, 409, 413, 503],
  })
  terminate(@WorkflowId() workflowId: string, @Body() { reason }: TerminateRunDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.terminate(workflowId, principal, reason);
  }

  @Post(':id/reset')
  @WorkflowIdParam()
  @Operation({
    id: 'resetRun',
    optionalBody: ResetRunDto,
    summary: 'Reset a run (same workflow ID, new run ID) to before its failed step, its first or last workflow task, or an event',
    scope: 'workflows:admin',
    answers: { 202: { description: 'The new run was started from the reset point.', schema: 'ResetRun', location: true } },
    problems: [400, 404, 409, 413, 503],
  })
  async reset(
    @WorkflowId() workflowId: string,
    @Body() request: ResetRunDto,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) response: Response,
  ) {
    const reset = await this.admin.reset(workflowId, principal, request);
    response.location(reset.statusUrl);
    return reset;
  }

  @Post(':id/rerun')
  @WorkflowIdParam()
  @Operation({
    id: 'rerunRun',
    summary: 'Start a fresh run with the same definition and input, linked to the original',
    scope: 'workflows:admin',
    answers: { 202: { description: 'The rerun was started.', schema: 'StartedRun', location: true } },
    problems: [400, 404, 409, 503],
  })
  async rerun(@WorkflowId() workflowId: string, @CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) response: Response) {
    const rerun = await this.admin.rerun(workflowId, principal);
    response.location(rerun.statusUrl);
    return rerun;
  }

  @Post(':id/approve')
  @WorkflowIdParam()
  @Operation({
    id: 'approveRun',
    optionalBody: ApproveRunDto,
    summary:
      'Approve the approval step the run is waiting at, or the budget approval of a call that did not fit its budget (with the raised budget); 409 when it waits for none',
    scope: 'workflows:admin',
    answers: { 200: { description: 'The step was approved.', schema: 'ApprovalDecided' } },
    problems: [400, 404, 409, 413, 503],
  })
  approve(@WorkflowId() workflowId: string, @Body() { comment, budget }: ApproveRunDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.decideApproval(workflowId, principal, 'approved', comment, budget === undefined ? undefined : budgetLimitsOf(budget));
  }

  @Post(':id/reject')
  @WorkflowIdParam()
  @Operation({
    id: 'rejectRun',
    optionalBody: ApprovalDecisionDto,
    summary: 'Reject the approval step the run is waiting at, or a budget approval (the step fails BudgetExceeded); 409 when it waits for none',
    scope: 'workflows:admin',
    answers: { 200: { description: 'The step was rejected.', schema: 'ApprovalDecided' } },
    problems: [400, 404, 409, 413, 503],
  })
  reject(@WorkflowId() workflowId: string, @Body() { comment }: ApprovalDecisionDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.decideApproval(workflowId, principal, 'rejected', comment);
  }

  @Post(':id/cancel')
  @WorkflowIdParam()
  @Operation({
    id: 'cancelRun',
    summary: 'Request cancellation: in-flight provider calls stop and the run ends as CANCELLED',
    scope: 'workflows:admin',
    answers: { 202: { description: 'Cancellation was requested.', schema: 'RunAction', location: true } },
    problems: [400, 404, 409, 503],
  })
  async cancel(@WorkflowId() workflowId: string, @CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) response: Response) {
    const cancelled = await this.admin.cancel(workflowId, principal);
    response.location(runLinks(workflowId).statusUrl);
    return cancelled;
  }
}
