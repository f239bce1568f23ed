import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentPrincipal, RequireScopes, type Principal } from '../auth/principal';
import { badRequest } from '../errors/bad-request';
import { ApprovalDecisionDto, ResetRunDto, TerminateRunDto } from './dto/admin.dto';
import { RunAdminService } from './run-admin.service';
import { RunEventsService } from './run-events.service';
import { RunReadService } from './run-read.service';
import { RunStartService } from './run-start.service';
import { ListRunsQuery, WaitForResultQuery } from './dto/run-queries.dto';
import { StartPipelineDto } from './dto/start-pipeline.dto';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

@ApiTags('workflows')
@ApiSecurity('api-key')
@Controller('v1/workflows')
export class WorkflowsController {
  constructor(
    private readonly starts: RunStartService,
    private readonly runs: RunReadService,
    private readonly admin: RunAdminService,
    private readonly events: RunEventsService,
  ) {}

  @Post()
  @RequireScopes('workflows:start')
  @ApiOperation({ summary: 'Start a pipeline run; answers at once with its workflow ID' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Repeating a request with the same key (per API key) returns the first run (200) instead of starting another',
  })
  @ApiAcceptedResponse({ description: 'The run was started durably; poll statusUrl or long-poll resultUrl.' })
  @ApiOkResponse({ description: 'An earlier request with the same Idempotency-Key and body started this run.' })
  async start(
    @Body() request: StartPipelineDto,
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw badRequest([{ field: 'Idempotency-Key', reason: 'must be 1-255 visible ASCII characters' }]);
    }
    const run = await this.starts.startPipeline(request, principal, idempotencyKey);
    response.status(run.idempotentReplay ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return run;
  }

  @Get()
  @RequireScopes('workflows:read')
  @ApiOperation({ summary: 'List pipeline runs, newest first' })
  list(@Query() query: ListRunsQuery, @CurrentPrincipal() principal: Principal) {
    return this.runs.listRuns({ ...query, tenant: principal.tenant });
  }

  @Get(':id')
  @RequireScopes('workflows:read')
  @ApiOperation({ summary: 'Status of a run: per-step progress, result or typed error' })
  @ApiOkResponse({ description: 'The run, whatever its state.' })
  describe(@Param('id') workflowId: string, @CurrentPrincipal() principal: Principal) {
    return this.runs.describeRun(workflowId, principal);
  }

  @Get(':id/events')
  @RequireScopes('workflows:read')
  @ApiOperation({ summary: 'Live progress as Server-Sent Events: one `step` event per step state change, a final `run` event; resumable with Last-Event-ID' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event' })
  async streamEvents(
    @Param('id') workflowId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.events.stream(workflowId, principal, lastEventId, request, response);
  }

  @Get(':id/result')
  @RequireScopes('workflows:read')
  @ApiOperation({ summary: 'Long-poll: waits up to waitSeconds for the run to close (200), else answers its current state (202)' })
  async result(
    @Param('id') workflowId: string,
    @Query() { waitSeconds }: WaitForResultQuery,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) response: Response,
  ) {
    const run = await this.runs.waitForRun(workflowId, principal, waitSeconds);
    response.status(run.status === 'RUNNING' ? HttpStatus.ACCEPTED : HttpStatus.OK);
    return run;
  }

  @Post(':id/terminate')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Terminate a run at once, without letting in-flight steps finish or clean up' })
  terminate(@Param('id') workflowId: string, @Body() { reason }: TerminateRunDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.terminate(workflowId, principal, reason);
  }

  @Post(':id/reset')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Reset a run (same workflow ID, new run ID) to before its failed step, its first or last workflow task, or an event' })
  reset(@Param('id') workflowId: string, @Body() request: ResetRunDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.reset(workflowId, principal, request);
  }

  @Post(':id/rerun')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Start a fresh run with the same definition and input, linked to the original' })
  rerun(@Param('id') workflowId: string, @CurrentPrincipal() principal: Principal) {
    return this.admin.rerun(workflowId, principal);
  }

  @Post(':id/approve')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Approve the approval step the run is waiting at (409 when it waits for none)' })
  approve(@Param('id') workflowId: string, @Body() { comment }: ApprovalDecisionDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.decideApproval(workflowId, principal, 'approved', comment);
  }

  @Post(':id/reject')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Reject the approval step the run is waiting at (409 when it waits for none)' })
  reject(@Param('id') workflowId: string, @Body() { comment }: ApprovalDecisionDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.decideApproval(workflowId, principal, 'rejected', comment);
  }

  @Post(':id/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Request cancellation: in-flight provider calls stop and the run ends as CANCELLED' })
  cancel(@Param('id') workflowId: string, @CurrentPrincipal() principal: Principal) {
    return this.admin.cancel(workflowId, principal);
  }
}
