import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsDateString,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  Max,
  Validate,
  ValidateIf,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { IsTemporalText } from '../../validation';
import { RESET_POINTS, type ResetPoint } from '../../../src/contract/api';
import { PIPELINE_NAME_PATTERN } from '../../../src/pipeline/validate';
import { PIPELINE_NAME_MESSAGE } from './start-pipeline.dto';

export class ResetRunDto {
  @ApiPropertyOptional({
    description:
      'Where the new run resumes: before the failed step (default for failed runs), the first workflow task (start over), ' +
      'the last workflow task (default otherwise), or the WorkflowTaskCompleted event `eventId`.',
    enum: RESET_POINTS,
  })
  @IsOptional()
  @IsIn(RESET_POINTS)
  to?: ResetPoint;

  @ApiPropertyOptional({ description: 'With to=event: the ID of a WorkflowTaskCompleted event of the run.' })
  @ValidateIf((dto: ResetRunDto) => dto.to === 'event' || dto.eventId !== undefined)
  @IsInt({ message: 'eventId must be an integer (required when to is "event")' })
  @Min(1)
  eventId?: number;

  @ApiPropertyOptional({ description: 'Why; recorded in the run history.', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @IsTemporalText()
  reason?: string;
}

export class TerminateRunDto {
  @ApiPropertyOptional({ description: 'Why; recorded in the run history.', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @IsTemporalText()
  reason?: string;
}

/** The fields that narrow a batch; without one, a batch acts on every failed run of the tenant. */
const BATCH_FILTERS = ['pipeline', 'errorType', 'startedAfter', 'startedBefore'] as const;
const isFiltered = (dto: BatchRunsDto) => BATCH_FILTERS.some((field) => dto[field] !== undefined);

/** A batch names what it selects: a filter, or `all: true` for every failed run (an empty body must not mean "all"). */
@ValidatorConstraint({ name: 'filterOrAll' })
class FilterOrAll implements ValidatorConstraintInterface {
  validate(all: unknown, { object }: ValidationArguments): boolean {
    return isFiltered(object as BatchRunsDto) ? all !== true : all === true;
  }

  defaultMessage({ object }: ValidationArguments): string {
    return isFiltered(object as BatchRunsDto)
      ? 'all: true cannot be combined with a filter'
      : `give a filter (${BATCH_FILTERS.join(', ')}) or "all": true to act on every failed run of the tenant`;
  }
}

/** Selects failed runs for a batch reset or rerun: by a filter, or all of them with `all: true`. */
export class BatchRunsDto {
  @ApiPropertyOptional({ description: 'Only runs of this pipeline.' })
  @IsOptional()
  @Matches(PIPELINE_NAME_PATTERN, { message: PIPELINE_NAME_MESSAGE })
  pipeline?: string;

  @ApiPropertyOptional({ description: 'Only runs that failed with this type, e.g. ProviderAuthFailed.' })
  @IsOptional()
  @Matches(/^[A-Za-z]{1,64}$/, { message: 'errorType must be a failure type name such as ProviderAuthFailed' })
  errorType?: string;

  @ApiPropertyOptional({ description: 'Only runs started at or after this time (ISO 8601).' })
  @IsOptional()
  @IsDateString({ strict: true }, { message: 'startedAfter must be an ISO 8601 date-time' })
  startedAfter?: string;

  @ApiPropertyOptional({ description: 'Only runs started at or before this time (ISO 8601).' })
  @IsOptional()
  @IsDateString({ strict: true }, { message: 'startedBefore must be an ISO 8601 date-time' })
  startedBefore?: string;

  @ApiPropertyOptional({
    description:
      'Every failed run of the tenant, with no filter. Required when no filter (pipeline, errorType, startedAfter, startedBefore) is given: ' +
      'a body without either is a 400, so an empty request never acts on every run.',
  })
  @Validate(FilterOrAll)
  all?: boolean;

  @ApiPropertyOptional({ description: 'List the matching runs without touching them.', default: false })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;

  @ApiPropertyOptional({ description: 'At most this many runs.', default: 50, minimum: 1, maximum: 100 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'Reset point for a batch reset (see POST /v1/workflows/:id/reset).', enum: RESET_POINTS })
  @IsOptional()
  @IsIn(RESET_POINTS.filter((point) => point !== 'event'))
  to?: Exclude<ResetPoint, 'event'>;
}

export class ApprovalDecisionDto {
  @ApiPropertyOptional({ description: 'Why; kept in the run (steps.<id>.comment) for later steps and auditors.', maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  @IsTemporalText()
  comment?: string;
}
