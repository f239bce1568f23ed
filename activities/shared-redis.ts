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
  /** Ends the connection and its reconnecting, leaving no socket or timer behind. */
  close(): Promise<void>;
}

export async function connectSharedRedis<R extends Redis = Redis>(
  redisUrl: string,
  onSharedChange: ((shared: boolean, error?: Error) => void) | undefined,
  defineCommands: (redis: R) => void,
): Promise<SharedRedis<R>> {
  // close() quits a connected client; disconnect() is only for one that is not, whose last socket has
  // closed already: ioredis would otherwise wait 2 s for that socket's 'close' again on a live timer,
  // keeping a stopped worker (and jest) running.
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, lazyConnect: true, disconnectTimeout: 0 }) as R;
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
    async close() {
      if (redis.status === 'ready') {
        await redis.quit().catch(() => redis.disconnect());
        return;
      }
      redis.disconnect();
    },
  };
}
