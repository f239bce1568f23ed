import { startProcess, waitUntil } from '../../src/process/child-process';
import { redisAnswers, redisServerArgs } from '../../src/process/redis';
import { freePort } from './reliability';

/** A throwaway redis-server (Debian's) on a free loopback port, without persistence. */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const redis = startProcess('redis', 'redis-server', redisServerArgs(port), { PATH: process.env.PATH }, () => undefined);
  await waitUntil(`redis-server on ${port}`, () => redisAnswers(port), 10_000, 100);
  return { url: `redis://127.0.0.1:${port}`, stop: () => redis.stop(2000) };
}
