/**
 * Memo fields the run starter writes on every run and other processes read: how the run started
 * (the worker counts runs by it) and, for a run of a named pipeline, that pipeline's name.
 */
export const RUN_SOURCES = ['named', 'adhoc', 'rerun', 'schedule'] as const;
export type RunSource = (typeof RUN_SOURCES)[number];

export const RUN_SOURCE_MEMO = 'chorusSource';
/** Absent for an inline definition, whatever name it gives itself: only a name the API resolved is a named pipeline. */
export const NAMED_PIPELINE_MEMO = 'chorusNamedPipeline';

/** The memo fields that record how a run started. */
export function runStartMemo(source: RunSource, namedPipeline: string | undefined): Record<string, string> {
  return { [RUN_SOURCE_MEMO]: source, ...(namedPipeline ? { [NAMED_PIPELINE_MEMO]: namedPipeline } : {}) };
}
