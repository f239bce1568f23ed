/**
 * How a run started, recorded by the run starter in the run's input (where the worker's payload codec
 * decodes it: a memo would be unreadable to an API without the encryption key, and break its listings).
 * The worker counts runs by it.
 */
export const RUN_SOURCES = ['named', 'adhoc', 'rerun', 'schedule', 'chat'] as const;
export type RunSource = (typeof RUN_SOURCES)[number];

export interface RunStart {
  source: RunSource;
  /** Absent for an inline definition, whatever name it gives itself: only a name the API resolved is a named pipeline. */
  namedPipeline?: string;
}

export function runStartRecord(source: RunSource, namedPipeline: string | undefined): RunStart {
  return { source, ...(namedPipeline ? { namedPipeline } : {}) };
}
