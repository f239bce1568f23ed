import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { INestApplication } from '@nestjs/common';
import { temporal } from '@temporalio/proto';
import type request from 'supertest';
import { FailureType } from '../../src/pipeline/failures';
import { projectRoot } from '../../src/project-root';
import { SECOND_API_KEY, startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { startTestStack, type TestStack } from '../helpers/stack';
// Named apart from this file's own waitFor, which long-polls one run's result.
import { waitFor as poll } from '../helpers/wait';

const auth = { 'x-api-key': TEST_API_KEY };

/** Idempotent starts, terminate, reset, rerun, batch and the replay command, over HTTP on the real stack. */
describe('bringing runs back', () => {
  let stack: TestStack;
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    stack = await startTestStack('run-admin', { latencyMs: 5 });
    ({ app, http } = await startApiApp(stack.temporal));
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });

  const start = (prompt: string, headers: Record<string, string> = {}) =>
    http
      .post('/v1/workflows')
      .set({ ...auth, ...headers })
      .send({ pipeline: 'classic', input: { prompt } });
  const waitFor = async (workflowId: string) => (await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=25`).set(auth).expect(200)).body;
  /** Visibility is eventually consistent: poll a listing until it holds what the test needs. */
  const listingPoll = { timeoutMs: 15_000, intervalMs: 250 };

  describe('Idempotency-Key', () => {
    it('returns the same run for a repeated request instead of starting another', async () => {
      const key = `order-${Date.now()}`;
      const first = await start('Idempotent job', { 'idempotency-key': key }).expect(202);
      const again = await start('Idempotent job', { 'idempotency-key': key }).expect(200);
      expect(again.body).toMatchObject({ workflowId: first.body.workflowId, runId: first.body.runId, idempotentReplay: true });
      await waitFor(first.body.workflowId);
      const afterCompletion = await start('Idempotent job', { 'idempotency-key': key }).expect(200);
      expect(afterCompletion.body).toMatchObject({ workflowId: first.body.workflowId, status: 'COMPLETED' });
    });

    it('returns the same run for a repeated request after the named pipeline’s file changed', async () => {
      const key = `edited-${Date.now()}`;
      const first = await start('Same request', { 'idempotency-key': key }).expect(202);
      const pipelinesDir = mkdtempSync(join(tmpdir(), 'chorus-pipelines-'));
      for (const file of readdirSync(join(projectRoot(), 'pipelines'))) copyFileSync(join(projectRoot(), 'pipelines', file), join(pipelinesDir, file));
      const classic = join(pipelinesDir, 'classic.yaml');
      writeFileSync(classic, readFileSync(classic, 'utf8').replace(/^description: .*$/m, 'description: Edited after the first request.'));
      const edited = await startApiApp(stack.temporal, { pipelinesDir });
      try {
        expect((await edited.http.get('/v1/pipelines/classic').set(auth).expect(200)).body.description).toBe('Edited after the first request.');
        const again = await edited.http
          .post('/v1/workflows')
          .set({ ...auth, 'idempotency-key': key })
          .send({ pipeline: 'classic', input: { prompt: 'Same request' } })
          .expect(200);
        expect(again.body).toMatchObject({ workflowId: first.body.workflowId, runId: first.body.runId, idempotentReplay: true });
      } finally {
        await edited.app.close();
        rmSync(pipelinesDir, { recursive: true, force: true });
      }
    });

    it('answers 409 when the same key comes with a different body', async () => {
      const key = `conflict-${Date.now()}`;
      await start('First body', { 'idempotency-key': key }).expect(202);
      const conflict = await start('Second body', { 'idempotency-key': key }).expect(409);
      expect(conflict.body.detail).toMatch(/different request body/);
    });

    it('scopes keys per API key', async () => {
      const key = `shared-${Date.now()}`;
      const mine = await start('Scoped', { 'idempotency-key': key }).expect(202);
      const theirs = await http
        .post('/v1/workflows')
        .set({ 'x-api-key': SECOND_API_KEY, 'idempotency-key': key })
        .send({ pipeline: 'classic', input: { prompt: 'Scoped' } })
        .expect(202);
      expect(theirs.body.workflowId).not.toBe(mine.body.workflowId);
    });

    it('rejects a malformed key with 400', async () => {
      const response = await start('x', { 'idempotency-key': 'has spaces in it' }).expect(400);
      expect(response.body.errors[0].field).toBe('Idempotency-Key');
    });
  });

  it('terminates a running run', async () => {
    const started = (await start('Forever [[sim:openai,latency=20000]]').expect(202)).body;
    await http
      .post(`/v1/workflows/${started.workflowId}/terminate`)
      .set(auth)
      .send({ reason: 'test' })
      .expect(200, { workflowId: started.workflowId, status: 'TERMINATED' });
    expect((await http.get(`/v1/workflows/${started.workflowId}`).set(auth).expect(200)).body.status).toBe('TERMINATED');
  });

  it('reset to before the failed step brings a failed run back under the same workflow ID', async () => {
    // Gemini refuses the key once; after the "fix", the reset run retries only the failed step.
    const started = (await start('Key rotated [[sim:gemini:401x1]]').expect(202)).body;
    const failed = await waitFor(started.workflowId);
    expect(failed).toMatchObject({ status: 'FAILED', error: { type: FailureType.ProviderAuthFailed, step: 'sentiment' } });
    // Not cleared: the simulator counts attempts per request, and the 401 was for the first one only.
    const before = stack.simulator.requests().length;

    const reset = await http.post(`/v1/workflows/${started.workflowId}/reset`).set(auth).send({}).expect(202);
    expect(reset.body).toMatchObject({ workflowId: started.workflowId, previousRunId: started.runId, resetTo: { point: 'failed-step' } });
    expect(reset.body.runId).not.toBe(started.runId);

    const done = await waitFor(started.workflowId);
    expect(done).toMatchObject({ status: 'COMPLETED', runId: reset.body.runId });
    // Draft and summary were kept from the failed run; only the sentiment step ran again.
    expect(
      stack.simulator
        .requests()
        .slice(before)
        .map((record) => record.provider),
    ).toEqual(['gemini']);
  });

  it('reset to failed-step of a run without a failed step is a 409 naming "to", and starts no run', async () => {
    const started = (await start('Nothing failed').expect(202)).body;
    await waitFor(started.workflowId);
    const refused = await http.post(`/v1/workflows/${started.workflowId}/reset`).set(auth).send({ to: 'failed-step' }).expect(409);
    expect(refused.body).toMatchObject({
      type: 'urn:chorus:problem:conflict',
      status: 409,
      errors: [{ field: 'to', reason: 'the run has no failed step to reset to; use first-workflow-task, last-workflow-task or event' }],
    });
    expect((await stack.client.workflow.getHandle(started.workflowId).describe()).runId).toBe(started.runId);
  });

  it('reset to the first workflow task runs the whole pipeline again; to an event, from that event', async () => {
    const started = (await start('Start over').expect(202)).body;
    await waitFor(started.workflowId);
    stack.simulator.clearRequests();
    const reset = await http
      .post(`/v1/workflows/${started.workflowId}/reset`)
      .set(auth)
      .send({ to: 'first-workflow-task', reason: 'prompt template fixed' })
      .expect(202);
    expect(reset.body.resetTo).toEqual({ point: 'first-workflow-task', eventId: expect.any(Number) });
    await waitFor(started.workflowId);
    expect(stack.simulator.requests().map((record) => record.provider)).toEqual(['openai', 'cohere', 'gemini']);

    // Event 1 is the run's start, not a completed workflow task: the run's history refuses it.
    const notATask = await http.post(`/v1/workflows/${started.workflowId}/reset`).set(auth).send({ to: 'event', eventId: 1 }).expect(409);
    expect(notATask.body).toMatchObject({
      type: 'urn:chorus:problem:conflict',
      errors: [{ field: 'eventId', reason: "the run's history has no WorkflowTaskCompleted event 1" }],
    });
    await http.post(`/v1/workflows/${started.workflowId}/reset`).set(auth).send({ to: 'event' }).expect(400);
    const events = (await stack.client.workflow.getHandle(started.workflowId).fetchHistory()).events ?? [];
    const secondTask = events.filter((event) => event.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[1];
    const toEvent = await http
      .post(`/v1/workflows/${started.workflowId}/reset`)
      .set(auth)
      .send({ to: 'event', eventId: Number(secondTask.eventId) })
      .expect(202);
    expect(toEvent.body.resetTo).toEqual({ point: 'event', eventId: Number(secondTask.eventId) });
    expect((await waitFor(started.workflowId)).status).toBe('COMPLETED');
  });

  it('rerun starts a fresh run with the same definition and input, linked to the original', async () => {
    const started = (await start('Run it again').expect(202)).body;
    const original = await waitFor(started.workflowId);
    const rerun = await http.post(`/v1/workflows/${started.workflowId}/rerun`).set(auth).expect(202);
    expect(rerun.body.workflowId).not.toBe(started.workflowId);
    expect(rerun.body.rerunOf).toEqual({ workflowId: started.workflowId, runId: started.runId });
    const done = await waitFor(rerun.body.workflowId);
    expect(done.rerunOf).toEqual({ workflowId: started.workflowId, runId: started.runId });
    expect(done.result.output.draft).toBe(original.result.output.draft);
    await http.post(`/v1/workflows/${started.workflowId}/rerun`).set(auth).expect(409);
  });

  it('batch: a dry run lists failed runs by pipeline and error type; the batch resets them', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const failedIds: string[] = [];
    for (const index of [1, 2]) {
      const started = (await start(`Batch ${index} ${Date.now()} [[sim:gemini:401x1]]`).expect(202)).body;
      expect((await waitFor(started.workflowId)).error.type).toBe(FailureType.ProviderAuthFailed);
      failedIds.push(started.workflowId);
    }
    const filter = { pipeline: 'classic', errorType: FailureType.ProviderAuthFailed, startedAfter: since };
    const dryRun = await poll(
      'the dry run to match both failed runs',
      async () =>
        (
          await http
            .post('/v1/batch/reset')
            .set(auth)
            .send({ ...filter, dryRun: true })
            .expect(200)
        ).body,
      { ...listingPoll, until: (body) => failedIds.every((id) => body.matched.some((run: { workflowId: string }) => run.workflowId === id)) },
    );
    expect(dryRun.dryRun).toBe(true);
    expect(dryRun.results).toBeUndefined();
    expect(dryRun.matched.map((run: { workflowId: string }) => run.workflowId).sort()).toEqual([...failedIds].sort());
    expect(dryRun.matched[0]).toMatchObject({ status: 'FAILED', errorType: FailureType.ProviderAuthFailed, pipeline: 'classic' });

    const batch = await http.post('/v1/batch/reset').set(auth).send(filter).expect(200);
    expect(batch.body.results.map((result: { outcome: string }) => result.outcome)).toEqual(['reset', 'reset']);
    for (const id of failedIds) expect((await waitFor(id)).status).toBe('COMPLETED');

    // The old failed runs still match the filter in visibility, but they are no longer current: skipped, not reset twice.
    const again = await http.post('/v1/batch/reset').set(auth).send(filter).expect(200);
    expect(again.body.results.every((result: { outcome: string }) => result.outcome === 'skipped')).toBe(true);
  });

  it('batch rerun reruns failed runs once', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const started = (await start(`Rerun batch ${Date.now()} [[sim:cohere:400]]`).expect(202)).body;
    expect((await waitFor(started.workflowId)).error.type).toBe(FailureType.ProviderRejectedRequest);
    const filter = { errorType: FailureType.ProviderRejectedRequest, startedAfter: since };
    await poll(
      'the dry run to match the failed run',
      async () =>
        (
          await http
            .post('/v1/batch/rerun')
            .set(auth)
            .send({ ...filter, dryRun: true })
            .expect(200)
        ).body,
      { ...listingPoll, until: (body) => body.matched.length === 1 },
    );
    const batch = await http.post('/v1/batch/rerun').set(auth).send(filter).expect(200);
    expect(batch.body.results).toEqual([
      expect.objectContaining({ workflowId: started.workflowId, outcome: 'rerun', newWorkflowId: expect.stringContaining('-rerun-') }),
    ]);
    const again = await http.post('/v1/batch/rerun').set(auth).send(filter).expect(200);
    expect(again.body.results[0].outcome).toBe('skipped');
  });

  it('batch reset and rerun with no body, an empty one or no filter answer 400 naming "all", and touch no run', async () => {
    const failed = (await start(`Not for an empty batch ${Date.now()} [[sim:cohere:400]]`).expect(202)).body;
    expect((await waitFor(failed.workflowId)).status).toBe('FAILED');
    for (const action of ['reset', 'rerun']) {
      for (const body of [undefined, {}, { dryRun: false, limit: 5 }]) {
        const request = http.post(`/v1/batch/${action}`).set(auth);
        const response = await (body === undefined ? request : request.send(body)).expect(400);
        const reason = expect.stringMatching(/^give a filter \(pipeline, errorType, startedAfter, startedBefore\) or "all": true/);
        expect(response.body.errors).toEqual([{ field: 'all', reason }]);
      }
    }
    // Neither batch reran or reset it: it is still the current, failed run, and a first rerun of it is accepted.
    expect((await http.get(`/v1/workflows/${failed.workflowId}`).set(auth).expect(200)).body).toMatchObject({ runId: failed.runId, status: 'FAILED' });
    await http.post(`/v1/workflows/${failed.workflowId}/rerun`).set(auth).expect(202);
  });

  it('batch with "all": true selects every failed run of the tenant; "all" with a filter is a 400', async () => {
    const failed = (await start(`Every failed run ${Date.now()} [[sim:cohere:400]]`).expect(202)).body;
    expect((await waitFor(failed.workflowId)).status).toBe('FAILED');
    const listed = await poll(
      'the dry run with all: true to list the failed run',
      async () => (await http.post('/v1/batch/rerun').set(auth).send({ all: true, dryRun: true }).expect(200)).body,
      { ...listingPoll, until: (body) => body.matched.some((run: { workflowId: string }) => run.workflowId === failed.workflowId) },
    );
    expect(listed.matched.every((run: { status: string }) => run.status === 'FAILED')).toBe(true);
    const mixed = await http.post('/v1/batch/reset').set(auth).send({ all: true, pipeline: 'classic' }).expect(400);
    expect(mixed.body.errors).toEqual([{ field: 'all', reason: 'all: true cannot be combined with a filter' }]);
  });

  it.each([
    [{ startedAfter: 'yesterday' }, 'startedAfter'],
    [{ errorType: "x' OR 1=1" }, 'errorType'],
    [{ limit: 1000 }, 'limit'],
    [{ to: 'event' }, 'to'],
  ])('batch rejects %j with 400 on %s', async (body, field) => {
    const response = await http.post('/v1/batch/reset').set(auth).send(body).expect(400);
    expect(response.body.errors.map((problem: { field: string }) => problem.field)).toContain(field);
  });

  it('404 for resetting, rerunning or terminating an unknown run', async () => {
    for (const action of ['reset', 'rerun', 'terminate']) await http.post(`/v1/workflows/nope-${action}/${action}`).set(auth).send({}).expect(404);
  });

  it('npm run replay replays a run from the server, and reports non-determinism in a tampered history', async () => {
    const started = (await start('Replay me').expect(202)).body;
    await waitFor(started.workflowId);
    const replay = (args: string[]) =>
      promisify(execFile)(process.execPath, [join(projectRoot(), 'dist', 'tools', 'replay.js'), ...args], {
        env: { ...process.env, TEMPORAL_ADDRESS: stack.temporal.address },
      });
    const ok = await replay(['--workflow-id', started.workflowId]);
    expect(ok.stdout).toMatch(new RegExp(`OK: ${started.workflowId} replays`));

    const exported = await promisify(execFile)(process.env.CHORUS_TEST_TEMPORAL_CLI!, [
      'workflow',
      'show',
      '--workflow-id',
      started.workflowId,
      '--address',
      stack.temporal.address,
      '--output',
      'json',
    ]);
    const history = JSON.parse(exported.stdout);
    const scheduled = history.events.find((event: Record<string, unknown>) => event.activityTaskScheduledEventAttributes);
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'notCallProvider';
    const file = join(require('node:os').tmpdir(), `tampered-${started.workflowId}.json`);
    writeFileSync(file, JSON.stringify(history));
    const failure = await replay(['--file', file]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringMatching(/NON-DETERMINISTIC.*\n.*Nondeterminism error/) });
  });
});
