import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { ApiMetrics } from './api-metrics';
import { API_LOGGER } from './logger.token';

const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Asked every few seconds by orchestrators, load balancers and Prometheus: logged at debug unless they fail. */
const PROBE_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One place sees every request: gives it a request ID (the caller's `x-request-id` when sane),
 * logs it once it is answered, and counts it by route template (never the raw path: IDs would
 * explode the label set).
 */
@Injectable()
export class RequestObserverMiddleware implements NestMiddleware {
  constructor(
    @Inject(ApiMetrics) private readonly metrics: ApiMetrics,
    @Inject(API_LOGGER) private readonly logger: Logger,
  ) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const incoming = request.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    response.setHeader('x-request-id', requestId);
    const startedAt = process.hrtime.bigint();
    response.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const labels = { method: request.method, route, status: String(response.statusCode) };
      this.metrics.requests.inc(labels);
      this.metrics.duration.observe(labels, seconds);
      const level = response.statusCode >= 500 ? 'error' : PROBE_ROUTES.has(route) ? 'debug' : 'info';
      this.logger[level](
        { requestId, method: request.method, route, url: request.originalUrl, status: response.statusCode, durationMs: Math.round(seconds * 1000) },
        'request',
      );
    });
    next();
  }
}
