import { loadWorkerCount, loadWorkerSettings } from '../../src/config/worker';
import { providerRates } from '../../worker/worker';
import { providerTaskQueue, QUEUE_ROLES, taskQueueOf } from '../../src/pipeline/task-queues';

describe('worker topology', () => {
  it('names one activity queue per provider next to the workflow queue', () => {
    expect(providerTaskQueue('chorus-pipelines', 'openai')).toBe('chorus-pipelines-openai');
    expect(QUEUE_ROLES.map((role) => taskQueueOf('q', role))).toEqual(['q', 'q-openai', 'q-cohere', 'q-gemini', 'q-anthropic']);
  });

  it('serves every queue by default, or the chosen subset', () => {
    expect(loadWorkerSettings({}).queues).toEqual(['workflows', 'openai', 'cohere', 'gemini', 'anthropic']);
    expect(loadWorkerSettings({ CHORUS_WORKER_QUEUES: 'workflows, cohere,cohere' }).queues).toEqual(['workflows', 'cohere']);
    expect(() => loadWorkerSettings({ CHORUS_WORKER_QUEUES: 'workflows,mistral' })).toThrow(/CHORUS_WORKER_QUEUES/);
  });

  it('reads per-provider concurrency and request-rate limits', () => {
    const settings = loadWorkerSettings({ CHORUS_OPENAI_MAX_CONCURRENCY: '8', CHORUS_OPENAI_MAX_RPS: '2.5', CHORUS_WORKER_MAX_ACTIVITIES: '50' });
    expect(settings.providerLimits?.openai).toEqual({ maxConcurrency: 8, maxRps: 2.5 });
    expect(settings.providerLimits?.gemini).toEqual({ maxConcurrency: undefined, maxRps: undefined });
    expect(settings.maxConcurrentActivities).toBe(50);
    expect(() => loadWorkerSettings({ CHORUS_COHERE_MAX_RPS: '-1' })).toThrow(/CHORUS_COHERE_MAX_RPS/);
    expect(loadWorkerSettings({}).metricsPort).toBe(0);
  });

  it('leaves the sticky cache size to the SDK unless CHORUS_WORKER_MAX_CACHED_WORKFLOWS sets it (at least 2)', () => {
    expect(loadWorkerSettings({}).maxCachedWorkflows).toBeUndefined();
    expect(loadWorkerSettings({ CHORUS_WORKER_MAX_CACHED_WORKFLOWS: '500' }).maxCachedWorkflows).toBe(500);
    expect(() => loadWorkerSettings({ CHORUS_WORKER_MAX_CACHED_WORKFLOWS: '1' })).toThrow(/CHORUS_WORKER_MAX_CACHED_WORKFLOWS/);
    expect(() => loadWorkerSettings({ CHORUS_WORKER_MAX_CACHED_WORKFLOWS: 'many' })).toThrow(/CHORUS_WORKER_MAX_CACHED_WORKFLOWS/);
  });

  it('paces only the providers that have a rate limit, sharing the schedule in the Redis CHORUS_REDIS_URL names', () => {
    expect(providerRates(loadWorkerSettings({ CHORUS_GEMINI_MAX_RPS: '12' }))).toEqual({ gemini: 12 });
    expect(providerRates(loadWorkerSettings({}))).toEqual({});
    expect(loadWorkerSettings({ CHORUS_REDIS_URL: 'redis://10.0.0.5:6379' }).redisUrl).toBe('redis://10.0.0.5:6379');
    expect(loadWorkerSettings({}).redisUrl).toBeUndefined();
    expect(() => loadWorkerSettings({ CHORUS_REDIS_URL: 'http://redis:6379' })).toThrow(/CHORUS_REDIS_URL: expected redis:\/\/host:port/);
  });

  it('polls as a Worker Deployment version only when CHORUS_DEPLOYMENT_NAME and CHORUS_BUILD_ID are both set', () => {
    expect(loadWorkerSettings({}).deployment).toBeUndefined();
    expect(loadWorkerSettings({ CHORUS_DEPLOYMENT_NAME: 'chorus', CHORUS_BUILD_ID: '2.4.0+3f1c9e2' }).deployment).toEqual({
      deploymentName: 'chorus',
      buildId: '2.4.0+3f1c9e2',
    });
    expect(() => loadWorkerSettings({ CHORUS_DEPLOYMENT_NAME: 'chorus' })).toThrow(/CHORUS_BUILD_ID: required when CHORUS_DEPLOYMENT_NAME is set/);
    expect(() => loadWorkerSettings({ CHORUS_BUILD_ID: 'abc123' })).toThrow(/CHORUS_DEPLOYMENT_NAME: required when CHORUS_BUILD_ID is set/);
    // Temporal names a version "<deployment>.<build ID>": a "." in the deployment name would be ambiguous.
    expect(() => loadWorkerSettings({ CHORUS_DEPLOYMENT_NAME: 'chorus.prod', CHORUS_BUILD_ID: '1' })).toThrow(/CHORUS_DEPLOYMENT_NAME: expected/);
    expect(() => loadWorkerSettings({ CHORUS_DEPLOYMENT_NAME: 'chorus', CHORUS_BUILD_ID: 'a b' })).toThrow(/CHORUS_BUILD_ID: expected/);
  });

  it('takes the worker count from --workers or CHORUS_WORKERS', () => {
    expect(loadWorkerCount({})).toBe(1);
    expect(loadWorkerCount({ CHORUS_WORKERS: '3' })).toBe(3);
    expect(loadWorkerCount({ CHORUS_WORKERS: '3' }, ['--workers', '5'])).toBe(5);
    expect(loadWorkerCount({}, ['--workers=2'])).toBe(2);
    expect(() => loadWorkerCount({}, ['--workers', '0'])).toThrow(/CHORUS_WORKERS/);
  });
});
