import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '../auth/principal';
import { badRequest } from '../errors/bad-request';
import { CreateScheduleDto, ListSchedulesQuery, SCHEDULE_ID_PATTERN, ScheduleNoteDto } from './dto/schedule.dto';
import { SchedulesService } from './schedules.service';

/** A malformed ID cannot name a schedule: answer as for an unknown one would leak nothing, but a 400 helps the caller more. */
function checkedId(id: string): string {
  if (!SCHEDULE_ID_PATTERN.test(id)) throw badRequest([{ field: 'id', reason: 'must be 1-64 letters, digits, "_" or "-"' }]);
  return id;
}

/**
 * Changing schedules needs `workflows:admin`: a schedule starts runs on its own, for good, so it is
 * more than a single start (`workflows:start`). Reading them needs `workflows:read`.
 */
@ApiTags('schedules')
@ApiSecurity('api-key')
@Controller('v1/schedules')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Run a named pipeline on a cron expression or an interval' })
  create(@Body() request: CreateScheduleDto, @CurrentPrincipal() principal: Principal) {
    return this.schedules.create(request, principal);
  }

  @Get()
  @RequireScopes('workflows:read')
  @ApiOperation({ summary: "The caller tenant's schedules" })
  list(@Query() { limit }: ListSchedulesQuery, @CurrentPrincipal() principal: Principal) {
    return this.schedules.list(principal, limit);
  }

  @Get(':id')
  @RequireScopes('workflows:read')
  @ApiOperation({ summary: 'A schedule: timing, input, state, next times, recent runs' })
  describe(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return this.schedules.describe(checkedId(id), principal);
  }

  @Post(':id/pause')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Stop starting runs until resumed' })
  pause(@Param('id') id: string, @Body() { note }: ScheduleNoteDto, @CurrentPrincipal() principal: Principal) {
    return this.schedules.pause(checkedId(id), principal, note);
  }

  @Post(':id/resume')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Start runs on schedule again' })
  resume(@Param('id') id: string, @Body() { note }: ScheduleNoteDto, @CurrentPrincipal() principal: Principal) {
    return this.schedules.resume(checkedId(id), principal, note);
  }

  @Post(':id/trigger')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Start a run now (also while paused); it appears in recentRuns' })
  trigger(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return this.schedules.trigger(checkedId(id), principal);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequireScopes('workflows:admin')
  @ApiOperation({ summary: 'Delete a schedule; runs it started keep going' })
  async delete(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    await this.schedules.delete(checkedId(id), principal);
  }
}
