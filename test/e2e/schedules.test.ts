import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type request from 'supertest';
import { keyEntry, READ_ONLY_KEY, SECOND_API_KEY, startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { startTestStack, type TestStack } from '../helpers/stack';
import { sleep, waitFor } from '../helpers/wait';

const acme = { 'x-api-key': TEST_API_KEY };
const globex = { 'x-api-key': SECOND_API_KEY };

/** Schedules (Temporal Schedules behind /v1/schedules), over HTTP on the real stack. */
describe('schedules', () => {
  let stack: TestStack;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  const created: Array<{ id: string; headers: Record<string, string> }> = [];

  beforeAll(async () => {
    stack = await startTestStack('schedules', { latencyMs: 5 });
    ({ app, http } = await startApiApp(stack.temporal));
  });
  afterAll(async () => {
    // Schedules outlive the test otherwise; delete whatever a failed test left.
    for (const { id, headers } of created) await http?.delete(`/v1/schedules/${id}`).set(headers);
    await app?.close();
    await stack?.close();
  });

  const uniqueId = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
  const create = async (body: Record<string, unknown>, status: number, headers = acme) => {
    const response = await http.post('/v1/schedules').set(headers).send(body);
    if (response.status === 201) created.push({ id: response.body.id, headers });
    expect({ status: response.status, body: response.body }).toMatchObject({ status });
    return response;
  };
  const classicEvery = (every: string, extra: Record<string, unknown> = {}) => ({
    id: uniqueId('sched'),
    pipeline: 'classic',
    input: { prompt: 'Scheduled job' },
    every,
    ...extra,
  });
  const describeAs = (id: string, headers = acme) => http.get(`/v1/schedules/${id}`).set(headers);
  /** Schedules act and list asynchronously: poll until the read holds what the test needs. */
  const schedulePoll = { timeoutMs: 20_000, intervalMs: 250 };

  it('creates a schedule that starts runs of the pipeline on its interval, visible to the tenant', async () => {
    const body = classicEvery('2s');
    const response = await create(body, 201);
    expect(response.body).toMatchObject({ id: body.id, pipeline: 'classic', every: '2s', paused: false, input: { prompt: 'Scheduled job' }, recentRuns: [] });
    expect(response.body.nextRunTimes.length).toBeGreaterThan(0);

    const withRun = await waitFor('the schedule to start a run', async () => (await describeAs(body.id).expect(200)).body, {
      ...schedulePoll,
      until: (schedule) => schedule.recentRuns.length > 0,
    });
    const [run] = withRun.recentRuns;
    expect(run.workflowId).toMatch(new RegExp(`^${body.id}-`));
    const result = (await http.get(`/v1/workflows/${run.workflowId}/result?waitSeconds=25`).set(acme).expect(200)).body;
    expect(result).toMatchObject({ pipeline: 'classic', status: 'COMPLETED' });
    expect(result.result.output.summary).toEqual(expect.any(String));
    // Another tenant cannot see the run the schedule started.
    await http.get(`/v1/workflows/${run.workflowId}`).set(globex).expect(404);
  });

  it('trigger starts a run at once, even when paused; pause stops scheduled runs and resume restarts them', async () => {
    const body = classicEvery('2s', { paused: true, note: 'created paused' });
    const response = await create(body, 201);
    expect(response.body).toMatchObject({ paused: true, note: 'created paused' });

    // Time passing is the point: a paused 2 s schedule starts nothing in 2.5 s.
    await sleep(2500);
    expect((await describeAs(body.id).expect(200)).body.runsStarted).toBe(0);

    await http.post(`/v1/schedules/${body.id}/trigger`).set(acme).expect(202, { id: body.id, triggered: true });
    const triggered = await waitFor('the trigger to start one run', async () => (await describeAs(body.id).expect(200)).body, {
      ...schedulePoll,
      until: (schedule) => schedule.recentRuns.length === 1,
    });
    expect(triggered.paused).toBe(true);
    await http.get(`/v1/workflows/${triggered.recentRuns[0].workflowId}/result?waitSeconds=25`).set(acme).expect(200);

    const resumed = await http.post(`/v1/schedules/${body.id}/resume`).set(acme).send({ note: 'back on' }).expect(200);
    expect(resumed.body).toMatchObject({ paused: false, note: 'back on' });
    const running = await waitFor('the resumed schedule to start a second run', async () => (await describeAs(body.id).expect(200)).body, {
      ...schedulePoll,
      until: (schedule) => schedule.runsStarted >= 2,
    });
    expect(running.runsStarted).toBeGreaterThanOrEqual(2);

    const paused = await http.post(`/v1/schedules/${body.id}/pause`).set(acme).send({}).expect(200);
    expect(paused.body.paused).toBe(true);
    const countWhenPaused = (await describeAs(body.id).expect(200)).body.runsStarted;
    // Time passing is the point: a paused 2 s schedule starts nothing in 4.5 s (two intervals and more).
    await sleep(4500);
    expect((await describeAs(body.id).expect(200)).body.runsStarted).toBe(countWhenPaused);
  });

  it('accepts a cron expression with a time zone', async () => {
    const body = {
      id: uniqueId('cron'),
      pipeline: 'classic',
      input: { prompt: 'Weekday news' },
      cron: '0 7 * * MON-FRI',
      timezone: 'Europe/Berlin',
      paused: true,
    };
    const response = await create(body, 201);
    expect(response.body).toMatchObject({ id: body.id, cron: '0 7 * * MON-FRI', timezone: 'Europe/Berlin', paused: true });
    // 07:00 in Berlin is 05:00 or 06:00 UTC, on a weekday.
    const next = new Date(response.body.nextRunTimes[0]);
    expect([5, 6]).toContain(next.getUTCHours());
    expect([1, 2, 3, 4, 5]).toContain(next.getUTCDay());
  });

  // What our own checks accept, Temporal must accept too: otherwise a valid-looking spec would be a 400 from Temporal.
  it.each([
    [{ cron: '@daily' }],
    [{ cron: '*/15 9-17 * JAN,jul 1-5' }],
    [{ cron: '0 0 1 * 7' }],
    [{ cron: '30 2 * * SUN', timezone: 'America/New_York' }],
    [{ every: '1d' }],
    [{ every: '90s' }],
  ])('Temporal accepts %j', async (spec) => {
    const response = await create({ id: uniqueId('spec'), pipeline: 'classic', input: { prompt: 'x' }, paused: true, ...spec }, 201);
    expect(response.body).toMatchObject(spec);
    expect(response.body.nextRunTimes.length).toBeGreaterThan(0);
  });

  it("lists only the caller tenant's schedules, and another tenant's schedule is a 404 exactly like an unknown one", async () => {
    const mine = classicEvery('1h', { paused: true });
    await create(mine, 201);
    const theirs = classicEvery('1h', { paused: true });
    await create(theirs, 201, globex);

    const listed = await waitFor(
      'the schedule to be listed',
      async () => (await http.get('/v1/schedules').set(acme).expect(200)).body.schedules as Array<{ id: string }>,
      {
        ...schedulePoll,
        until: (schedules) => schedules.some((schedule) => schedule.id === mine.id),
      },
    );
    expect(listed.map((schedule) => schedule.id)).toContain(mine.id);
    expect(listed.map((schedule) => schedule.id)).not.toContain(theirs.id);
    const theirList = await waitFor(
      "the other tenant's schedule to be listed",
      async () => (await http.get('/v1/schedules').set(globex).expect(200)).body.schedules as Array<{ id: string }>,
      {
        ...schedulePoll,
        until: (schedules) => schedules.some((schedule) => schedule.id === theirs.id),
      },
    );
    expect(theirList.map((schedule) => schedule.id)).not.toContain(mine.id);

    const unknown = await describeAs('no-such-schedule', globex).expect(404);
    for (const [method, path] of [
      ['get', `/v1/schedules/${mine.id}`],
      ['post', `/v1/schedules/${mine.id}/pause`],
      ['post', `/v1/schedules/${mine.id}/resume`],
      ['post', `/v1/schedules/${mine.id}/trigger`],
      ['delete', `/v1/schedules/${mine.id}`],
    ] as const) {
      const response = await http[method](path).set(globex).expect(404);
      // The same problem, only `instance` names the path asked for.
      expect(response.body).toEqual({ ...unknown.body, instance: path });
    }
    // Nothing happened to it, and the same ID in another tenant is another schedule.
    expect((await describeAs(mine.id).expect(200)).body).toMatchObject({ paused: true, runsStarted: 0 });
    await create({ ...mine }, 201, globex);
  });

  it('deletes a schedule', async () => {
    const body = classicEvery('1h');
    await create(body, 201);
    await http.delete(`/v1/schedules/${body.id}`).set(acme).expect(204);
    await waitFor('the deleted schedule to answer 404', async () => (await describeAs(body.id)).status, { ...schedulePoll, until: (status) => status === 404 });
    await describeAs(body.id).expect(404);
    await http.delete(`/v1/schedules/${body.id}`).set(acme).expect(404);
  });

  it('caps the schedules a tenant may have (CHORUS_MAX_SCHEDULES_PER_TENANT)', async () => {
    // A tenant of its own, so no other schedule counts.
    const tenant = `capped-${randomUUID().slice(0, 8)}`;
    const key = 'chorus_capped-tenant-key-0123456789';
    const { app: cappedApp, http: capped } = await startApiApp(stack.temporal, {
      maxSchedulesPerTenant: 1,
      auth: { apiKeys: [keyEntry('capped', key, tenant)] },
    });
    const mine: string[] = [];
    const own = { 'x-api-key': key };
    try {
      const first = await capped
        .post('/v1/schedules')
        .set(own)
        .send(classicEvery('1h', { paused: true }))
        .expect(201);
      mine.push(first.body.id);
      await waitFor('the first schedule to be listed', async () => (await capped.get('/v1/schedules').set(own).expect(200)).body.schedules.length as number, {
        ...schedulePoll,
        until: (count) => count >= 1,
      });
      const refused = await capped
        .post('/v1/schedules')
        .set(own)
        .send(classicEvery('1h', { paused: true }))
        .expect(409);
      expect(refused.body.detail).toMatch(/already has 1 schedules, the limit/);
    } finally {
      for (const id of mine) await capped.delete(`/v1/schedules/${id}`).set(own);
      await cappedApp.close();
    }
  });

  it('answers 409 for an ID in use', async () => {
    const body = classicEvery('1h', { paused: true });
    await create(body, 201);
    const conflict = await create(body, 409);
    expect(conflict.body.detail).toMatch(/already exists/);
  });

  it.each([
    ['a bad cron expression', { cron: '61 * * * *' }, 'cron', /minute "61" must be 0-59/],
    ['a cron with too few fields', { cron: '* * *' }, 'cron', /5 fields/],
    ['neither cron nor every', {}, 'cron', /cron/],
    ['both cron and every', { cron: '@daily', every: '1h' }, 'every', /either cron or every/],
    ['a bad interval', { every: '5 minutes' }, 'every', /30s or 1h/],
    ['a bad time zone', { cron: '@daily', timezone: 'Mars/Olympus' }, 'timezone', /IANA/],
    ['an unknown pipeline', { every: '1h', pipeline: 'no-such-pipeline' }, 'pipeline', /unknown pipeline "no-such-pipeline"/],
    ['a missing input field', { every: '1h', input: {} }, 'input.prompt', /required by pipeline "classic"/],
    ['an input that is not an object', { every: '1h', input: 'text' }, 'input', /JSON object/],
    ['a bad ID', { every: '1h', id: 'has spaces' }, 'id', /letters, digits/],
    ['an unknown field', { every: '1h', color: 'blue' }, 'color', /should not exist/],
  ])('answers 400 naming the field for %s, and creates nothing', async (_name, fields, field, reason) => {
    const id = uniqueId('bad');
    const response = await create({ id, pipeline: 'classic', input: { prompt: 'x' }, ...fields }, 400);
    expect(response.body.errors).toEqual(expect.arrayContaining([{ field, reason: expect.stringMatching(reason) }]));
    if (field !== 'id') await describeAs(id).expect(404);
  });

  it('needs workflows:admin to change schedules and workflows:read to read them', async () => {
    const readOnly = { 'x-api-key': READ_ONLY_KEY };
    await create(classicEvery('1h'), 403, readOnly);
    const body = classicEvery('1h', { paused: true });
    await create(body, 201);
    await http.get('/v1/schedules').set(readOnly).expect(200);
    await describeAs(body.id, readOnly).expect(200);
    await http.post(`/v1/schedules/${body.id}/trigger`).set(readOnly).expect(403);
    await http.delete(`/v1/schedules/${body.id}`).set(readOnly).expect(403);
    await http.get('/v1/schedules').expect(401);
  });
});
