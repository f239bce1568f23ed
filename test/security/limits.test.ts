import type { INestApplication } from '@nestjs/common';
import type request from 'supertest';
import { SECOND_API_KEY, startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { startRedis } from '../helpers/redis';
import { testTemporalSettings } from '../helpers/stack';

const acme = { 'x-api-key': TEST_API_KEY };
const globex = { 'x-api-key': SECOND_API_KEY };

/** Rate limits per key (in memory and shared through Redis) and resource limits (OWASP API4). */
describe('rate and resource limits', () => {
  const apps: INestApplication[] = [];
  const start = async (...args: Parameters<typeof startApiApp>) => {
    const started = await startApiApp(...args);
    apps.push(started.app);
    return started.http;
  };
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  const temporal = testTemporalSettings('limits');
  const statuses = async (http: ReturnType<typeof request>, headers: Record<string, string>, count: number) => {
    const codes: number[] = [];
    for (let index = 0; index < count; index++) codes.push((await http.get('/v1/pipelines').set(headers)).status);
    return codes;
  };

  it('answers 429 with Retry-After once a key has used its requests per minute; other keys and health checks are unaffected', async () => {
    const http = await start(temporal, { rateLimit: { perMinute: 3, byTenant: {} } });
    expect(await statuses(http, acme, 3)).toEqual([200, 200, 200]);
    const limited = await http.get('/v1/pipelines').set(acme).expect(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.body.detail).toMatch(/Rate limit of 3 requests per minute/);
    await http.get('/v1/pipelines').set(globex).expect(200);
    await http.get('/healthz').expect(200);
  });

  it('applies a tenant’s own limit', async () => {
    const http = await start(temporal, { rateLimit: { perMinute: 100, byTenant: { acme: 2 } } });
    expect(await statuses(http, acme, 3)).toEqual([200, 200, 429]);
    expect(await statuses(http, globex, 3)).toEqual([200, 200, 200]);
  });

  it('shares one limit across API instances through Redis', async () => {
    const redis = await startRedis();
    try {
      const settings = { rateLimit: { perMinute: 4, byTenant: {}, redisUrl: redis.url } };
      const [first, second] = [await start(temporal, settings), await start(temporal, settings)];
      expect([...(await statuses(first, acme, 2)), ...(await statuses(second, acme, 2))]).toEqual([200, 200, 200, 200]);
      await first.get('/v1/pipelines').set(acme).expect(429);
      await second.get('/v1/pipelines').set(acme).expect(429);
    } finally {
      await redis.stop();
    }
  });

  it('refuses a body over the size cap with 413', async () => {
    const http = await start(temporal, { maxBodyBytes: 10_000 });
    await http
      .post('/v1/workflows')
      .set(acme)
      .send({ pipeline: 'classic', input: { prompt: 'x'.repeat(20_000) } })
      .expect(413);
  });

  it('refuses an input over its cap with 413 naming the field, starting nothing', async () => {
    const http = await start(temporal, { maxInputBytes: 2_000 });
    const response = await http
      .post('/v1/workflows')
      .set(acme)
      .send({ pipeline: 'classic', input: { prompt: 'x'.repeat(5_000) } })
      .expect(413);
    expect(response.body.errors).toEqual([{ field: 'input', reason: 'at most 2000 bytes as JSON' }]);
  });

  it('refuses a pipeline with too many steps, and a prompt template over its cap, with 400', async () => {
    const http = await start(temporal);
    const step = (index: number) => ({ id: `s${index}`, provider: 'openai', task: 'generate', prompt: 'x' });
    const many = await http
      .post('/v1/pipelines/validate')
      .set(acme)
      .send({ name: 'big', steps: Array.from({ length: 51 }, (_, index) => step(index)) })
      .expect(400);
    expect(many.body.errors).toContainEqual({ field: '$.steps', reason: expect.stringMatching(/50/) });
    const long = await http
      .post('/v1/pipelines/validate')
      .set(acme)
      .send({ name: 'long', steps: [{ ...step(0), prompt: 'x'.repeat(20_001) }] })
      .expect(400);
    expect(long.body.errors).toContainEqual({ field: '$.steps[0].prompt', reason: expect.stringMatching(/20000/) });
  });
});
