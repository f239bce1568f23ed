import type { StepResult } from '../../src/pipeline/types';
import { auditRuns, describeAudit, startPipelineRuns, startWorkerProcess, tunedPipeline, waitFor, WORKER_ENTRY } from '../helpers/reliability';
import { reliabilitySuite } from '../helpers/reliability-suite';

const PIPELINES = 40;

const countBy = <T>(items: T[], key: (item: T) => string) =>
  items.reduce<Record<string, number>>((counts, item) => ({ ...counts, [key(item)]: (counts[key(item)] ?? 0) + 1 }), {});

/** Two worker processes share a task queue; one is killed with SIGKILL mid-run and the other finishes every run. */
describe('two workers, one killed', () => {
  const suite = reliabilitySuite('two-workers', { entries: [WORKER_ENTRY], simulator: { latencyMs: 5 } });
  const { pool, temporal } = suite;

  it('the surviving worker completes all runs, including the attempts the killed worker had in flight', async () => {
    const env = suite.workerEnv(suite.simulator.url);
    const [victim, survivor] = await Promise.all([startWorkerProcess(pool, 'worker-a', env), startWorkerProcess(pool, 'worker-b', env)]);
    const name = (identity: string) => (identity === victim.identity ? 'killed' : identity === survivor.identity ? 'survivor' : identity);

    const pipeline = tunedPipeline('classic', { timeout: { heartbeat: '2s' }, retry: { initialInterval: '500ms' } });
    const client = suite.client();
    const ids = await startPipelineRuns(client, temporal.taskQueue, {
      prefix: 'two-workers',
      count: PIPELINES,
      pipeline,
      prompt: (index) => `Shared job ${index} [[sim:openai,latency=3000]]`,
    });

    // Proof both were working: the provider calls in flight just before the kill, by the worker running them.
    const inFlightByWorker = async () => {
      const pending = await Promise.all(ids.map(async (id) => (await client.workflow.getHandle(id).describe()).raw.pendingActivities ?? []));
      return countBy(
        pending.flat().filter((activity) => activity.lastWorkerIdentity),
        (activity) => name(activity.lastWorkerIdentity!),
      );
    };
    await waitFor(
      `${PIPELINES} drafts to reach the simulator`,
      () => suite.simulator.requests().filter((record) => record.provider === 'openai').length >= PIPELINES,
      30_000,
    );
    let inFlightAtKill: Record<string, number> = {};
    await waitFor(
      'both workers to run provider calls',
      async () => {
        inFlightAtKill = await inFlightByWorker();
        return (inFlightAtKill.killed ?? 0) > 0 && (inFlightAtKill.survivor ?? 0) > 0;
      },
      10_000,
      50,
    );
    const killedAt = Date.now();
    victim.process.child.kill('SIGKILL');
    expect(await victim.process.exited).toBe('SIGKILL');

    const audit = await auditRuns(client, ids, Date.now() + 60_000);
    const before = audit.workerEvents.filter((event) => event.at < killedAt);
    const after = audit.workerEvents.filter((event) => event.at >= killedAt);
    const tally = (events: typeof before) =>
      countBy(events, (event) => `${name(event.identity)} ${event.kind === 'activity' ? 'activities' : 'workflow tasks'}`);
    const completed = [...audit.outcomes.values()].flatMap((outcome) => (outcome.status === 'completed' ? [outcome.result] : []));
    const retriedDrafts = completed.filter((result) => (result.steps.draft as StepResult).attempt >= 2).length;
    console.log(
      describeAudit('two workers, one killed', audit, {
        'calls in flight at kill': inFlightAtKill,
        'work before kill': tally(before),
        'work after kill': tally(after),
        'drafts retried': retriedDrafts,
      }),
    );

    expect(audit.lost).toEqual([]);
    expect(audit.duplicates).toEqual([]);
    expect(audit.completed).toBe(PIPELINES);
    for (const [index, id] of ids.entries()) {
      const outcome = audit.outcomes.get(id)!;
      if (outcome.status !== 'completed') throw new Error(`${id} ended ${outcome.status}`);
      expect(outcome.result.output.draft).toContain(`Shared job ${index}`);
    }
    // Both workers completed workflow tasks before the kill; after it, only the survivor did anything.
    expect(before.some((event) => event.identity === victim.identity && event.kind === 'workflowTask')).toBe(true);
    expect(before.some((event) => event.identity === survivor.identity && event.kind === 'workflowTask')).toBe(true);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((event) => event.identity !== survivor.identity)).toEqual([]);
    // Every call the killed worker had in flight was retried by the survivor.
    expect(retriedDrafts).toBeGreaterThanOrEqual(inFlightAtKill.killed);
  }, 150_000);
});
