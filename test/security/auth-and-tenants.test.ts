import type { INestApplication } from '@nestjs/common';
import type request from 'supertest';
import { keyEntry, READ_ONLY_KEY, SECOND_API_KEY, startApiApp, TEST_API_KEY, testApiSettings } from '../helpers/api-app';
import { startTestIssuer } from '../helpers/jwks';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

/** Authentication (API keys, JWTs), scopes and tenant isolation, over HTTP on the real stack. */
describe('authentication, scopes and tenant isolation', () => {
  let stack: TestStack;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let issuer: Awaited<ReturnType<typeof startTestIssuer>>;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    stack = await startTestStack('security-auth', { latencyMs: 5 });
    ({ app, http } = await startApiApp(stack.temporal, {
      auth: {
        apiKeys: testApiSettings().auth.apiKeys,
        jwt: { jwksUrl: issuer.jwksUrl, issuer: 'https://issuer.test', audience: 'chorus', scopesClaim: 'scope', tenantClaim: 'tenant' },
      },
    }));
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
    await issuer?.close();
  });

  const acme = { 'x-api-key': TEST_API_KEY };
  const globex = { 'x-api-key': SECOND_API_KEY };
  const startAs = (headers: Record<string, string>) =>
    http
      .post('/v1/workflows')
      .set(headers)
      .send({ pipeline: 'classic', input: { prompt: 'Tenant data' } });

  describe('API keys', () => {
    it.each([
      [{}, 'Missing credentials'],
      [{ 'x-api-key': 'chorus_not-a-key' }, 'Invalid API key'],
      [{ authorization: 'Bearer chorus_not-a-key' }, 'Invalid API key'],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, 'Missing credentials'],
    ])('%j → 401', async (headers, message) => {
      const response = await http.get('/v1/workflows').set(headers).expect(401);
      expect(response.body.detail).toMatch(message);
    });

    it('accepts an API key as a bearer token', async () => {
      await http.get('/v1/workflows').set('authorization', `Bearer ${TEST_API_KEY}`).expect(200);
    });

    it.each([
      ['post', '/v1/workflows', 'workflows:start'],
      ['post', '/v1/workflows/any/cancel', 'workflows:admin'],
      ['post', '/v1/workflows/any/reset', 'workflows:admin'],
      ['post', '/v1/batch/rerun', 'workflows:admin'],
    ] as const)('a read-only key gets 403 on %s %s (needs %s)', async (method, url, scope) => {
      const response = await http[method](url)
        .set('x-api-key', READ_ONLY_KEY)
        .send({ pipeline: 'classic', input: { prompt: 'x' } })
        .expect(403);
      expect(response.body.detail).toBe(`Missing scope: ${scope}`);
    });

    it('needs pipelines:adhoc for an inline definition', async () => {
      const { app: strictApp, http: strict } = await startApiApp(stack.temporal, {
        auth: { apiKeys: [keyEntry('starter', TEST_API_KEY, 'acme', ['workflows:start', 'workflows:read'])] },
      });
      try {
        const definition = { name: 'x', steps: [{ id: 'a', provider: 'openai', task: 'generate', prompt: 'hi' }] };
        const response = await strict.post('/v1/workflows').set(acme).send({ definition, input: {} }).expect(403);
        expect(response.body.detail).toBe('Missing scope: pipelines:adhoc');
      } finally {
        await strictApp.close();
      }
    });
  });

  describe('JWT bearer tokens (OIDC, verified against the issuer JWKS)', () => {
    it('accepts a valid token with its scopes and tenant', async () => {
      const token = await issuer.sign({ sub: 'user-1', tenant: 'acme', scope: 'workflows:read workflows:start' });
      const started = await startAs({ authorization: `Bearer ${token}` }).expect(202);
      // The token's tenant is acme: an acme API key sees the run, globex does not.
      await http.get(started.body.statusUrl).set(acme).expect(200);
      await http.get(started.body.statusUrl).set(globex).expect(404);
    });

    it('takes scopes from a list claim too', async () => {
      const token = await issuer.sign({ sub: 'user-2', tenant: 'acme', scope: ['workflows:read'] });
      await http.get('/v1/workflows').set('authorization', `Bearer ${token}`).expect(200);
    });

    it.each([
      ['a wrong issuer', { issuer: 'https://evil.test' }, { tenant: 'acme', scope: 'workflows:read' }, /iss/],
      ['a wrong audience', { audience: 'someone-else' }, { tenant: 'acme', scope: 'workflows:read' }, /aud/],
      ['an expired token', { expiresIn: '-1m' }, { tenant: 'acme', scope: 'workflows:read' }, /exp/],
      ['no tenant claim', {}, { scope: 'workflows:read' }, /tenant/],
    ])('rejects %s with 401', async (_case, options, claims, reason) => {
      const token = await issuer.sign({ sub: 'user-3', ...claims }, options);
      const response = await http.get('/v1/workflows').set('authorization', `Bearer ${token}`).expect(401);
      expect(response.body.detail).toMatch(reason);
    });

    it('rejects a token signed by another key with 401', async () => {
      const other = await startTestIssuer();
      try {
        const forged = await other.sign({ sub: 'mallory', tenant: 'acme', scope: 'workflows:admin' });
        await http.get('/v1/workflows').set('authorization', `Bearer ${forged}`).expect(401);
      } finally {
        await other.close();
      }
    });

    it('answers 403 for a token without the route scope', async () => {
      const token = await issuer.sign({ sub: 'user-4', tenant: 'acme', scope: 'workflows:read' });
      const response = await startAs({ authorization: `Bearer ${token}` }).expect(403);
      expect(response.body.detail).toBe('Missing scope: workflows:start');
    });
  });

  describe("another tenant's run is indistinguishable from an unknown ID", () => {
    let workflowId: string;
    beforeAll(async () => {
      workflowId = (await startAs(acme).expect(202)).body.workflowId;
      await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=20`).set(acme).expect(200);
    });

    it.each([
      ['get', (id: string) => `/v1/workflows/${id}`],
      ['get', (id: string) => `/v1/workflows/${id}/result?waitSeconds=1`],
      ['post', (id: string) => `/v1/workflows/${id}/cancel`],
      ['post', (id: string) => `/v1/workflows/${id}/terminate`],
      ['post', (id: string) => `/v1/workflows/${id}/reset`],
      ['post', (id: string) => `/v1/workflows/${id}/rerun`],
    ] as const)('%s %s → 404 with the unknown-ID body', async (method, url) => {
      const foreign = await http[method](url(workflowId)).set(globex).send({}).expect(404);
      const unknown = await http[method](url('no-such-run')).set(globex).send({}).expect(404);
      // The same problem, only `instance` names the path asked for.
      expect(foreign.body).toEqual({ ...unknown.body, instance: url(workflowId).split('?')[0] });
    });

    it('lists only the caller tenant’s runs', async () => {
      const listed = async (headers: Record<string, string>) =>
        (await http.get('/v1/workflows?limit=100').set(headers).expect(200)).body.workflows.map((run: { workflowId: string }) => run.workflowId);
      await waitFor('the run to be listed', () => listed(acme), { timeoutMs: 15_000, intervalMs: 250, until: (ids: string[]) => ids.includes(workflowId) });
      expect(await listed(acme)).toContain(workflowId);
      expect(await listed(globex)).not.toContain(workflowId);
    });

    it('scopes Idempotency-Keys per tenant: the same key from another tenant starts its own run', async () => {
      const key = `shared-${Date.now()}`;
      const mine = await startAs({ ...acme, 'idempotency-key': key }).expect(202);
      const theirs = await startAs({ ...globex, 'idempotency-key': key }).expect(202);
      expect(theirs.body.workflowId).not.toBe(mine.body.workflowId);
    });
  });
});
