import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import type { Server } from 'node:http';
import { DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS, type ApiSettings } from '../src/config/api';
import { SwaggerModule } from '@nestjs/swagger';
import { AppModule, type ChorusApiSettings } from './app.module';
import { ProblemFilter, routeTableOf } from './errors/problem.filter';
import { PinoNestLogger } from './observability/nest-logger';
import { createOpenApiDocument } from './openapi/document';
import { createValidationPipe, PathIdPipe } from './validation';

/** Sets up what every Chorus API instance needs, for `main.ts` and for in-process tests alike. */
export function configureApp(app: INestApplication, settings: ApiSettings): INestApplication {
  const express = app as NestExpressApplication;
  // A body over the cap is refused with 413 before it is parsed (OWASP API4).
  express.useBodyParser('json', { limit: settings.maxBodyBytes });
  express.use(helmet());
  // Node closes an idle keep-alive connection after 5 s; a client or proxy that keeps idle sockets
  // longer sends its next request into the closing socket and gets `socket hang up` (ApiSettings).
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = (settings.keepAliveTimeoutSeconds ?? DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS) * 1000;
  const origins = new Set([...settings.corsOrigins, ...settings.codec.uiOrigins]);
  express.enableCors({
    origin: (origin, allow) => allow(null, origin !== undefined && origins.has(origin)),
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['content-type', 'x-api-key', 'authorization', 'idempotency-key', 'x-namespace'],
    credentials: true,
  });
  app.useGlobalPipes(new PathIdPipe(), createValidationPipe());
  app.enableShutdownHooks();
  const document = createOpenApiDocument(app);
  // Every route's errors, and the 405s of documented paths, answer as problem details.
  app.useGlobalFilters(new ProblemFilter(routeTableOf(document.paths)));
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

export async function createChorusApp(settings: ChorusApiSettings): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(settings), {
    logger: settings.logger ? new PinoNestLogger(settings.logger) : ['error', 'warn', 'log'],
  });
  return configureApp(app, settings.api);
}
