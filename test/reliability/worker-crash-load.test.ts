import type { StepResult } from '../../src/pipeline/types';
import { auditRuns, describeAudit, startPipelineRuns, startWorkerProcess, tunedPipeline, waitFor, WORKER_ENTRY } from '../helpers/reliability';
import { reliabilitySuite } from '../helpers/reliability-suite';

const PIPELINES = 100;

/** A worker process with 100 pipelines in flight is killed with SIGKILL; a new worker process finishes every run exactly once. */
// Remote only, for the suite's time: worker-crash-modes proves a local worker crash (4 runs, every repeated call counted).
describe('worker crash under load', () => {
  const suite = reliabilitySuite('worker-crash-load', { entries: [WORKER_ENTRY], simulator: { latencyMs: 5 } });
  const { pool, temporal } = suite;

  const workerEnv = () => suite.workerEnv(suite.simulator.url);

  it(`completes all ${PIPELINES} pipelines exactly once after the worker running them is killed`, async () => {
    // Heartbeats every ~0.7 s: a dead worker's attempts time out ~2 s after the kill and are retried 0.5 s later.
    const pipeline = tunedPipeline('classic', { timeout: { heartbeat: '2s' }, retry: { initialInterval: '500ms' } });
    const client = suite.client();
    const first = await startWorkerProcess(pool, 'worker-1', workerEnv());

    const ids = await startPipelineRuns(client, temporal.taskQueue, {
      prefix: 'crash-load',
      count: PIPELINES,
      pipeline,
      prompt: (index) => `Crash-proof job ${index} [[sim:openai:hangx1]]`,
    });

    // Each draft's first attempt gets no answer, so every one is in flight when the worker dies, however
    // slowly a loaded machine starts them (a fixed latency let most answer first); retries answer at once.
    const drafts = () => suite.simulator.requests().filter((record) => record.provider === 'openai');
    await waitFor(`${PIPELINES} drafts to reach the simulator`, () => drafts().length >= PIPELINES, 30_000);
    const inFlightAtKill = drafts().filter((record) => record.answeredAt === undefined).length;
    const killedAt = Date.now();
    first.process.child.kill('SIGKILL');
    expect(await first.process.exited).toBe('SIGKILL');

    const second = await startWorkerProcess(pool, 'worker-2', workerEnv());
    const audit = await auditRuns(client, ids, Date.now() + 60_000);
    const recoveredMs = Math.max(...suite.simulator.requests().map((record) => record.answeredAt ?? 0)) - killedAt;

    const requests = suite.simulator.requests();
    const completed = [...audit.outcomes.values()].flatMap((outcome) => (outcome.status === 'completed' ? [outcome.result] : []));
    const retriedDrafts = completed.filter((result) => (result.steps.draft as StepResult).attempt >= 2).length;
    const byProvider = (provider: string) => requests.filter((record) => record.provider === provider).length;
    console.log(
      describeAudit('worker crash under load', audit, {
        'drafts in flight at kill': inFlightAtKill,
        'provider calls': `openai=${byProvider('openai')} cohere=${byProvider('cohere')} gemini=${byProvider('gemini')}`,
        'drafts retried': retriedDrafts,
        'activity attempts': audit.attempts,
        'new worker ready ms': second.readyMs,
        'kill to last answer ms': recoveredMs,
      }),
    );

    expect(audit.lost).toEqual([]);
    expect(audit.duplicates).toEqual([]);
    expect(audit.completed).toBe(PIPELINES);
    for (const [index, id] of ids.entries()) {
      const outcome = audit.outcomes.get(id)!;
      if (outcome.status !== 'completed') throw new Error(`${id} ended ${outcome.status}`);
      expect(outcome.result.output.draft).toContain(`Crash-proof job ${index}`);
      expect(outcome.result.output.sentiment).toBeDefined();
    }
    // Every draft was in flight when the worker died, and was retried by the new worker.
    expect(inFlightAtKill).toBe(PIPELINES);
    expect(retriedDrafts).toBe(PIPELINES);
    // No answer was paid twice: each draft reached the provider exactly twice (the attempt the kill cut,
    // and the one that answered), each later step once. On a loaded machine Temporal may start a draft a
    // third time when it missed the answering attempt's completion; that attempt takes the answer the
    // worker already has (activities/answered-calls.ts), so attempts may exceed requests, never the reverse.
    const draftRequests = new Map<string, number>();
    for (const record of requests) if (record.provider === 'openai') draftRequests.set(record.fingerprint, (draftRequests.get(record.fingerprint) ?? 0) + 1);
    expect(draftRequests.size).toBe(PIPELINES);
    expect([...draftRequests.values()].filter((count) => count !== 2)).toEqual([]);
    const attemptsOf = (step: string) => completed.reduce((sum, result) => sum + (result.steps[step] as StepResult).attempt, 0);
    expect(attemptsOf('draft')).toBeGreaterThanOrEqual(byProvider('openai'));
    expect(byProvider('cohere')).toBe(PIPELINES);
    expect(byProvider('gemini')).toBe(PIPELINES);
    expect(requests.length).toBeLessThanOrEqual(audit.attempts);
  }, 150_000);
});
