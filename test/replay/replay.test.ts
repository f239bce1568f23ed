import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../helpers/stack';
import { HISTORY_FIXTURES_DIR, RECORDED_SHAPES } from './fixtures';

/**
 * Replays recorded histories of every pipeline shape against the current workflow code: a change
 * that would break workflows already running in production fails here.
 */
describe('workflow replay', () => {
  const fixtures = readdirSync(HISTORY_FIXTURES_DIR).filter((file) => file.endsWith('.json'));

  it('has a fixture for each recorded shape', () => {
    expect(fixtures).toEqual(expect.arrayContaining(Object.keys(RECORDED_SHAPES).map((name) => `${name}.json`)));
  });

  it('replays every fixture without non-determinism', async () => {
    const histories = fixtures.map((file) => ({
      workflowId: file.replace(/\.json$/, ''),
      // Exported JSON as it is: the SDK's replay converts it with its own (internal) converter.
      history: JSON.parse(readFileSync(join(HISTORY_FIXTURES_DIR, file), 'utf8')) as unknown,
    }));
    const outcomes: { workflowId: string; error?: unknown }[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      outcomes.push({ workflowId: result.workflowId, error: result.error });
    }
    expect(outcomes.map(({ workflowId }) => workflowId).sort()).toEqual(histories.map(({ workflowId }) => workflowId).sort());
    expect(outcomes.filter(({ error }) => error !== undefined)).toEqual([]);
  });
});
