import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, RequireScopes, type Principal } from '../auth/principal';
import { badRequest } from '../errors/bad-request';
import { ResetRunDto, TerminateRunDto } from './dto/admin.dto';
import { RunAdminService } from './run-admin.service';
import { ListRunsQuery, WaitForResultQuery } from './dto/run-queries.dto';
import { StartPipelineDto } from './dto/start-pipeline.dto';
import { WorkflowsService } from './workflows.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

@ApiTags('workflows')
@ApiSecurity('api-key')
@Controller('v1/workflows')
export class WorkflowsController {
  constructor(
    private readonly workflows: WorkflowsService,
    private readonly admin: RunAdminService,
  ) {}

  @Post()
  @RequireScopes('workflows:start')
  @ApiOperation({ summary: 'Start a pipeline run; answers at once with its workflow ID' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Repeating a request with the same key (per API key) returns the first run (200) instead of starting another' })
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
    const run = await this.workflows.startPipeline(request, principal, idempotencyKey);
    response.status(run.idempotentReplay ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return run;
  }

  @Get()
  @RequireScopes('workflows:read')
  @ApiOperation({ summary: 'List pipeline runs, newest first' })
  list(@Query() query: ListRunsQuery, @CurrentPrincipal() principal: Principal) {
    return this.workflows.listRuns({ ...query, tenant: principal.tenant });
  }

  @Get(':id')
  @RequireScopes('workflows:read')
  @ApiOperation({ summary: 'Status of a run: per-step progress, result or typed error' })
  @ApiOkResponse({ description: 'The run, whatever its state.' })
  describe(@Param('id') workflowId: string, @CurrentPrincipal() principal: Principal) {
    return this.workflows.describeRun(workflowId, principal);
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
    const run = await this.workflows.waitForRun(workflowId, principal, waitSeconds);
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

  @Post(':id/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Request cancellation: in-flight provider calls stop and the run ends as CANCELLED' })
  cancel(@Param('id') workflowId: string, @CurrentPrincipal() principal: Principal) {
    return this.workflows.cancelRun(workflowId, principal);
  }
}
