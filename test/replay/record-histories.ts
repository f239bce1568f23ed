import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { PipelineRunInput } from '../../src/pipeline/types';
import { pipelineWorkflow } from '../../workflows';
import { approvalUpdate, progressQuery } from '../../workflows/definitions';
import { shippedPipeline, startTestStack, type TestStack } from '../helpers/stack';
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
      for (let tries = 0; tries < 100 && !(await handle.query(progressQuery)).some((step) => step.status === 'waiting'); tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await handle.executeUpdate(approvalUpdate, { args: [{ decision: 'approved', comment: 'recorded', by: 'fixture' }] });
    }
    if (name.endsWith('cancelled')) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await handle.cancel();
    }
    await handle.result().catch(() => undefined);
    // The CLI's JSON export is the format operators get from `temporal workflow show` too.
    const history = execFileSync(process.env.CHORUS_TEST_TEMPORAL_CLI!, [
      'workflow', 'show', '--workflow-id', handle.workflowId, '--address', stack.temporal.address, '--output', 'json',
    ]);
    writeFileSync(join(HISTORY_FIXTURES_DIR, `${name}.json`), history);
  });
});
