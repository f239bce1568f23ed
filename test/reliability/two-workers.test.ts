import type { Client } from '@temporalio/client';
import type { ExecutionMode, StepResult } from '../../src/pipeline/types';
import { auditRuns, describeAudit, EXECUTION_MODES, startPipelineRuns, startWorkerProcess, tunedPipeline, waitFor, WORKER_ENTRY } from '../helpers/reliability';
import { reliabilitySuite } from '../helpers/reliability-suite';

/** Local: fewer runs, since each held by the killed worker waits out its workflow task's 10 s timeout; the count is not the point. */
const RUNS: Record<ExecutionMode, number> = { remote: 40, local: 20 };

const countBy = <T>(items: T[], key: (item: T) => string) =>
  items.reduce<Record<string, number>>((counts, item) => ({ ...counts, [key(item)]: (counts[key(item)] ?? 0) + 1 }), {});

/**
 * The worker running each call in flight, by identity. Remote: the run's pending activities. Local:
 * the run's open workflow task (started, not closed), in whose worker its local calls run; the
 * server lists no pending activity for them.
 */
async function callsInFlightByWorker(client: Client, ids: string[], execution: ExecutionMode): Promise<string[]> {
  if (execution === 'remote') {
    const pending = await Promise.all(ids.map(async (id) => (await client.workflow.getHandle(id).describe()).raw.pendingActivities ?? []));
    return pending.flat().flatMap((activity) => (activity.lastWorkerIdentity ? [activity.lastWorkerIdentity] : []));
  }
  const holders = await Promise.all(
    ids.map(async (id) => {
      let holder: string | undefined;
      for (const event of (await client.workflow.getHandle(id).fetchHistory()).events ?? []) {
        if (event.workflowTaskStartedEventAttributes) holder = event.workflowTaskStartedEventAttributes.identity ?? '?';
        if (event.workflowTaskCompletedEventAttributes || event.workflowTaskFailedEventAttributes || event.workflowTaskTimedOutEventAttributes)
          holder = undefined;
      }
      return holder;
    }),
  );
  return holders.filter((holder) => holder !== undefined);
}

/**
 * Two worker processes share a task queue; one is killed with SIGKILL mid-run and the other finishes
 * every run. Remote: the survivor retries the killed worker's activities once their heartbeats time
 * out. Local: it replays each run whose workflow task the killed worker held (after that task's 10 s
 * timeout) and makes its draft again: those drafts are paid twice, no other.
 */
describe.each(EXECUTION_MODES)('two workers, one killed, %s execution', (execution) => {
  const PIPELINES = RUNS[execution];
  const suite = reliabilitySuite(`two-workers-${execution}`, { entries: [WORKER_ENTRY], simulator: { latencyMs: 5 } });
  const { pool, temporal } = suite;

  it('the surviving worker completes all runs, including the attempts the killed worker had in flight', async () => {
    const env = suite.workerEnv(suite.simulator.url);
    const [victim, survivor] = await Promise.all([startWorkerProcess(pool, 'worker-a', env), startWorkerProcess(pool, 'worker-b', env)]);
    const name = (identity: string) => (identity === victim.identity ? 'killed' : identity === survivor.identity ? 'survivor' : identity);

    const pipeline = tunedPipeline('classic', { execution, timeout: { heartbeat: '2s' }, retry: { initialInterval: '500ms' } });
    const client = suite.client();
    const ids = await startPipelineRuns(client, temporal.taskQueue, {
      prefix: `two-workers-${execution}`,
      count: PIPELINES,
      pipeline,
      prompt: (index) => `Shared job ${index} [[sim:openai,latency=3000]]`,
    });

    // Proof both were working: the provider calls in flight just before the kill, by the worker running them.
    const inFlightByWorker = async () => countBy(await callsInFlightByWorker(client, ids, execution), name);
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
    // A replayed local call starts again at attempt 1: the provider's requests count what was made twice.
    const draftRequests = countBy(
      suite.simulator.requests().filter((record) => record.provider === 'openai'),
      (record) => record.fingerprint,
    );
    const draftsMadeAgain = Object.values(draftRequests).filter((count) => count > 1).length;
    console.log(
      describeAudit(`two workers, one killed (${execution})`, audit, {
        'calls in flight at kill': inFlightAtKill,
        'work before kill': tally(before),
        'work after kill': tally(after),
        'drafts retried': retriedDrafts,
        'drafts made again': draftsMadeAgain,
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
    // After the kill, only the survivor did anything.
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((event) => event.identity !== survivor.identity)).toEqual([]);
    expect(Object.keys(draftRequests)).toHaveLength(PIPELINES);
    if (execution === 'remote') {
      // Both workers completed workflow tasks before the kill (a local run's first one stays open through its draft).
      expect(before.some((event) => event.identity === victim.identity && event.kind === 'workflowTask')).toBe(true);
      expect(before.some((event) => event.identity === survivor.identity && event.kind === 'workflowTask')).toBe(true);
      // Every call the killed worker had in flight was retried by the survivor.
      expect(retriedDrafts).toBeGreaterThanOrEqual(inFlightAtKill.killed);
    } else {
      // Every draft the killed worker had in flight was made again by the survivor, once; the
      // survivor's own were not: the answered-calls rule holds within a worker.
      expect(draftsMadeAgain).toBeGreaterThanOrEqual(inFlightAtKill.killed);
      expect(draftsMadeAgain).toBeLessThanOrEqual(PIPELINES - inFlightAtKill.survivor);
      expect(Object.values(draftRequests).filter((count) => count > 2)).toEqual([]);
    }
  }, 150_000);
});
