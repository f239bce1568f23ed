import { randomUUID } from 'node:crypto';
import type { ExecutionMode, PipelineDefinition, PipelineRunInput, ProviderStep } from '../../src/pipeline/types';
import { pipelineWorkflow } from '../../workflows';
import { startWorkerProcess, waitFor, WORKER_ENTRY } from '../helpers/reliability';
import { reliabilitySuite } from '../helpers/reliability-suite';
import { shippedPipeline } from '../helpers/stack';

const PIPELINES = 4;

/**
 * What a worker crash costs in each execution mode, counted at the provider: a worker process is
 * killed (SIGKILL) while every run's second step (the Cohere summary) is in flight, a new worker
 * finishes every run, and the simulator's requests say which calls were made again.
 *
 * remote: each completed step was recorded as it ended, so only the summary in flight is repeated.
 * local: the draft's result was still waiting for its workflow task to complete (sequential local
 * steps share one), so the new worker replays the run and repeats the draft and the summary.
 */
describe.each<{ execution: ExecutionMode; repeatedDrafts: number }>([
  { execution: 'remote', repeatedDrafts: 0 },
  { execution: 'local', repeatedDrafts: PIPELINES },
])('worker crash mid-pipeline, $execution execution', ({ execution, repeatedDrafts }) => {
  const suite = reliabilitySuite(`worker-crash-${execution}`, { entries: [WORKER_ENTRY], simulator: { latencyMs: 5 } });
  const { pool, temporal } = suite;

  it('completes every run; the provider calls made again are exactly those the mode leaves unrecorded', async () => {
    const classic = shippedPipeline('classic');
    // Heartbeats every ~0.7 s (remote): a dead worker's attempt is retried ~2 s after the kill.
    const pipeline: PipelineDefinition = {
      ...classic,
      execution,
      steps: classic.steps.map((step) => ({ ...(step as ProviderStep), timeout: { ...(step as ProviderStep).timeout, heartbeat: '2s' } })),
    };
    const env = suite.workerEnv(suite.simulator.url);
    const first = await startWorkerProcess(pool, `worker-${execution}-1`, env);
    const client = suite.client();
    const handles = await Promise.all(
      Array.from({ length: PIPELINES }, (_, index) =>
        client.workflow.start(pipelineWorkflow, {
          workflowId: `crash-${execution}-${index}-${randomUUID()}`,
          taskQueue: temporal.taskQueue,
          args: [{ pipeline, input: { prompt: `Crash-proof job ${index} [[sim:cohere,latency=4000]]` } } satisfies PipelineRunInput],
        }),
      ),
    );
    const callsTo = (provider: string) => suite.simulator.requests().filter((record) => record.provider === provider).length;
    await waitFor(`${PIPELINES} summaries in flight`, () => callsTo('cohere') >= PIPELINES, { timeoutMs: 30_000 });
    expect(callsTo('openai')).toBe(PIPELINES);
    first.process.child.kill('SIGKILL');
    expect(await first.process.exited).toBe('SIGKILL');

    await startWorkerProcess(pool, `worker-${execution}-2`, env);
    const results = await Promise.all(handles.map((handle) => handle.result()));

    for (const [index, result] of results.entries()) {
      expect(result.output.draft).toContain(`Crash-proof job ${index}`);
      expect(result.output.sentiment).toBeDefined();
    }
    const repeated = { openai: callsTo('openai') - PIPELINES, cohere: callsTo('cohere') - PIPELINES, gemini: callsTo('gemini') - PIPELINES };
    console.log(`worker crash (${execution}): ${PIPELINES} runs completed; provider calls made again: ${JSON.stringify(repeated)}`);
    expect(repeated).toEqual({ openai: repeatedDrafts, cohere: PIPELINES, gemini: 0 });
    // Local: the dead worker's workflow task must time out (10 s) before another worker replays the run.
  }, 150_000);
});
