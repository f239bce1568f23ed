import { createHash } from 'node:crypto';
import { defaultPayloadConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import Redis from 'ioredis';
import type { StepResult } from '../src/pipeline/types';

/** Answers of earlier calls, by the hash of who asked what of which model. */
export interface ResponseCache {
  get(key: string): Promise<StepResult | undefined>;
  set(key: string, result: StepResult, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Everything that makes two calls the same request: the tenant, the provider, the model and the rendered request. */
export interface CachedRequest {
  tenant: string;
  provider: string;
  model: string;
  request: unknown;
}

/** The key never holds the request itself (prompts may be secret): a SHA-256 of it, the tenant first. */
export function responseCacheKey({ tenant, provider, model, request }: CachedRequest): string {
  return createHash('sha256')
    .update(JSON.stringify([tenant, provider, model, request]))
    .digest('hex');
}

/** Entries as the payload codec stores payloads: encrypted when encryption is on, plain JSON otherwise. */
async function encode(result: StepResult, codec: PayloadCodec | undefined): Promise<string> {
  const payload = defaultPayloadConverter.toPayload(result)!;
  const [stored] = codec ? await codec.encode([payload]) : [payload];
  const metadata = Object.fromEntries(Object.entries(stored.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value).toString('base64')]));
  return JSON.stringify({ metadata, data: Buffer.from(stored.data ?? new Uint8Array()).toString('base64') });
}

async function decode(text: string, codec: PayloadCodec | undefined): Promise<StepResult> {
  const stored = JSON.parse(text) as { metadata: Record<string, string>; data: string };
  const payload: Payload = {
    metadata: Object.fromEntries(Object.entries(stored.metadata).map(([name, value]) => [name, Buffer.from(value, 'base64')])),
    data: Buffer.from(stored.data, 'base64'),
  };
  const [plain] = codec ? await codec.decode([payload]) : [payload];
  return defaultPayloadConverter.fromPayload<StepResult>(plain);
}

/** The most entries a process keeps on its own: the oldest go first. */
const LOCAL_ENTRIES = 10_000;

/** One process's cache (no Redis): its workers' other processes do not see it. */
export function createLocalResponseCache(codec?: PayloadCodec, clock: () => number = Date.now): ResponseCache {
  const entries = new Map<string, { text: string; expiresAt: number }>();
  return {
    async get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= clock()) {
        entries.delete(key);
        return undefined;
      }
      return decode(entry.text, codec);
    },
    async set(key, result, ttlMs) {
      entries.delete(key);
      entries.set(key, { text: await encode(result, codec), expiresAt: clock() + ttlMs });
      if (entries.size > LOCAL_ENTRIES) entries.delete(entries.keys().next().value!);
    },
    async close() {
      entries.clear();
    },
  };
}

/** The cache every worker shares, in Redis; Redis expires each entry at its TTL. A Redis that does not answer is a miss. */
export async function connectRedisResponseCache(redisUrl: string, scope: string, codec?: PayloadCodec): Promise<ResponseCache> {
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, lazyConnect: true });
  redis.on('error', () => undefined);
  await redis.connect().catch(() => undefined);
  const redisKey = (key: string) => `chorus:cache:${scope}:${key}`;
  return {
    async get(key) {
      const text = await redis.get(redisKey(key)).catch(() => null);
      return text === null ? undefined : decode(text, codec);
    },
    async set(key, result, ttlMs) {
      await redis.set(redisKey(key), await encode(result, codec), 'PX', ttlMs).catch(() => undefined);
    },
    async close() {
      redis.disconnect();
    },
  };
}
