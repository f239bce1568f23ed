import Redis from 'ioredis';
import { createRedisTokenStream } from '../../src/streaming/redis-token-stream';
import { compareTokenIds, createMemoryTokenStream, TOKEN_STREAM_START, type TokenStream } from '../../src/streaming/token-stream';
import { startRedis } from '../helpers/redis';

/** Both token transports keep one contract: ordered IDs, blocking reads woken by a publish, limits, expiry. */
describe.each(['memory', 'redis'] as const)('token stream over %s', (transport) => {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  let stream: TokenStream;
  let run = 0;
  const nextRun = () => `run-${transport}-${(run += 1)}`;
  const token = (text: string, attempt = 1) => ({ kind: 'token' as const, step: 'draft', call: 'draft', attempt, text });
  const limits = { maxEventsPerRun: 50, ttlMs: 60_000 };

  beforeAll(async () => {
    if (transport === 'redis') redis = await startRedis();
    stream = transport === 'redis' ? createRedisTokenStream(redis!.url, { limits }) : createMemoryTokenStream(limits);
  });
  afterAll(async () => {
    await stream?.close();
    await redis?.stop();
  });

  it('keeps events in publish order with increasing IDs, and reads exactly those after an ID', async () => {
    const runId = nextRun();
    await stream.publish(runId, { kind: 'attempt', step: 'draft', call: 'draft', attempt: 1 });
    for (const piece of ['Dur', 'able ', 'text']) await stream.publish(runId, token(piece));
    const events = await stream.readAfter(runId, TOKEN_STREAM_START);
    expect(events.map((event) => event.kind)).toEqual(['attempt', 'token', 'token', 'token']);
    expect(events.map((event) => event.text ?? '').join('')).toBe('Durable text');
    expect(events[0]).toEqual({ id: events[0].id, kind: 'attempt', step: 'draft', call: 'draft', attempt: 1 });
    for (let index = 1; index < events.length; index += 1) expect(compareTokenIds(events[index].id, events[index - 1].id)).toBeGreaterThan(0);
    expect((await stream.readAfter(runId, events[1].id)).map((event) => event.text)).toEqual(['able ', 'text']);
    expect(await stream.readAfter(nextRun(), TOKEN_STREAM_START)).toEqual([]);
  });

  it('a blocking read returns as soon as an event is published, and [] when none comes in time', async () => {
    const runId = nextRun();
    const reader = stream.openReader(runId);
    try {
      const startedAt = Date.now();
      expect(await reader.read(TOKEN_STREAM_START, 200)).toEqual([]);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150);
      const waiting = reader.read(TOKEN_STREAM_START, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const publishedAt = Date.now();
      await stream.publish(runId, token('now'));
      const events = await waiting;
      expect(events.map((event) => event.text)).toEqual(['now']);
      expect(Date.now() - publishedAt).toBeLessThan(1000);
    } finally {
      await reader.close();
    }
  });

  it('closing a reader ends its blocked read', async () => {
    const reader = stream.openReader(nextRun());
    const waiting = reader.read(TOKEN_STREAM_START, 30_000).catch(() => 'closed');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closedAt = Date.now();
    await reader.close();
    await waiting;
    expect(Date.now() - closedAt).toBeLessThan(2000);
  });

  it('keeps at most about maxEventsPerRun events of a run, the newest', async () => {
    const runId = nextRun();
    await Promise.all(Array.from({ length: 300 }, (_, index) => stream.publish(runId, token(String(index)))));
    const events = await stream.readAfter(runId, TOKEN_STREAM_START);
    // Redis trims with MAXLEN ~ (whole macro nodes), so it may keep some more than the limit.
    expect(events.length).toBeGreaterThanOrEqual(limits.maxEventsPerRun);
    expect(events.length).toBeLessThan(300);
    expect(events.at(-1)?.text).toBe('299');
  });

  if (transport === 'redis') {
    it('sets the TTL on each run’s stream key, renewed by every event', async () => {
      const runId = nextRun();
      await stream.publish(runId, token('x'));
      const client = new Redis(redis!.url);
      try {
        const ttl = await client.pttl(`chorus:tokens:${runId}`);
        expect(ttl).toBeGreaterThan(limits.ttlMs - 5000);
        expect(ttl).toBeLessThanOrEqual(limits.ttlMs);
      } finally {
        client.disconnect();
      }
    });

    it('a publish while Redis is unreachable does not throw and does not wait', async () => {
      const unreachable = createRedisTokenStream('redis://127.0.0.1:1', { onError: () => undefined });
      try {
        const startedAt = Date.now();
        await expect(unreachable.publish('run', token('lost'))).resolves.toBeUndefined();
        expect(Date.now() - startedAt).toBeLessThan(2500);
      } finally {
        await unreachable.close();
      }
    });
  }
});
