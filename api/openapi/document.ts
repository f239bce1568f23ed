import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

/**
 * The OpenAPI document of the API, generated from the controllers' decorators: what `/docs` serves,
 * what `npm run openapi:export` writes to `openapi.json`, and what the TypeScript client is generated from.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Chorus')
      .setDescription('Durable multi-provider AI workflows on Temporal')
      .setVersion('1')
      .addApiKey({ type: 'apiKey', name: 'x-api-key', in: 'header' }, 'api-key')
      .build(),
  );
}
