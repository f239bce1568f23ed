import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '../auth/principal';
import { BatchRunsDto } from './dto/admin.dto';
import { RunAdminService } from './run-admin.service';

@ApiTags('workflows')
@ApiSecurity('api-key')
@RequireScopes('workflows:admin')
@Controller('v1/batch')
export class BatchController {
  constructor(private readonly admin: RunAdminService) {}

  @Post('reset')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Reset every failed run matching the filter, or every failed run with all: true (dryRun lists them only)' })
  reset(@Body() request: BatchRunsDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.batch('reset', principal, request);
  }

  @Post('rerun')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Rerun every failed run matching the filter, or every failed run with all: true (dryRun lists them only)' })
  rerun(@Body() request: BatchRunsDto, @CurrentPrincipal() principal: Principal) {
    return this.admin.batch('rerun', principal, request);
  }
}
