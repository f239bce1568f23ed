import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsObject, IsString, Matches, Max, MaxLength, Min, registerDecorator, ValidateIf, type ValidationArguments } from 'class-validator';
import { IsTemporalText, OptionalField } from '../../validation';
import { PIPELINE_NAME_PATTERN } from '../../../src/pipeline/validate';
import { CrossFieldRule } from '../../openapi/document';
import { PAGE_TOKEN_PATTERN } from '../../temporal/listing';
import { CRON_SHAPE, cronProblem } from '../cron';

export const SCHEDULE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** An interval: whole seconds, minutes, hours or days; at least 1s (Temporal's resolution). */
const EVERY_PATTERN = /^[1-9]\d{0,5}(s|m|h|d)$/;

/** A cron expression Temporal accepts; the message says what is wrong with it. */
function IsCronExpression(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isCronExpression',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && cronProblem(value) === undefined,
        defaultMessage: ({ value }: ValidationArguments) =>
          typeof value === 'string' ? `cron ${cronProblem(value)}` : 'cron must be a string such as "0 7 * * MON-FRI"',
      },
    });
}

function IsTimeZone(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isTimeZone',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') return false;
          try {
            new Intl.DateTimeFormat('en', { timeZone: value });
            return true;
          } catch {
            return false;
          }
        },
        defaultMessage: () => 'timezone must be an IANA time zone such as Europe/Berlin',
      },
    });
}

@CrossFieldRule({ oneOf: [{ required: ['cron'] }, { required: ['every'] }] })
export class CreateScheduleDto {
  @ApiPropertyOptional({
    description: 'ID of the schedule, unique per tenant; generated when absent.',
    example: 'nightly-digest',
    pattern: SCHEDULE_ID_PATTERN.source,
  })
  @OptionalField()
  @Matches(SCHEDULE_ID_PATTERN, { message: 'id must be 1-64 letters, digits, "_" or "-"' })
  id?: string;

  @ApiProperty({
    description: 'Name of a pipeline from GET /v1/pipelines; its definition is fixed when the schedule is created.',
    example: 'classic',
    pattern: PIPELINE_NAME_PATTERN.source,
  })
  @IsString()
  @Matches(PIPELINE_NAME_PATTERN, { message: 'pipeline must be 1-64 letters, digits, "_" or "-"' })
  pipeline!: string;

  @ApiProperty({
    description: 'Input of every run, as for POST /v1/workflows.',
    example: { prompt: 'Daily news on durable execution' },
    type: 'object',
    additionalProperties: true,
  })
  @IsObject({ message: 'input must be a JSON object' })
  input!: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'Five-field cron expression (or @hourly, @daily, …); each value within the range of its field. Give this or `every`.',
    example: '0 7 * * MON-FRI',
    pattern: CRON_SHAPE.source,
  })
  @ValidateIf((dto: CreateScheduleDto) => dto.cron !== undefined || dto.every === undefined)
  @IsCronExpression()
  cron?: string;

  @ApiPropertyOptional({ description: 'Interval between runs: 30s, 15m, 6h, 1d. Give this or `cron`.', example: '1h', pattern: EVERY_PATTERN.source })
  @OptionalField()
  @Matches(EVERY_PATTERN, { message: 'every must be a whole number of s, m, h or d, such as 30s or 1h' })
  every?: string;

  @ApiPropertyOptional({ description: 'IANA time zone of the cron expression.', default: 'UTC', example: 'Europe/Berlin' })
  @OptionalField()
  @IsTimeZone()
  timezone?: string;

  @ApiPropertyOptional({ description: 'Create the schedule paused.', default: false })
  @OptionalField()
  @IsBoolean()
  paused?: boolean;

  @ApiPropertyOptional({ description: 'A note shown with the schedule.', maxLength: 200 })
  @OptionalField()
  @IsString()
  @MaxLength(200)
  @IsTemporalText()
  note?: string;
}

export class ScheduleNoteDto {
  @ApiPropertyOptional({ description: "Why; shown as the schedule's note.", maxLength: 200 })
  @OptionalField()
  @IsString()
  @MaxLength(200)
  @IsTemporalText()
  note?: string;
}

export class ListSchedulesQuery {
  @ApiPropertyOptional({ description: 'Schedules per page.', default: 50, type: 'integer', minimum: 1, maximum: 200 })
  @OptionalField()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: "The previous page's nextPageToken: the page after it.", pattern: PAGE_TOKEN_PATTERN.source })
  @OptionalField()
  @Matches(PAGE_TOKEN_PATTERN, { message: 'pageToken must be the nextPageToken of a previous page' })
  pageToken?: string;
}
