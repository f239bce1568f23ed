import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandLine } from '../src/process/command-line';
import { projectRoot } from '../src/project-root';
import { PIPELINE_SCHEMA_FILE } from '../src/pipeline/registry';
import { pipelineJsonSchema } from '../src/pipeline/validate';

/** `npm run schema:export`: writes the definition format's JSON Schema beside the pipelines for editors. */
export const PIPELINE_SCHEMA_PATH = join(projectRoot(), 'pipelines', PIPELINE_SCHEMA_FILE);

export function pipelineSchemaText(): string {
  return `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  commandLine('npm run schema:export --', `Writes the JSON Schema of the pipeline definition format to ${PIPELINE_SCHEMA_PATH}, for editors`).parse();
  writeFileSync(PIPELINE_SCHEMA_PATH, pipelineSchemaText());
  console.log(`wrote ${PIPELINE_SCHEMA_PATH}`);
}
