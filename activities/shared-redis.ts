import Redis from 'ioredis';

/**
 * A Redis that worker processes share state through (provider pacing, circuit breakers). It never
 * queues commands while down, so a caller falls back to its own process at once, and it reports
 * whether the state is shared right now: on connect, error, close, or a command that failed.
 */
export interface SharedRedis<R extends Redis = Redis> {
  redis: R;
  readonly shared: boolean;
  /** A command failed: the state is this process's own until Redis is ready again. */
  lost(error: Error): void;
}

export async function connectSharedRedis<R extends Redis = Redis>(
  redisUrl: string,
  onSharedChange: ((shared: boolean, error?: Error) => void) | undefined,
  defineCommands: (redis: R) => void,
): Promise<SharedRedis<R>> {
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, lazyConnect: true }) as R;
  defineCommands(redis);
  let shared = false;
  const setShared = (value: boolean, error?: Error) => {
    if (value === shared) return;
    shared = value;
    onSharedChange?.(value, error);
  };
  redis.on('ready', () => setShared(true));
  redis.on('error', (error: Error) => setShared(false, error));
  redis.on('close', () => setShared(false));
  // A worker must start even while Redis is down; it keeps its own state until Redis answers.
  await redis.connect().catch((error: Error) => setShared(false, error));
  return {
    redis,
    get shared() {
      return shared;
    },
    lost: (error) => setShared(false, error),
  };
}
