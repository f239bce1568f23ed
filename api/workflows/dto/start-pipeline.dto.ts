import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Matches } from 'class-validator';
import { PIPELINE_NAME_PATTERN } from '../../../src/pipeline/validate';

export const PIPELINE_NAME_MESSAGE = 'pipeline must be 1-64 letters, digits, "_" or "-"';

export class StartPipelineDto {
  @ApiPropertyOptional({ description: 'Name of a pipeline from GET /v1/pipelines. Give this or `definition`.', example: 'classic' })
  @IsOptional()
  @IsString()
  @Matches(PIPELINE_NAME_PATTERN, { message: PIPELINE_NAME_MESSAGE })
  pipeline?: string;

  @ApiPropertyOptional({
    description: 'An inline (ad-hoc) pipeline definition, in the format of GET /v1/pipelines/schema. Give this or `pipeline`.',
    type: 'object',
    additionalProperties: true,
  })
  @IsOptional()
  @IsObject({ message: 'definition must be a JSON object' })
  definition?: Record<string, unknown>;

  @ApiProperty({
    description: "Values the pipeline's templates read as input.*; the classic pipeline needs `prompt`.",
    example: { prompt: 'Why durable execution matters for AI agents' },
    type: 'object',
    additionalProperties: true,
  })
  @IsObject({ message: 'input must be a JSON object' })
  input!: Record<string, unknown>;
}
