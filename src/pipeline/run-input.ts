import { MAP_ITEMS_LIMIT } from './limits';
import { readPath } from './template';
import { isMapStep, type PipelineDefinition } from './types';
import { requiredInputFields, type FieldProblem } from './validate';

/** What a run's input was found to be, against its pipeline. */
export interface RunInputCheck {
  /** Size of the input as JSON, in UTF-8 bytes. */
  bytes: number;
  /** Over the size cap (the input is stored in Temporal history): nothing else was checked. */
  tooLarge: boolean;
  problems: FieldProblem[];
}

/**
 * The rules every run's input must meet before the run starts, whoever starts it (a request, a
 * rerun, a schedule): at most `maxInputBytes` as JSON, every field the templates read present, and
 * every list a map step goes over a list of at most MAP_ITEMS_LIMIT elements.
 */
export function checkRunInput(pipeline: PipelineDefinition, input: Record<string, unknown>, { maxInputBytes }: { maxInputBytes: number }): RunInputCheck {
  const bytes = new TextEncoder().encode(JSON.stringify(input)).length;
  if (bytes > maxInputBytes) return { bytes, tooLarge: true, problems: [{ field: 'input', reason: `at most ${maxInputBytes} bytes as JSON` }] };
  const missing = requiredInputFields(pipeline)
    .filter((field) => input[field] === undefined || input[field] === null || input[field] === '')
    .map((field) => ({ field: `input.${field}`, reason: `required by pipeline "${pipeline.name}"` }));
  const lists = pipeline.steps
    .filter(isMapStep)
    .filter((step) => step.map.over.startsWith('input.'))
    .flatMap((step) => {
      const value = readPath({ input }, step.map.over);
      if (value === undefined) return [];
      if (!Array.isArray(value)) return [{ field: step.map.over, reason: `must be a list (step "${step.id}" maps over it)` }];
      if (value.length > MAP_ITEMS_LIMIT) return [{ field: step.map.over, reason: `must have at most ${MAP_ITEMS_LIMIT} elements` }];
      return [];
    });
  return { bytes, tooLarge: false, problems: [...missing, ...lists] };
}
