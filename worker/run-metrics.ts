import { Counter, type Registry } from 'prom-client';
import { RUN_SOURCES, type RunSource, type RunStart } from '../src/pipeline/run-start';

/** Every run metric name the worker exports. */
export const RUN_METRIC_NAMES = ['chorus_runs_started_total'] as const;

/**
 * The `pipeline` label of a run that is not of a named pipeline: an inline definition's name is the
 * client's choice, and one series per name would let clients grow the series without bound.
 * Parentheses cannot occur in a pipeline name, so no named pipeline shares these.
 */
export const ADHOC_PIPELINE_LABEL = '(adhoc)';
/** Runs whose input does not say how they started (started before Chorus recorded it, or by another client). */
export const UNKNOWN_SOURCE_LABEL = '(unknown)';

/** Counts runs as they start, by how they started; fed by the worker when a run first executes. */
export interface RunMetrics {
  started(start: RunStart | undefined): void;
}

/** The labels of a run's start, from what the run starter recorded in its input. */
export function runStartLabels(start: RunStart | undefined): { source: RunSource | typeof UNKNOWN_SOURCE_LABEL; pipeline: string } {
  const source = RUN_SOURCES.find((candidate) => candidate === start?.source);
  if (!source) return { source: UNKNOWN_SOURCE_LABEL, pipeline: UNKNOWN_SOURCE_LABEL };
  return { source, pipeline: typeof start?.namedPipeline === 'string' ? start.namedPipeline : ADHOC_PIPELINE_LABEL };
}

export function createRunMetrics(registry: Registry): RunMetrics {
  const runsStarted = new Counter({
    name: 'chorus_runs_started_total',
    help: 'Pipeline runs started, by how (named, adhoc, rerun, schedule, chat) and named pipeline ("(adhoc)" for inline and chat definitions)',
    labelNames: ['source', 'pipeline'],
    registers: [registry],
  });
  return { started: (start) => runsStarted.inc(runStartLabels(start)) };
}
