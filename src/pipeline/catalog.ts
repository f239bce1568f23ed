import { classicPipeline } from './classic';
import { templatePaths } from './template';
import type { PipelineDefinition } from './types';

/** The named pipelines clients can start by name. */
export const PIPELINE_CATALOG: ReadonlyMap<string, PipelineDefinition> = new Map([[classicPipeline.name, classicPipeline]]);

/** The `input.*` fields a pipeline's templates read: a start request must provide each of them. */
export function requiredInputFields(pipeline: PipelineDefinition): string[] {
  const fields = pipeline.steps
    .flatMap((step) => templatePaths(step.prompt))
    .filter((path) => path.startsWith('input.'))
    .map((path) => path.split('.')[1]);
  return [...new Set(fields)];
}
