import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ListRunsQuery, WaitForResultQuery } from './dto/run-queries.dto';
import { StartPipelineDto } from './dto/start-pipeline.dto';
import { WorkflowsService } from './workflows.service';

@ApiTags('workflows')
@ApiSecurity('api-key')
@Controller('v1/workflows')
export class WorkflowsController {
  constructor(private readonly workflows: WorkflowsService) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Start a pipeline run; answers at once with its workflow ID' })
  @ApiAcceptedResponse({ description: 'The run was started durably; poll statusUrl or long-poll resultUrl.' })
  start(@Body() request: StartPipelineDto) {
    return this.workflows.startPipeline(request);
  }

  @Get()
  @ApiOperation({ summary: 'List pipeline runs, newest first' })
  list(@Query() query: ListRunsQuery) {
    return this.workflows.listRuns(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Status of a run: per-step progress, result or typed error' })
  @ApiOkResponse({ description: 'The run, whatever its state.' })
  describe(@Param('id') workflowId: string) {
    return this.workflows.describeRun(workflowId);
  }

  @Get(':id/result')
  @ApiOperation({ summary: 'Long-poll: waits up to waitSeconds for the run to close (200), else answers its current state (202)' })
  async result(@Param('id') workflowId: string, @Query() { waitSeconds }: WaitForResultQuery, @Res({ passthrough: true }) response: Response) {
    const run = await this.workflows.waitForRun(workflowId, waitSeconds);
    response.status(run.status === 'RUNNING' ? HttpStatus.ACCEPTED : HttpStatus.OK);
    return run;
  }

  @Post(':id/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Request cancellation: in-flight provider calls stop and the run ends as CANCELLED' })
  cancel(@Param('id') workflowId: string) {
    return this.workflows.cancelRun(workflowId);
  }
}
