import { Body, Controller, Get, HttpCode, HttpStatus, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { pipelineJsonSchema } from '../../src/pipeline/validate';
import { RequireScopes } from '../auth/principal';
import { PipelinesService, summaryOf } from './pipelines.service';

@ApiTags('pipelines')
@ApiSecurity('api-key')
@RequireScopes('workflows:read')
@Controller('v1/pipelines')
export class PipelinesController {
  constructor(private readonly pipelines: PipelinesService) {}

  @Get()
  @ApiOperation({ summary: 'Named pipelines with the input fields each needs' })
  list() {
    return { pipelines: this.pipelines.list() };
  }

  @Get('schema')
  @ApiOperation({ summary: "JSON Schema of the pipeline definition format, with this deployment's providers" })
  schema() {
    return pipelineJsonSchema(this.pipelines.providers);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One named pipeline, with its full definition' })
  get(@Param('name') name: string) {
    const pipeline = this.pipelines.find(name);
    if (!pipeline) throw new NotFoundException(`No pipeline named "${name}"`);
    return { ...summaryOf(pipeline), definition: pipeline };
  }

  @Post('validate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Validate a definition without starting it: 200 when valid, 400 listing each problem with its JSON path' })
  @ApiBody({ schema: { type: 'object', description: 'A pipeline definition' } })
  validate(@Body() candidate: unknown) {
    return { valid: true, ...summaryOf(this.pipelines.validate(candidate, '$')) };
  }
}
