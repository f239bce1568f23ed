import { Inject, Injectable, Logger } from '@nestjs/common';
import { Client, isGrpcDeadlineError, WorkflowFailedError } from '@temporalio/client';
import type { PipelineResult } from '../../src/pipeline/types';
import type { pipelineWorkflow } from '../../workflows';
import { TEMPORAL_CLIENT } from '../tokens';

/** A run's outcome as a caller that waited for it saw it. */
export interface Settled {
  runId: string;
  result?: PipelineResult;
  failure?: WorkflowFailedError;
}

/** One Temporal long-poll for a run's close, and until when it waits. */
interface SharedWait {
  deadline: number;
  /** The outcome once the run closed; undefined when `deadline` came first or the wait failed. */
  outcome: Promise<Settled | undefined>;
}

/**
 * Waits for runs to close. Concurrent waits of one run in this process share one Temporal
 * long-poll (a page polled by several clients, a client that re-polls before its last request
 * ended), so their number costs the API one open call per run, not per caller. Nothing here is
 * needed for correctness: every API instance waits on Temporal itself, and a run's close reaches
 * each of them.
 */
@Injectable()
export class RunCloseWaits {
  private readonly logger = new Logger(RunCloseWaits.name);
  private readonly waits = new Map<string, SharedWait>();
  /** Callers waiting per run ID. */
  private readonly callers = new Map<string, number>();

  constructor(@Inject(TEMPORAL_CLIENT) private readonly client: Client) {}

  /** The run's outcome once it closes, or undefined if it is still open at `deadline` (ms since the epoch) or Temporal failed the wait. */
  async untilClosed(workflowId: string, runId: string, deadline: number): Promise<Settled | undefined> {
    this.callers.set(runId, this.waitingFor(runId) + 1);
    try {
      for (;;) {
        const shared = this.join(workflowId, runId, deadline);
        const outcome = shared.deadline > deadline ? await beforeDeadline(shared.outcome, deadline) : await shared.outcome;
        // A shared wait that ended before this caller's deadline with the run still open is followed by another.
        if (outcome || Date.now() >= deadline || shared.deadline >= deadline) return outcome;
      }
    } finally {
      const left = this.waitingFor(runId) - 1;
      if (left > 0) this.callers.set(runId, left);
      else this.callers.delete(runId);
    }
  }

  /** Concurrent long-polls of Temporal for runs to close: one per run however many callers wait. */
  get openWaits(): number {
    return this.waits.size;
  }

  /** Callers waiting for the run now. */
  waitingFor(runId: string): number {
    return this.callers.get(runId) ?? 0;
  }

  private join(workflowId: string, runId: string, deadline: number): SharedWait {
    const existing = this.waits.get(runId);
    if (existing && existing.deadline > Date.now()) return existing;
    const outcome = this.waitOnTemporal(workflowId, runId, deadline);
    const shared: SharedWait = { deadline, outcome };
    this.waits.set(runId, shared);
    const leave = () => {
      if (this.waits.get(runId) === shared) this.waits.delete(runId);
    };
    outcome.then(leave, leave);
    return shared;
  }

  private async waitOnTemporal(workflowId: string, runId: string, deadline: number): Promise<Settled | undefined> {
    const handle = this.client.workflow.getHandle<typeof pipelineWorkflow>(workflowId, runId);
    try {
      return { runId, result: await this.client.withDeadline(deadline, () => handle.result()) };
    } catch (error) {
      // A run that closed otherwise than completed is described by its caller.
      if (error instanceof WorkflowFailedError) return { runId, failure: error };
      // A deadline means "still running". Any other failure says nothing about the run (Temporal
      // answered RESOURCE_EXHAUSTED to the waits of runs terminated 200 at once): the caller's describe,
      // which follows, answers with the run's state, or fails with its own error.
      if (!isGrpcDeadlineError(error))
        this.logger.warn(`Waiting for run ${runId} to close failed; describing it instead: ${(error as Error).message}${causeOf(error)}`);
      return undefined;
    }
  }
}

/** The detail of the gRPC error the SDK wraps, when there is one. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { details?: unknown } }).cause;
  return typeof cause?.details === 'string' ? ` (${cause.details})` : '';
}

/** `outcome`, or undefined if `deadline` comes first. */
async function beforeDeadline<T>(outcome: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([outcome, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
