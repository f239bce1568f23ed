import { ApiProperty } from '@nestjs/swagger';
import { IsObject, IsString, Matches } from 'class-validator';

export const PIPELINE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export class StartPipelineDto {
  @ApiProperty({ description: 'Name of the pipeline to run.', example: 'classic' })
  @IsString()
  @Matches(PIPELINE_NAME_PATTERN, { message: 'pipeline must be 1-64 letters, digits, "_" or "-"' })
  pipeline!: string;

  @ApiProperty({
    description: "Values the pipeline's prompt templates read as input.*; the classic pipeline needs `prompt`.",
    example: { prompt: 'Why durable execution matters for AI agents' },
    type: 'object',
    additionalProperties: true,
  })
  @IsObject({ message: 'input must be a JSON object' })
  input!: Record<string, unknown>;
}
