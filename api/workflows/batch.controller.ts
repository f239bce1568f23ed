import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { BatchRunsDto } from './dto/admin.dto';
import { RunAdminService } from './run-admin.service';

@ApiTags('workflows')
@ApiSecurity('api-key')
@Controller('v1/batch')
export class BatchController {
  constructor(private readonly admin: RunAdminService) {}

  @Post('reset')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Reset every failed run matching the filter (dryRun lists them only)' })
  reset(@Body() request: BatchRunsDto) {
    return this.admin.batch('reset', request);
  }

  @Post('rerun')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Rerun every failed run matching the filter (dryRun lists them only)' })
  rerun(@Body() request: BatchRunsDto) {
    return this.admin.batch('rerun', request);
  }
}
