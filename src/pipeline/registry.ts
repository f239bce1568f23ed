import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PROVIDER_NAMES, type ProviderName } from './providers';
import type { PipelineDefinition } from './types';
import { validatePipeline, type AllowedModels, type FieldProblem } from './validate';

export class PipelineFileError extends Error {
  override readonly name = 'PipelineFileError';
  constructor(readonly problems: { file: string; problems: FieldProblem[] }[]) {
    super(
      `Invalid pipeline definitions:\n${problems
        .flatMap(({ file, problems: list }) => list.map(({ field, reason }) => `  ${file}: ${field}: ${reason}`))
        .join('\n')}`,
    );
  }
}

const DEFINITION_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** The exported JSON Schema sits beside the definitions for editors; it is not a pipeline. */
export const PIPELINE_SCHEMA_FILE = 'pipeline.schema.json';

function parseFile(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  return extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
}

/**
 * Loads and validates every definition in a folder. Any bad file stops the caller with each
 * problem's file and JSON path, so a broken definition never reaches a running process.
 */
export function loadPipelineDirectory(
  dir: string,
  providers: readonly ProviderName[] = PROVIDER_NAMES,
  allowedModels: AllowedModels = {},
): Map<string, PipelineDefinition> {
  const pipelines = new Map<string, PipelineDefinition>();
  const failures: { file: string; problems: FieldProblem[] }[] = [];
  const files = readdirSync(dir)
    .filter((file) => DEFINITION_EXTENSIONS.has(extname(file)) && file !== PIPELINE_SCHEMA_FILE)
    .sort();
  for (const file of files) {
    let candidate: unknown;
    try {
      candidate = parseFile(join(dir, file));
    } catch (error) {
      failures.push({ file, problems: [{ field: '$', reason: `cannot be parsed: ${(error as Error).message.split('\n')[0]}` }] });
      continue;
    }
    const { pipeline, problems } = validatePipeline(candidate, providers, allowedModels);
    if (!pipeline) {
      failures.push({ file, problems });
    } else if (pipelines.has(pipeline.name)) {
      failures.push({ file, problems: [{ field: '$.name', reason: `pipeline "${pipeline.name}" is already defined by another file` }] });
    } else {
      pipelines.set(pipeline.name, pipeline);
    }
  }
  if (failures.length) throw new PipelineFileError(failures);
  return pipelines;
}
