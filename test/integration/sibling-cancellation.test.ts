import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../src/pipeline/failures';
import type { PipelineDefinition, PipelineFailureDetails, PipelineRunInput } from '../../src/pipeline/types';
import { pipelineWorkflow } from '../../workflows';
import { startTestStack, type TestStack } from '../helpers/stack';

/** Far longer than the test waits: a slow call ends only by being cancelled. */
const SLOW_MS = 30_000;
/** The failing call answers late enough for its siblings' requests to be at the provider. */
const FAIL_AFTER_MS = 1500;

/** Per activity ID of a run: whether Temporal asked it to cancel, and whether it acknowledged (stopped). */
async function cancellations(handle: WorkflowHandle): Promise<Record<string, { requested: boolean; cancelled: boolean }>> {
  const history = await handle.fetchHistory();
  const idByEvent = new Map<string, string>();
  const byId: Record<string, { requested: boolean; cancelled: boolean }> = {};
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      idByEvent.set(String(event.eventId), scheduled.activityId!);
      byId[scheduled.activityId!] = { requested: false, cancelled: false };
    }
    const requested = event.activityTaskCancelRequestedEventAttributes;
    if (requested) byId[idByEvent.get(String(requested.scheduledEventId))!].requested = true;
    const cancelled = event.activityTaskCanceledEventAttributes;
    if (cancelled) byId[idByEvent.get(String(cancelled.scheduledEventId))!].cancelled = true;
  }
  return byId;
}

/**
 * Issue 18, finding 2 (workflow side): when a parallel member or a map element fails, the calls
 * still running beside it are cancelled (their activities receive the cancellation and stop),
 * instead of running on, paid for, after the run has failed.
 */
describe('a failed sibling cancels the others', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack('sibling-cancellation', { latencyMs: 5 });
  });
  afterAll(() => stack?.close());
  beforeEach(() => stack.simulator.clearRequests());

  const run = async (pipeline: PipelineDefinition, input: Record<string, unknown>) => {
    const handle = await stack.client.workflow.start(pipelineWorkflow, {
      workflowId: `${pipeline.name}-${randomUUID()}`,
      taskQueue: stack.temporal.taskQueue,
      args: [{ pipeline, input } satisfies PipelineRunInput],
    });
    const startedAt = Date.now();
    const error = await handle.result().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(FailureType.PipelineStepFailed);
    return { handle, details: cause.details?.[0] as PipelineFailureDetails, closedAfterMs: Date.now() - startedAt };
  };
  const requestsTo = (provider: string) => stack.simulator.requests().filter((record) => record.provider === provider);

  it('parallel: the member that fails cancels the slow one, whose provider call stops; progress shows it cancelled', async () => {
    const pipeline: PipelineDefinition = {
      name: 'parallel-cancel',
      steps: [
        {
          id: 'both',
          parallel: [
            { id: 'failing', provider: 'cohere', task: 'generate', prompt: `{{input.text}} [[sim:cohere:401,latency=${FAIL_AFTER_MS}]]` },
            { id: 'slow', provider: 'openai', task: 'generate', prompt: `{{input.text}} [[sim:openai,latency=${SLOW_MS}]]`, timeout: { heartbeat: '2s' } },
          ],
        },
      ],
    };
    const { handle, details, closedAfterMs } = await run(pipeline, { text: 'Two at once' });

    expect(details.step).toBe('failing');
    expect(details.error.type).toBe(FailureType.ProviderAuthFailed);
    expect(details.progress).toEqual([
      { id: 'failing', provider: 'cohere', status: 'failed', error: details.error },
      { id: 'slow', provider: 'openai', status: 'cancelled' },
    ]);
    // The slow call was at the provider, was asked to cancel, and acknowledged: the run closed long before it would have answered.
    expect(requestsTo('openai')).toHaveLength(1);
    expect(await cancellations(handle)).toEqual({ failing: { requested: false, cancelled: false }, slow: { requested: true, cancelled: true } });
    expect(closedAfterMs).toBeLessThan(SLOW_MS / 2);
  });

  it('map: the element that fails cancels the elements in flight in the other lanes, and no lane starts another', async () => {
    const pipeline: PipelineDefinition = {
      name: 'map-cancel',
      steps: [
        {
          id: 'each',
          map: { over: 'input.documents', concurrency: 3, step: { provider: 'cohere', task: 'summarize', prompt: '{{item}}', timeout: { heartbeat: '2s' } } },
        },
      ],
    };
    const documents = [
      `First [[sim:cohere:401,latency=${FAIL_AFTER_MS}]]`,
      `Second [[sim:cohere,latency=${SLOW_MS}]]`,
      `Third [[sim:cohere,latency=${SLOW_MS}]]`,
      'Fourth, never started',
    ];
    const { handle, details, closedAfterMs } = await run(pipeline, { documents });

    expect(details).toMatchObject({ step: 'each', error: { type: FailureType.ProviderAuthFailed } });
    expect(details.progress).toEqual([{ id: 'each', provider: 'cohere', status: 'failed', items: { done: 0, total: 4 }, error: details.error }]);
    expect(requestsTo('cohere')).toHaveLength(3);
    expect(await cancellations(handle)).toEqual({
      'each[0]': { requested: false, cancelled: false },
      'each[1]': { requested: true, cancelled: true },
      'each[2]': { requested: true, cancelled: true },
    });
    expect(closedAfterMs).toBeLessThan(SLOW_MS / 2);
  });
});
