import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsObject,
  IsInt,
  IsString,
  Matches,
  MaxLength,
  Min,
  Max,
  registerDecorator,
  Validate,
  ValidateIf,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { IsTemporalText, OptionalField } from '../../validation';
import { RESET_POINTS, type ResetPoint } from '../../../src/contract/api';
import { PIPELINE_NAME_PATTERN } from '../../../src/pipeline/validate';
import { CrossFieldRule } from '../../openapi/document';
import { BUDGET_LIMIT_PROPERTIES, PIPELINE_NAME_MESSAGE } from './start-pipeline.dto';

@CrossFieldRule({ if: { properties: { to: { const: 'event' } }, required: ['to'] }, then: { required: ['eventId'] } })
export class ResetRunDto {
  @ApiPropertyOptional({
    description:
      'Where the new run resumes: before the failed step (default for failed runs), the first workflow task (start over), ' +
      'the last workflow task (default otherwise), or the WorkflowTaskCompleted event `eventId`. ' +
      'A point the run does not have (no failed step, no completed workflow task yet) is a 409 naming `to`.',
    enum: RESET_POINTS,
  })
  @OptionalField()
  @IsIn(RESET_POINTS)
  to?: ResetPoint;

  @ApiPropertyOptional({
    description: 'With to=event (and only then required): the ID of a WorkflowTaskCompleted event of the run; another ID is a 409 naming `eventId`.',
    type: 'integer',
    minimum: 1,
  })
  @ValidateIf((dto: ResetRunDto) => dto.to === 'event' || dto.eventId !== undefined)
  @IsInt({ message: 'eventId must be an integer (required when to is "event")' })
  @Min(1)
  eventId?: number;

  @ApiPropertyOptional({ description: 'Why; recorded in the run history.', maxLength: 200 })
  @OptionalField()
  @IsString()
  @MaxLength(200)
  @IsTemporalText()
  reason?: string;
}

export class TerminateRunDto {
  @ApiPropertyOptional({ description: 'Why; recorded in the run history.', maxLength: 200 })
  @OptionalField()
  @IsString()
  @MaxLength(200)
  @IsTemporalText()
  reason?: string;
}

const ERROR_TYPE_PATTERN = /^[A-Za-z]{1,64}$/;
/** RFC 3339 date-time, as JSON Schema's `date-time` format names it. */
const DATE_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** An RFC 3339 date-time (the OpenAPI document's `format: date-time`) that names a real instant. */
function IsDateTime(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isDateTime',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)),
        defaultMessage: ({ property }: ValidationArguments) => `${property} must be an RFC 3339 date-time such as 2026-11-28T00:00:00Z`,
      },
    });
}
const BATCH_RESET_POINTS = RESET_POINTS.filter((point) => point !== 'event');

/** The fields that narrow a batch; without one, a batch acts on every failed run of the tenant. */
const BATCH_FILTERS = ['pipeline', 'errorType', 'startedAfter', 'startedBefore'] as const;
const isFiltered = (dto: BatchRunsDto) => BATCH_FILTERS.some((field) => dto[field] !== undefined);

/** A batch names what it selects: a filter, or `all: true` for every failed run (an empty body must not mean "all"). */
@ValidatorConstraint({ name: 'filterOrAll' })
class FilterOrAll implements ValidatorConstraintInterface {
  validate(all: unknown, { object }: ValidationArguments): boolean {
    if (all !== undefined && typeof all !== 'boolean') return false;
    return isFiltered(object as BatchRunsDto) ? all !== true : all === true;
  }

  defaultMessage({ object, value }: ValidationArguments): string {
    if (value !== undefined && typeof value !== 'boolean') return 'all must be a boolean value';
    return isFiltered(object as BatchRunsDto)
      ? 'all: true cannot be combined with a filter'
      : `give a filter (${BATCH_FILTERS.join(', ')}) or "all": true to act on every failed run of the tenant`;
  }
}

const filterGiven = { anyOf: BATCH_FILTERS.map((field) => ({ required: [field] })) };

/** Selects failed runs for a batch reset or rerun: by a filter, or all of them with `all: true`. */
@CrossFieldRule({
  oneOf: [
    { ...filterGiven, properties: { all: { const: false } } },
    { required: ['all'], properties: { all: { const: true }, ...Object.fromEntries(BATCH_FILTERS.map((field) => [field, false])) } },
  ],
})
export class BatchRunsDto {
  @ApiPropertyOptional({ description: 'Only runs of this pipeline.', pattern: PIPELINE_NAME_PATTERN.source })
  @OptionalField()
  @Matches(PIPELINE_NAME_PATTERN, { message: PIPELINE_NAME_MESSAGE })
  pipeline?: string;

  @ApiPropertyOptional({ description: 'Only runs that failed with this type, e.g. ProviderAuthFailed.', pattern: ERROR_TYPE_PATTERN.source })
  @OptionalField()
  @Matches(ERROR_TYPE_PATTERN, { message: 'errorType must be a failure type name such as ProviderAuthFailed' })
  errorType?: string;

  @ApiPropertyOptional({ description: 'Only runs started at or after this time (ISO 8601).', format: 'date-time' })
  @OptionalField()
  @IsDateTime()
  startedAfter?: string;

  @ApiPropertyOptional({ description: 'Only runs started at or before this time (ISO 8601).', format: 'date-time' })
  @OptionalField()
  @IsDateTime()
  startedBefore?: string;

  @ApiPropertyOptional({
    description:
      'Every failed run of the tenant, with no filter. Required when no filter (pipeline, errorType, startedAfter, startedBefore) is given: ' +
      'a body without either is a 400, so an empty request never acts on every run.',
  })
  @Validate(FilterOrAll)
  all?: boolean;

  @ApiPropertyOptional({ description: 'List the matching runs without touching them.', default: false })
  @OptionalField()
  @IsBoolean()
  dryRun?: boolean;

  @ApiPropertyOptional({ description: 'At most this many runs.', default: 50, type: 'integer', minimum: 1, maximum: 100 })
  @OptionalField()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'Reset point for a batch reset (see POST /v1/workflows/{id}/reset).', enum: BATCH_RESET_POINTS })
  @OptionalField()
  @IsIn(BATCH_RESET_POINTS)
  to?: Exclude<ResetPoint, 'event'>;
}

export class ApprovalDecisionDto {
  @ApiPropertyOptional({ description: 'Why; kept in the run (steps.<id>.comment) for later steps and auditors.', maxLength: 2000 })
  @OptionalField()
  @IsString()
  @MaxLength(2000)
  @IsTemporalText()
  comment?: string;
}

export class ApproveRunDto extends ApprovalDecisionDto {
  @ApiPropertyOptional({
    description:
      "A budget approval's raised limits: the run waits because a call's worst case did not fit its budget (the status's budget.pendingApproval says what it needs). " +
      "Each limit given replaces the run's own and must be above it; together they must fit the waiting call. Only a budget approval takes one.",
    example: { maxCostUsd: 1 },
    type: 'object',
    properties: BUDGET_LIMIT_PROPERTIES,
    minProperties: 1,
    additionalProperties: false,
  })
  @OptionalField()
  @IsObject({ message: 'budget must be a JSON object' })
  budget?: Record<string, unknown>;
}
