import { CancellationScope, isCancellation, patched } from '@temporalio/workflow';

/** Patched: runs recorded before this existed let a failed member's siblings run on. */
const CANCEL_SIBLINGS_PATCH = 'chorus-cancel-failed-siblings';

/**
 * Runs `tasks` at once in a cancellation scope of their own. The first to fail cancels the others,
 * so their provider calls receive the cancellation and stop, and its failure is thrown once they
 * have all settled (each activity waits for its cancellation to complete).
 */
export async function allCancellingSiblings(tasks: (() => Promise<void>)[]): Promise<void> {
  const siblings = new CancellationScope();
  const running = tasks.map((task) => siblings.run(task));
  try {
    await Promise.all(running);
  } catch (error) {
    if (isCancellation(error) || !patched(CANCEL_SIBLINGS_PATCH)) throw error;
    siblings.cancel();
    await Promise.allSettled(running);
    throw error;
  }
}
