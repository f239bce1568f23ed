import { Body, Controller, Delete, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { CreateScheduleDto, ListSchedulesQuery, SCHEDULE_ID_PATTERN, ScheduleNoteDto } from './dto/schedule.dto';
import { Operation, PathId } from '../openapi/operation';
import { PatternPipe } from '../validation';
import { SchedulesService } from './schedules.service';

/** A malformed ID cannot name a schedule: answer as for an unknown one would leak nothing, but a 400 helps the caller more. */
const ScheduleId = () => Param('id', new PatternPipe('id', SCHEDULE_ID_PATTERN, 'must be 1-64 letters, digits, "_" or "-"'));
const ScheduleIdParam = () => PathId('id', SCHEDULE_ID_PATTERN, 'The schedule ID, unique per tenant', 'morning-news');
const scheduleUrl = (id: string) => `/v1/schedules/${encodeURIComponent(id)}`;

/**
 * Changing schedules needs `workflows:admin`: a schedule starts runs on its own, for good, so it is
 * more than a single start (`workflows:start`). Reading them needs `workflows:read`.
 */
@ApiTags('schedules')
@ApiSecurity('api-key')
@ApiBearerAuth('bearer')
@Controller('v1/schedules')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @Post()
  @Operation({
    id: 'createSchedule',
    summary: 'Run a named pipeline on a cron expression or an interval',
    description: 'Give `cron` or `every`, not both.',
    scope: 'workflows:admin',
    answers: { 201: { description: 'The schedule was created.', schema: 'ScheduleDetails', location: true } },
    problems: [400, 409, 413, 503],
  })
  async create(@Body() request: CreateScheduleDto, @CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) response: Response) {
    const schedule = await this.schedules.create(request, principal);
    response.location(scheduleUrl(schedule.id));
    return schedule;
  }

  @Get()
  @Operation({
    id: 'listSchedules',
    summary: "The caller tenant's schedules, a page at a time",
    scope: 'workflows:read',
    answers: { 200: { description: 'One page of schedules.', schema: 'SchedulePage' } },
    problems: [400, 503],
  })
  list(@Query() { limit, pageToken }: ListSchedulesQuery, @CurrentPrincipal() principal: Principal) {
    return this.schedules.list(principal, limit, pageToken);
  }

  @Get(':id')
  @ScheduleIdParam()
  @Operation({
    id: 'getSchedule',
    summary: 'A schedule: timing, input, state, next times, recent runs',
    scope: 'workflows:read',
    answers: { 200: { description: 'The schedule.', schema: 'ScheduleDetails' } },
    problems: [400, 404, 503],
  })
  describe(@ScheduleId() id: string, @CurrentPrincipal() principal: Principal) {
    return this.schedules.describe(id, principal);
  }

  @Post(':id/pause')
  @ScheduleIdParam()
  @Operation({
    id: 'pauseSchedule',
    optionalBody: ScheduleNoteDto,
    summary: 'Stop starting runs until resumed',
    scope: 'workflows:admin',
    answers: { 200: { description: 'The schedule, paused.', schema: 'ScheduleDetails' } },
    problems: [400, 404, 413, 503],
  })
  pause(@ScheduleId() id: string, @Body() { note }: ScheduleNoteDto, @CurrentPrincipal() principal: Principal) {
    return this.schedules.pause(id, principal, note);
  }

  @Post(':id/resume')
  @ScheduleIdParam()
  @Operation({
    id: 'resumeSchedule',
    optionalBody: ScheduleNoteDto,
    summary: 'Start runs on schedule again',
    scope: 'workflows:admin',
    answers: { 200: { description: 'The schedule, running again.', schema: 'ScheduleDetails' } },
    problems: [400, 404, 413, 503],
  })
  resume(@ScheduleId() id: string, @Body() { note }: ScheduleNoteDto, @CurrentPrincipal() principal: Principal) {
    return this.schedules.resume(id, principal, note);
  }

  @Post(':id/trigger')
  @ScheduleIdParam()
  @Operation({
    id: 'triggerSchedule',
    summary: 'Start a run now (also while paused); it appears in recentRuns',
    scope: 'workflows:admin',
    answers: { 202: { description: "The run was requested; the schedule's recentRuns show it.", schema: 'ScheduleTriggered', location: true } },
    problems: [400, 404, 503],
  })
  async trigger(@ScheduleId() id: string, @CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) response: Response) {
    const triggered = await this.schedules.trigger(id, principal);
    response.location(scheduleUrl(id));
    return triggered;
  }

  @Delete(':id')
  @ScheduleIdParam()
  @Operation({
    id: 'deleteSchedule',
    summary: 'Delete a schedule; runs it started keep going',
    scope: 'workflows:admin',
    answers: { 204: { description: 'The schedule is gone.' } },
    problems: [400, 404, 503],
  })
  async delete(@ScheduleId() id: string, @CurrentPrincipal() principal: Principal) {
    await this.schedules.delete(id, principal);
  }
}
