import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { RUN_STATUSES, type RunStatus } from '../../../src/contract/api';
import { PIPELINE_NAME_PATTERN } from '../../../src/pipeline/validate';
import { PAGE_TOKEN_PATTERN } from '../../temporal/listing';
import { PIPELINE_NAME_MESSAGE } from './start-pipeline.dto';

export class WaitForResultQuery {
  @ApiPropertyOptional({
    description: 'Seconds to wait for the run to close before answering; at most CHORUS_MAX_WAIT_SECONDS (default 60), else a 400.',
    default: 30,
    type: 'integer',
    minimum: 0,
    maximum: 60,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  waitSeconds?: number;
}

export class ListRunsQuery {
  @ApiPropertyOptional({ description: 'Only runs of this pipeline.', example: 'classic', pattern: PIPELINE_NAME_PATTERN.source })
  @IsOptional()
  @Matches(PIPELINE_NAME_PATTERN, { message: PIPELINE_NAME_MESSAGE })
  pipeline?: string;

  @ApiPropertyOptional({ description: 'Only runs in this state.', enum: RUN_STATUSES })
  @IsOptional()
  @IsIn(RUN_STATUSES)
  status?: RunStatus;

  @ApiPropertyOptional({ description: 'Runs per page, newest first.', default: 20, type: 'integer', minimum: 1, maximum: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: "The previous page's nextPageToken: the page after it, of the same filters.", pattern: PAGE_TOKEN_PATTERN.source })
  @IsOptional()
  @Matches(PAGE_TOKEN_PATTERN, { message: 'pageToken must be the nextPageToken of a previous page' })
  pageToken?: string;
}
