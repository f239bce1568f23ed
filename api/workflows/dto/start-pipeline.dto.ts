import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { IsObject, IsString, IsUrl, Matches, MaxLength } from 'class-validator';
import { OptionalField } from '../../validation';
import { BUDGET_LIMIT_MAXIMUMS, PIPELINE_NAME_PATTERN } from '../../../src/pipeline/validate';
import { CrossFieldRule } from '../../openapi/document';

/** OpenAPI 3.1's numeric exclusiveMinimum; @nestjs/swagger's types still have 3.0's boolean form. */
const OPENAPI_31_ABOVE_ZERO = 0 as unknown as boolean;
/** A budget's limits as the OpenAPI document shows them (BudgetSchema checks them). */
export const BUDGET_LIMIT_PROPERTIES = {
  maxCostUsd: { type: 'number', exclusiveMinimum: OPENAPI_31_ABOVE_ZERO, maximum: BUDGET_LIMIT_MAXIMUMS.maxCostUsd },
  maxTokens: { type: 'integer', minimum: 1, maximum: BUDGET_LIMIT_MAXIMUMS.maxTokens },
} as const;

export const PIPELINE_NAME_MESSAGE = 'pipeline must be 1-64 letters, digits, "_" or "-"';

@CrossFieldRule({ oneOf: [{ required: ['pipeline'] }, { required: ['definition'] }] })
export class StartPipelineDto {
  @ApiPropertyOptional({
    description: 'Name of a pipeline from GET /v1/pipelines. Give this or `definition`.',
    example: 'classic',
    pattern: PIPELINE_NAME_PATTERN.source,
  })
  @OptionalField()
  @IsString()
  @Matches(PIPELINE_NAME_PATTERN, { message: PIPELINE_NAME_MESSAGE })
  pipeline?: string;

  @ApiPropertyOptional({
    description: 'An inline (ad-hoc) pipeline definition, in the format of GET /v1/pipelines/schema. Give this or `pipeline`.',
    allOf: [{ $ref: '#/components/schemas/PipelineDefinition' }],
  })
  @OptionalField()
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

  @ApiPropertyOptional({
    description:
      "Where the run's outcome is POSTed when it closes, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) with the tenant's whsec_ secret.",
    example: 'https://example.com/hooks/chorus',
    format: 'uri',
    maxLength: 2000,
  })
  @OptionalField()
  @MaxLength(2000)
  @IsUrl({ protocols: ['https', 'http'], require_protocol: true, require_tld: false }, { message: 'callbackUrl must be an http(s) URL' })
  callbackUrl?: string;

  @ApiPropertyOptional({
    description:
      "A cap on what this run's provider calls may cost (USD) or use (tokens); with the definition's own budget, the stricter of the two holds. Each call reserves its worst case before it is sent; one that does not fit fails BudgetExceeded.",
    example: { maxCostUsd: 0.5 },
    type: 'object',
    properties: BUDGET_LIMIT_PROPERTIES,
  })
  @OptionalField()
  @IsObject({ message: 'budget must be a JSON object' })
  budget?: Record<string, unknown>;
}
