import { Body, Controller, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { Operation } from '../openapi/operation';
import { BatchRunsDto } from './dto/admin.dto';
import { RunAdminService } from './run-admin.service';

@ApiTags('workflows')
@ApiSecurity('api-key')
@ApiBearerAuth('bearer')
@Controller('v1/batch')
export class BatchController {
  constructor(private readonly admin: RunAdminService) {}

  @Post('reset')
  @Operation({
    id: 'batchResetRuns',
    summary: 'Reset every failed run matching the filter, or every failed run with all: true (dryRun lists them only)',
    scope: 'workflows:admin',
    answers: { 200: { description: 'The matching runs and, unless a dry run, what happened to each.', schema: 'BatchOutcome' } },
    problems: [400, 413, 503],
  })
  reset(@Body() request: BatchRunsDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.batch('reset', principal, request);
  }

  @Post('rerun')
  @Operation({
    id: 'batchRerunRuns',
    summary: 'Rerun every failed run matching the filter, or every failed run with all: true (dryRun lists them only)',
    scope: 'workflows:admin',
    answers: { 200: { description: 'The matching runs and, unless a dry run, what happened to each.', schema: 'BatchOutcome' } },
    problems: [400, 413, 503],
  })
  rerun(@Body() request: BatchRunsDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.batch('rerun', principal, request);
  }
}
