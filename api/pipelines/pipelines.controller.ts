import { Body, Controller, Get, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { PIPELINE_NAME_PATTERN, pipelineJsonSchema } from '../../src/pipeline/validate';
import { Operation, PathId } from '../openapi/operation';
import { PatternPipe } from '../validation';

const PIPELINE_NAME_REASON = 'must be 1-64 letters, digits, "_" or "-"';
import { PipelinesService, summaryOf } from './pipelines.service';

@ApiTags('pipelines')
@ApiSecurity('api-key')
@ApiBearerAuth('bearer')
@Controller('v1/pipelines')
export class PipelinesController {
  constructor(private readonly pipelines: PipelinesService) {}

  @Get()
  @Operation({
    id: 'listPipelines',
    summary: 'Named pipelines with the input fields each needs',
    scope: 'workflows:read',
    answers: { 200: { description: 'Every named pipeline.', schema: 'PipelineList' } },
  })
  list() {
    return { pipelines: this.pipelines.list() };
  }

  @Get('schema')
  @Operation({
    id: 'getPipelineSchema',
    summary: "JSON Schema of the pipeline definition format, with this deployment's providers",
    scope: 'workflows:read',
    answers: { 200: { description: 'The JSON Schema (draft 2020-12).', schema: 'JsonSchemaDocument' } },
  })
  schema() {
    return pipelineJsonSchema(this.pipelines.providers);
  }

  @Get(':name')
  @PathId('name', PIPELINE_NAME_PATTERN, 'The pipeline name', 'classic')
  @Operation({
    id: 'getPipeline',
    summary: 'One named pipeline, with its full definition',
    scope: 'workflows:read',
    answers: { 200: { description: 'The pipeline.', schema: 'PipelineDetails' } },
    problems: [400, 404],
  })
  get(@Param('name', new PatternPipe('name', PIPELINE_NAME_PATTERN, PIPELINE_NAME_REASON)) name: string) {
    const pipeline = this.pipelines.find(name);
    if (!pipeline) throw new NotFoundException(`No pipeline named "${name}"`);
    return { ...summaryOf(pipeline), definition: pipeline };
  }

  @Post('validate')
  @Operation({
    id: 'validatePipeline',
    summary: 'Validate a definition without starting it: 200 when valid, 400 listing each problem with its JSON path',
    scope: 'workflows:read',
    answers: { 200: { description: 'The definition is valid.', schema: 'PipelineValid' } },
    problems: [400, 413],
  })
  @ApiBody({
    required: true,
    description: 'A pipeline definition, in the format of GET /v1/pipelines/schema',
    schema: { $ref: '#/components/schemas/PipelineDefinition' },
  })
  validate(@Body() candidate: unknown) {
    return { valid: true, ...summaryOf(this.pipelines.validate(candidate, '$')) };
  }
}
