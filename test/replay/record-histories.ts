import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { PipelineRunInput } from '../../src/pipeline/types';
import { pipelineWorkflow } from '../../workflows';
import { approvalUpdate, progressQuery } from '../../workflows/definitions';
import { shippedPipeline, startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { HISTORY_FIXTURES_DIR, RECORDED_SHAPES } from './fixtures';

/**
 * Records the history fixtures that replay.test.ts replays: `npm run fixtures:record`.
 * Record again only on purpose, e.g. for a new pipeline shape; old fixtures stay to guard running workflows.
 */

describe('record history fixtures', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('record-histories', { latencyMs: 5 });
  });
  afterAll(() => stack.close());

  it.each(Object.entries(RECORDED_SHAPES))('%s', async (name, { pipeline, input, approve }) => {
    const handle = await stack.client.workflow.start(pipelineWorkflow, {
      workflowId: `${name}-${randomUUID()}`,
      taskQueue: stack.temporal.taskQueue,
      args: [{ pipeline: shippedPipeline(pipeline), input } satisfies PipelineRunInput],
    });
    if (approve) {
      await waitFor('the approval step to wait', () => handle.query(progressQuery), {
        timeoutMs: 15_000,
        until: (steps) => steps.some((step) => step.status === 'waiting'),
      });
      await handle.executeUpdate(approvalUpdate, { args: [{ decision: 'approved', comment: 'recorded', by: 'fixture' }] });
    }
    if (name.endsWith('cancelled')) {
      // Shapes run one after another: the only call still unanswered is this run's draft.
      const inFlight = () => stack.simulator.requests().some((record) => record.provider === 'openai' && record.answeredAt === undefined);
      await waitFor('the draft call to be in flight', inFlight, 15_000);
      await handle.cancel();
    }
    await handle.result().catch(() => undefined);
    // The CLI's JSON export is the format operators get from `temporal workflow show` too.
    const history = execFileSync(process.env.CHORUS_TEST_TEMPORAL_CLI!, [
      'workflow',
      'show',
      '--workflow-id',
      handle.workflowId,
      '--address',
      stack.temporal.address,
      '--output',
      'json',
    ]);
    writeFileSync(join(HISTORY_FIXTURES_DIR, `${name}.json`), history);
  });
});
