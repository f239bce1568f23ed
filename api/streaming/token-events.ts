import type { OnApplicationShutdown } from '@nestjs/common';
import { createRedisTokenStream } from '../../src/streaming/redis-token-stream';
import type { TokenStream } from '../../src/streaming/token-stream';

/** Why a stream has no token events, as the API tells its clients. */
export const NO_TOKEN_TRANSPORT =
  'token events need a transport the workers publish to: set CHORUS_REDIS_URL on the API and the workers (npm start does when redis-server is installed)';

/**
 * The API's side of the token transport: the stream the workers publish to, or none (then live
 * progress carries step events only, and says so). Closed with the app when the API made it.
 */
export class TokenEvents implements OnApplicationShutdown {
  private constructor(
    readonly stream: TokenStream | undefined,
    private readonly owned: boolean,
  ) {}

  /** A given stream (in-process tests), else Redis Streams at `redisUrl`, else none. */
  static create(given: TokenStream | undefined, redisUrl: string | undefined): TokenEvents {
    if (given) return new TokenEvents(given, false);
    return redisUrl ? new TokenEvents(createRedisTokenStream(redisUrl), true) : new TokenEvents(undefined, false);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.owned) await this.stream?.close();
  }
}
