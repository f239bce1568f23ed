import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule, type ChorusApiSettings } from './app.module';
import { createValidationPipe } from './validation';

/** Sets up what every Chorus API instance needs, for `main.ts` and for in-process tests alike. */
export function configureApp(app: INestApplication): INestApplication {
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Chorus')
      .setDescription('Durable multi-provider AI workflows on Temporal')
      .setVersion('1')
      .addApiKey({ type: 'apiKey', name: 'x-api-key', in: 'header' }, 'api-key')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

export async function createChorusApp(settings: ChorusApiSettings): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(settings), { logger: ['error', 'warn', 'log'] });
  return configureApp(app);
}
