import { Counter, type Registry } from 'prom-client';
import { NAMED_PIPELINE_MEMO, RUN_SOURCE_MEMO, RUN_SOURCES, type RunSource } from '../src/pipeline/run-memo';

/** Every run metric name the worker exports. */
export const RUN_METRIC_NAMES = ['chorus_runs_started_total'] as const;

/**
 * The `pipeline` label of a run that is not of a named pipeline: an inline definition's name is the
 * client's choice, and one series per name would let clients grow the series without bound.
 * Parentheses cannot occur in a pipeline name, so no named pipeline shares these.
 */
export const ADHOC_PIPELINE_LABEL = '(adhoc)';
/** Runs whose memo does not say how they started (started before Chorus recorded it, or by another client). */
export const UNKNOWN_SOURCE_LABEL = '(unknown)';

/** Counts runs as they start, by how they started; fed by the worker when a run first executes. */
export interface RunMetrics {
  started(memo: Record<string, unknown> | undefined): void;
}

/** The labels of a run's start, from what the run starter recorded in its memo. */
export function runStartLabels(memo: Record<string, unknown> | undefined): { source: RunSource | typeof UNKNOWN_SOURCE_LABEL; pipeline: string } {
  const recorded = memo?.[RUN_SOURCE_MEMO];
  const source = RUN_SOURCES.find((candidate) => candidate === recorded);
  if (!source) return { source: UNKNOWN_SOURCE_LABEL, pipeline: UNKNOWN_SOURCE_LABEL };
  const named = memo?.[NAMED_PIPELINE_MEMO];
  return { source, pipeline: typeof named === 'string' ? named : ADHOC_PIPELINE_LABEL };
}

export function createRunMetrics(registry: Registry): RunMetrics {
  const runsStarted = new Counter({
    name: 'chorus_runs_started_total',
    help: 'Pipeline runs started, by how (named, adhoc, rerun, schedule) and named pipeline ("(adhoc)" for inline definitions)',
    labelNames: ['source', 'pipeline'],
    registers: [registry],
  });
  return { started: (memo) => runsStarted.inc(runStartLabels(memo)) };
}
