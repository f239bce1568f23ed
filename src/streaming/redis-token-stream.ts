import Redis from 'ioredis';
import { DEFAULT_TOKEN_LIMITS, type TokenEvent, type TokenEventKind, type TokenStream, type TokenStreamLimits } from './token-stream';

const keyOf = (runId: string) => `chorus:tokens:${runId}`;

/** Most entries one XREAD returns; a reader asks again at once when it got that many. */
const READ_COUNT = 500;

function eventOf(id: string, fields: string[]): TokenEvent {
  const value: Record<string, string> = {};
  for (let index = 0; index + 1 < fields.length; index += 2) value[fields[index]] = fields[index + 1];
  return {
    id,
    kind: value.k as TokenEventKind,
    step: value.s,
    call: value.c,
    attempt: Number(value.a),
    ...(value.t === undefined ? {} : { text: value.t }),
  };
}

/** XREAD's answer for one stream: `[[key, [[id, [field, value, …]], …]]]`, or null when nothing came. */
const entries = (answer: unknown): TokenEvent[] =>
  ((answer as [string, [string, string[]][]][] | null)?.[0]?.[1] ?? []).map(([id, fields]) => eventOf(id, fields));

/**
 * Token events in Redis Streams, one stream per run (`chorus:tokens:<runId>`): XADD with an
 * approximate MAXLEN and a TTL renewed by every event, read with XREAD BLOCK on a connection of the
 * reader's own (a blocking read holds its connection). Entry IDs are the events' IDs, so a reader
 * on any API instance resumes after the last one it sent.
 */
export function createRedisTokenStream(
  redisUrl: string,
  { limits = {}, onError }: { limits?: TokenStreamLimits; onError?: (error: Error) => void } = {},
): TokenStream {
  const { maxEventsPerRun, ttlMs } = { ...DEFAULT_TOKEN_LIMITS, ...limits };
  // Commands sent while connecting wait for the connection, but only through one reconnect attempt: a
  // Redis that is down fails them within moments, and the token is lost, not the provider call.
  const publisher = new Redis(redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 2000, lazyConnect: false });
  publisher.on('error', (error: Error) => onError?.(error));
  const readers = new Set<Redis>();
  return {
    transport: 'redis',
    async publish(runId, { kind, step, call, attempt, text }) {
      const key = keyOf(runId);
      try {
        await publisher
          .pipeline()
          .xadd(key, 'MAXLEN', '~', maxEventsPerRun, '*', 'k', kind, 's', step, 'c', call, 'a', attempt, ...(text === undefined ? [] : ['t', text]))
          .pexpire(key, ttlMs)
          .exec();
      } catch (error) {
        onError?.(error as Error);
      }
    },
    async readAfter(runId, afterId) {
      return entries(await publisher.xread('COUNT', READ_COUNT, 'STREAMS', keyOf(runId), afterId));
    },
    openReader(runId) {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false });
      connection.on('error', (error: Error) => onError?.(error));
      readers.add(connection);
      return {
        async read(afterId, blockMs) {
          return entries(
            await (blockMs > 0
              ? connection.xread('COUNT', READ_COUNT, 'BLOCK', blockMs, 'STREAMS', keyOf(runId), afterId)
              : connection.xread('COUNT', READ_COUNT, 'STREAMS', keyOf(runId), afterId)),
          );
        },
        async close() {
          readers.delete(connection);
          // disconnect, not quit: a blocked XREAD would hold quit until it returns.
          connection.disconnect();
        },
      };
    },
    async close() {
      for (const reader of readers) reader.disconnect();
      readers.clear();
      publisher.disconnect();
    },
  };
}
