import { WorkflowNotFoundError, type Client, type WorkflowExecutionStatusName } from '@temporalio/client';

/**
 * Whether a workflow run is still open, as the server knows it; throws when that cannot be known
 * (server unreachable). A provider call kept going for a retry stops once its run is not open.
 */
export type RunIsOpen = (workflowId: string, runId: string) => Promise<boolean>;

/** A paused run is still open: it resumes where it was. */
const OPEN_STATUSES: ReadonlySet<WorkflowExecutionStatusName> = new Set(['RUNNING', 'PAUSED']);

/** Asks the server through `client`; a run it no longer has (past retention) is closed. */
export function runIsOpenVia(client: Client, deadlineMs = 5000): RunIsOpen {
  return async (workflowId, runId) => {
    try {
      const description = await client.connection.withDeadline(Date.now() + deadlineMs, () => client.workflow.getHandle(workflowId, runId).describe());
      return OPEN_STATUSES.has(description.status.name);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  };
}
