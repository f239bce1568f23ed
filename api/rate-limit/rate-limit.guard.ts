import { HttpException, HttpStatus, Inject, Injectable, type CanActivate, type ExecutionContext, type OnApplicationShutdown } from '@nestjs/common';
import type { Response } from 'express';
import Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ApiSettings } from '../../src/config/api';
import type { AuthenticatedRequest } from '../auth/principal';
import { API_SETTINGS } from '../tokens';

const WINDOW_SECONDS = 60;
/** How long a request waits for a connecting Redis before the in-memory limiter stands in. */
const REDIS_CONNECT_WAIT_MS = 1000;

/**
 * Requests per minute per API key (or JWT subject), with per-tenant limits. With CHORUS_REDIS_URL
 * the counters live in Redis, so several API instances share one limit; an in-memory limiter
 * stands in while Redis is unreachable.
 */
@Injectable()
export class RateLimitGuard implements CanActivate, OnApplicationShutdown {
  private readonly redis?: Redis;
  /** Resolves once Redis is connected, so the first requests after start count in the shared store. */
  private readonly redisReady?: Promise<void>;
  private readonly limiters = new Map<number, RateLimiterAbstract>();

  constructor(@Inject(API_SETTINGS) private readonly settings: ApiSettings) {
    if (settings.rateLimit.redisUrl) {
      this.redis = new Redis(settings.rateLimit.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
      // Connection errors are handled by the insurance limiter; keep them out of the process's unhandled events.
      this.redis.on('error', () => undefined);
      const redis = this.redis;
      this.redisReady = new Promise((resolve) => redis.once('ready', () => resolve()));
    }
  }

  private limiterFor(points: number): RateLimiterAbstract {
    let limiter = this.limiters.get(points);
    if (!limiter) {
      const options = { points, duration: WINDOW_SECONDS, keyPrefix: `chorus-rl-${points}` };
      limiter = this.redis
        ? new RateLimiterRedis({ ...options, storeClient: this.redis, insuranceLimiter: new RateLimiterMemory(options) })
        : new RateLimiterMemory(options);
      this.limiters.set(points, limiter);
    }
    return limiter;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = request.principal;
    if (!principal) return true; // public routes (health, metrics) are not limited per key
    const points = this.settings.rateLimit.byTenant[principal.tenant] ?? this.settings.rateLimit.perMinute;
    const response = context.switchToHttp().getResponse<Response>();
    response.setHeader('RateLimit-Limit', points);
    if (this.redisReady && this.redis?.status !== 'ready') {
      await Promise.race([this.redisReady, new Promise((resolve) => setTimeout(resolve, REDIS_CONNECT_WAIT_MS))]);
    }
    try {
      const state = await this.limiterFor(points).consume(principal.id);
      response.setHeader('RateLimit-Remaining', state.remainingPoints);
      response.setHeader('RateLimit-Reset', Math.ceil(state.msBeforeNext / 1000));
      return true;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      response.setHeader('Retry-After', retryAfter);
      response.setHeader('RateLimit-Remaining', 0);
      throw new HttpException(
        { statusCode: 429, error: 'Too Many Requests', message: `Rate limit of ${points} requests per minute reached; retry in ${retryAfter} s` },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}
