import type { INestApplication } from '@nestjs/common';
import type request from 'supertest';
import { startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { testTemporalSettings } from '../helpers/stack';

const auth = { 'x-api-key': TEST_API_KEY };
const NUL_REASON = 'must not contain the NUL character (\\u0000)';
const SURROGATE_REASON = 'must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)';

/** Every route that puts a run's ID (the path's `id`) into a Temporal request. */
const RUN_ROUTES: { method: 'get' | 'post'; path: (id: string) => string }[] = [
  { method: 'get', path: (id) => `/v1/workflows/${id}` },
  { method: 'get', path: (id) => `/v1/workflows/${id}/events` },
  { method: 'get', path: (id) => `/v1/workflows/${id}/result?waitSeconds=0` },
  ...['terminate', 'reset', 'rerun', 'approve', 'reject', 'cancel'].map((action) => ({
    method: 'post' as const,
    path: (id: string) => `/v1/workflows/${id}/${action}`,
  })),
];

/** Request body texts Temporal stores as strings (history, schedule state), with a route that takes each. */
const BODY_TEXTS: { method: 'post'; path: string; field: string; body: (text: string) => Record<string, unknown> }[] = [
  { method: 'post', path: '/v1/workflows/no-such-run/terminate', field: 'reason', body: (reason) => ({ reason }) },
  { method: 'post', path: '/v1/workflows/no-such-run/reset', field: 'reason', body: (reason) => ({ reason }) },
  { method: 'post', path: '/v1/workflows/no-such-run/approve', field: 'comment', body: (comment) => ({ comment }) },
  { method: 'post', path: '/v1/workflows/no-such-run/reject', field: 'comment', body: (comment) => ({ comment }) },
  { method: 'post', path: '/v1/schedules/no-such-schedule/pause', field: 'note', body: (note) => ({ note }) },
  { method: 'post', path: '/v1/schedules/no-such-schedule/resume', field: 'note', body: (note) => ({ note }) },
  {
    method: 'post',
    path: '/v1/schedules',
    field: 'note',
    body: (note) => ({ id: 'text-check', pipeline: 'classic', input: { prompt: 'x' }, every: '1d', paused: true, note }),
  },
];

/**
 * Strings Temporal cannot store are a 400 naming the field, before any request reaches Temporal: the
 * dev server (SQLite) stores a NUL where PostgreSQL refuses it (the cluster answered 503), and a
 * lone surrogate has no UTF-8 form, so gRPC cannot carry it.
 */
describe('IDs and texts Temporal cannot store', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    ({ app, http } = await startApiApp(testTemporalSettings('temporal-text')));
  });
  afterAll(async () => {
    await app?.close();
  });

  const expectRejected = (response: request.Response, field: string, reason: string) => {
    expect({ status: response.status, errors: response.body.errors }).toEqual({ status: 400, errors: [{ field, reason }] });
  };

  it('a run ID with a NUL is a 400 on every run route, not a lookup in Temporal', async () => {
    for (const { method, path } of RUN_ROUTES) {
      const call = http[method](path('run%00id')).set(auth);
      expectRejected(await (method === 'post' ? call.send({}) : call), 'id', NUL_REASON);
    }
    expect(RUN_ROUTES).toHaveLength(9);
  });

  it('a run ID longer than the SQL stores hold (255 characters) is a 400, and one at the limit is looked up (404)', async () => {
    expectRejected(await http.get(`/v1/workflows/${'%C3%A9'.repeat(256)}`).set(auth), 'id', 'must be at most 255 characters');
    expect((await http.get(`/v1/workflows/${'%C3%A9'.repeat(255)}`).set(auth)).status).toBe(404);
  });

  it('a body text with a NUL or a lone surrogate is a 400 naming the field', async () => {
    for (const { method, path, field, body } of BODY_TEXTS) {
      // JSON.stringify escapes the lone surrogate as \ud800, so it reaches the API as the caller wrote it.
      for (const [text, reason] of [
        ['before\u0000after', NUL_REASON],
        ['before\ud800after', SURROGATE_REASON],
      ]) {
        const response = await http[method](path)
          .set(auth)
          .set('content-type', 'application/json')
          .send(JSON.stringify(body(text)));
        expectRejected(response, field, `${field} ${reason}`);
      }
    }
    expect(BODY_TEXTS).toHaveLength(7);
  });

  it('well-formed texts with astral characters and controls other than NUL still pass validation', async () => {
    const response = await http.post('/v1/workflows/no-such-run/terminate').set(auth).send({ reason: 'tab\there, emoji 🎉, RTL \u202e' });
    expect(response.status).toBe(404);
  });
});
