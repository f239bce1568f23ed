import { condition, isCancellation } from '@temporalio/workflow';
import { FailureType } from '../src/pipeline/failures';
import { MAP_ITEMS_LIMIT } from '../src/pipeline/limits';
import { readPath } from '../src/pipeline/template';
import type { MapStep, StepResult } from '../src/pipeline/types';
import { callWithFallback } from './provider-step';
import type { RunState } from './run-state';
import { allCancellingSiblings } from './siblings';
import { StepFailed } from './step-failure';

const DEFAULT_MAP_CONCURRENCY = 4;

/** One provider call per element of a list, at most `concurrency` at once; the results keep the list's order. */
export async function runMapStep(step: MapStep, run: RunState): Promise<void> {
  const state = run.entry(step.id);
  const list = readPath(run.scope, step.map.over);
  if (!Array.isArray(list) || list.length > MAP_ITEMS_LIMIT) {
    state.status = 'failed';
    state.error = { type: FailureType.InvalidPipeline, message: `${step.map.over} must be a list of at most ${MAP_ITEMS_LIMIT} elements` };
    throw new StepFailed(step.id, state.error, undefined);
  }
  state.status = 'running';
  state.items = { done: 0, total: list.length };
  const results: StepResult[] = new Array(list.length);
  let next = 0;
  /** The first element the run's budget could not cover: no lane takes another, the calls in flight (already held) finish. */
  let budgetRanOut: StepFailed | undefined;
  /** This map's calls in flight: what may free room under a tenant cap, which the workflow cannot see (the run's own budget counts its holds). */
  let inFlight = 0;
  const held = () => run.budget?.heldCalls ?? inFlight;
  // A fixed pool of lanes, each taking the next element: at most `concurrency` calls in flight;
  // an element that fails cancels the calls of the other lanes.
  const lane = async () => {
    while (next < list.length && !budgetRanOut) {
      const index = next++;
      for (;;) {
        inFlight += 1;
        try {
          results[index] = await callWithFallback(
            step.map.step,
            step.id,
            `${step.id}[${index}]`,
            { ...run.scope, item: list[index], index },
            run.run,
            run.budget,
            (provider) => run.markSkippedUnhealthy(step.id, provider),
          );
          inFlight -= 1;
          break;
        } catch (error) {
          inFlight -= 1;
          if (!(error instanceof StepFailed && error.info.type === FailureType.BudgetExceeded)) throw error;
          // Calls in flight hold their worst case and usually spend less: once one of them settles, this element may fit.
          const heldNow = held();
          if (heldNow === 0 && !budgetRanOut && run.awaitsBudgetApproval(error)) {
            // Nothing left to free room: an approval may raise the budget (the element is then reserved again), else the map stops.
            try {
              await run.awaitBudgetApproval(step.id, error);
              continue;
            } catch (final) {
              if (isCancellation(final)) throw final;
              budgetRanOut ??= final as StepFailed;
              return;
            }
          }
          if (heldNow === 0 || budgetRanOut) {
            budgetRanOut ??= error;
            return;
          }
          await condition(() => held() < heldNow || budgetRanOut !== undefined);
        }
      }
      state.items!.done += 1;
    }
  };
  try {
    await allCancellingSiblings(Array.from({ length: Math.min(step.map.concurrency ?? DEFAULT_MAP_CONCURRENCY, list.length) }, () => lane));
    if (budgetRanOut) {
      const { done, total } = state.items;
      state.items.notRun = total - done;
      const info = { type: FailureType.BudgetExceeded, message: `${done} of ${total} items done, ${total - done} not run: ${budgetRanOut.info.message}` };
      throw new StepFailed(step.id, info, undefined);
    }
  } catch (error) {
    if (!isCancellation(error)) state.status = 'failed';
    if (error instanceof StepFailed) state.error = error.info;
    throw error;
  }
  run.outputs[step.id] = { items: results, texts: results.map((result) => result.text), data: results.map((result) => result.data ?? null) };
  state.status = 'done';
  state.attempts = results.reduce((sum, result) => sum + result.attempt, 0);
}
