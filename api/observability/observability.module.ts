import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import { ApiMetrics } from './api-metrics';
import { API_LOGGER } from './logger.token';
import { MetricsController } from './metrics.controller';
import { RequestObserverMiddleware } from './request-observer.middleware';

/** /metrics (public), and request metrics and request logs for every route. Tests get a silent logger. */
@Module({})
export class ObservabilityModule implements NestModule {
  static forRoot(metrics: ApiMetrics, logger: Logger = pino({ level: 'silent' })): DynamicModule {
    return {
      module: ObservabilityModule,
      controllers: [MetricsController],
      providers: [{ provide: ApiMetrics, useValue: metrics }, { provide: API_LOGGER, useValue: logger }, RequestObserverMiddleware],
      exports: [ApiMetrics, API_LOGGER],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestObserverMiddleware).forRoutes('*');
  }
}
