import { proxySinks, type Sinks, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import type { PipelineRunInput } from '../src/pipeline/types';
import type { RunStart } from '../src/pipeline/run-start';

/** How the workflow bundle tells the worker process that a run began; the worker counts it (see `runSinks`). */
export interface RunSinks extends Sinks {
  runs: { started(start: RunStart | undefined): void };
}

const { runs } = proxySinks<RunSinks>();

/**
 * Part of the workflow bundle: reports each run as its workflow first executes. A replay calls no
 * sink, so a run moved to another worker is not counted again.
 */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      execute(input, next) {
        runs.started((input.args[0] as PipelineRunInput | undefined)?.start);
        return next(input);
      },
    },
  ],
});
