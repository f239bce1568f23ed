import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { connectRedisResponseCache } from '../../activities/response-cache';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { loadEncryptionSettings } from '../../src/config/encryption';
import type { PipelineDefinition, PipelineRunInput, StepResult } from '../../src/pipeline/types';
import { pipelineWorkflow } from '../../workflows';
import { startRedis } from '../helpers/redis';
import { startTestStack, type TestStack } from '../helpers/stack';

const cachedStep = (cache?: { ttl: string }, temperature?: number): PipelineDefinition => ({
  name: 'cached-answer',
  steps: [
    {
      id: 'answer',
      provider: 'openai',
      task: 'generate',
      prompt: 'Explain {{input.topic}}',
      ...(temperature === undefined ? {} : { temperature }),
      ...(cache ? { cache } : {}),
    },
  ],
});

/** The opt-in response cache: an identical call's answer at $0, never across tenants, never at temperature > 0 unless the step asks. */
describe('response cache', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('response-cache', { latencyMs: 5 });
  });
  afterAll(() => stack?.close());
  beforeEach(() => stack.simulator.clearRequests());

  const run = async (pipeline: PipelineDefinition, tenant: string, topic: string) => {
    const result = await stack.client.workflow.execute(pipelineWorkflow, {
      workflowId: `cache-${randomUUID()}`,
      taskQueue: stack.temporal.taskQueue,
      args: [{ pipeline, input: { topic }, tenant } satisfies PipelineRunInput],
    });
    return { answer: result.steps.answer as StepResult, total: result.usage.total };
  };

  it("answers a second identical run from the cache: no provider request, $0, cached: true with the first call's usage", async () => {
    const pipeline = { ...cachedStep(), cache: { ttl: '10m' } };
    const first = await run(pipeline, 'acme', 'queues');
    expect(stack.simulator.requests()).toHaveLength(1);
    expect(first.answer.cached).toBeUndefined();
    expect(first.answer.costUsd).toBeGreaterThan(0);

    const second = await run(pipeline, 'acme', 'queues');
    expect(stack.simulator.requests()).toHaveLength(1);
    expect(second.answer).toMatchObject({ cached: true, costUsd: 0, text: first.answer.text, usage: first.answer.usage });
    expect(second.total.costUsd).toBe(0);
    // Another prompt is another request.
    await run(pipeline, 'acme', 'workers');
    expect(stack.simulator.requests()).toHaveLength(2);
  });

  it("never answers one tenant with another tenant's cached answer", async () => {
    const pipeline = cachedStep({ ttl: '10m' });
    await run(pipeline, 'acme', 'tenancy');
    const other = await run(pipeline, 'globex', 'tenancy');
    expect(other.answer.cached).toBeUndefined();
    expect(stack.simulator.requests()).toHaveLength(2);
    expect((await run(pipeline, 'globex', 'tenancy')).answer.cached).toBe(true);
    expect(stack.simulator.requests()).toHaveLength(2);
  });

  it("caches a step at temperature > 0 only when the step itself sets cache, not from the pipeline's", async () => {
    const fromPipeline = { ...cachedStep(undefined, 0.7), cache: { ttl: '10m' } };
    await run(fromPipeline, 'acme', 'sampling');
    expect((await run(fromPipeline, 'acme', 'sampling')).answer.cached).toBeUndefined();
    expect(stack.simulator.requests()).toHaveLength(2);
    const ownCache = cachedStep({ ttl: '10m' }, 0.7);
    await run(ownCache, 'acme', 'sampling');
    expect((await run(ownCache, 'acme', 'sampling')).answer.cached).toBe(true);
    expect(stack.simulator.requests()).toHaveLength(3);
  });
});

describe('response cache entries in Redis', () => {
  it('are encrypted with the payload codec when encryption is on, and read back whole', async () => {
    const redis = await startRedis();
    const codec = new EncryptionCodec(loadEncryptionSettings({ CHORUS_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` })!);
    const cache = await connectRedisResponseCache(redis.url, 'encrypted', codec);
    const raw = new Redis(redis.url);
    try {
      const answer: StepResult = {
        provider: 'openai',
        model: 'gpt-4o-mini',
        text: 'The secret plan is tea',
        usage: { inputTokens: 12, outputTokens: 6 },
        costUsd: 0.00001,
        latencyMs: 40,
        simulated: true,
        attempt: 1,
      };
      await cache.set('key-1', answer, 60_000);
      const [key] = await raw.keys('chorus:cache:encrypted:*');
      expect(await raw.get(key)).not.toContain('secret plan');
      expect(await raw.pttl(key)).toBeGreaterThan(50_000);
      expect(await cache.get('key-1')).toEqual(answer);
      expect(await cache.get('key-2')).toBeUndefined();
    } finally {
      raw.disconnect();
      await cache.close();
      await redis.stop();
    }
  });
});
