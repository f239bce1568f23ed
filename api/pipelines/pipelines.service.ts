import { Inject, Injectable } from '@nestjs/common';
import type { ApiSettings } from '../../src/config/api';
import type { PipelineSummary } from '../../src/contract/api';
import { PROVIDER_NAMES, type ProviderName } from '../../src/pipeline/providers';
import { loadPipelineDirectory } from '../../src/pipeline/registry';
import type { PipelineDefinition } from '../../src/pipeline/types';
import { requiredInputFields, validatePipeline, type AllowedModels, type FieldProblem } from '../../src/pipeline/validate';
import { badRequest } from '../errors/bad-request';
import { API_SETTINGS } from '../tokens';

/** The named pipelines, loaded and validated once at start: a bad file stops the API naming file and path. */
@Injectable()
export class PipelinesService {
  private readonly pipelines: Map<string, PipelineDefinition>;
  /** What a step may name: the catalog's providers and this deployment's configured instances. */
  readonly providers: readonly ProviderName[];
  /** The models a step may name on instances that list theirs. */
  private readonly allowedModels: AllowedModels;

  constructor(@Inject(API_SETTINGS) settings: ApiSettings) {
    this.providers = settings.providers ?? PROVIDER_NAMES;
    this.allowedModels = settings.providerModels ?? {};
    this.pipelines = loadPipelineDirectory(settings.pipelinesDir, this.providers, this.allowedModels);
  }

  list(): PipelineSummary[] {
    return [...this.pipelines.values()].map(summaryOf);
  }

  find(name: string): PipelineDefinition | undefined {
    return this.pipelines.get(name);
  }

  /** The named pipeline, or a 400 on `pipeline` listing the known names. */
  require(name: string): PipelineDefinition {
    const pipeline = this.pipelines.get(name);
    if (!pipeline) throw badRequest([{ field: 'pipeline', reason: `unknown pipeline "${name}"; known: ${[...this.pipelines.keys()].join(', ')}` }]);
    return pipeline;
  }

  /** Validates an inline definition; problems are reported under `fieldPrefix` (e.g. `definition`). */
  validate(candidate: unknown, fieldPrefix: string): PipelineDefinition {
    const { pipeline, problems } = validatePipeline(candidate, this.providers, this.allowedModels);
    if (!pipeline) throw badRequest(problems.map((problem: FieldProblem) => ({ ...problem, field: problem.field.replace(/^\$/, fieldPrefix) })));
    return pipeline;
  }
}

export function summaryOf(pipeline: PipelineDefinition): PipelineSummary {
  return { name: pipeline.name, description: pipeline.description ?? null, requiredInput: requiredInputFields(pipeline) };
}
