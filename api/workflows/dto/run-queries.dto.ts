import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { RUN_STATUSES, type RunStatus } from '../../../src/contract/api';
import { PIPELINE_NAME_PATTERN } from '../../../src/pipeline/validate';
import { PIPELINE_NAME_MESSAGE } from './start-pipeline.dto';

export class WaitForResultQuery {
  @ApiPropertyOptional({ description: 'Seconds to wait for the run to close before answering (bounded by CHORUS_MAX_WAIT_SECONDS).', default: 30 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  waitSeconds?: number;
}

export class ListRunsQuery {
  @ApiPropertyOptional({ description: 'Only runs of this pipeline.', example: 'classic' })
  @IsOptional()
  @Matches(PIPELINE_NAME_PATTERN, { message: PIPELINE_NAME_MESSAGE })
  pipeline?: string;

  @ApiPropertyOptional({ description: 'Only runs in this state.', enum: RUN_STATUSES })
  @IsOptional()
  @IsIn(RUN_STATUSES)
  status?: RunStatus;

  @ApiPropertyOptional({ description: 'How many runs, newest first.', default: 20, minimum: 1, maximum: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}
