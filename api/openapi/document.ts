import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { contractJsonSchemas } from '../../src/contract/api';
import { pipelineJsonSchema } from '../../src/pipeline/validate';

/** Constraints across a request body's fields (e.g. "cron or every, not both"), merged into the class's component schema. */
const crossFieldRules = new Map<string, Record<string, unknown>>();

/** Adds a JSON Schema rule over several fields of a DTO class to its component schema. */
export const CrossFieldRule =
  (rule: Record<string, unknown>): ClassDecorator =>
  (target) => {
    crossFieldRules.set(target.name, rule);
  };

const DESCRIPTION = [
  'Durable multi-provider AI workflows on Temporal.',
  '',
  'Every `/v1` operation needs credentials: an API key as `x-api-key` (or as `Authorization: Bearer chorus_…`), or a JWT as `Authorization: Bearer`.',
  'Every error is an RFC 9457 problem details document (`application/problem+json`); a 400 names each rejected field and why in `errors`.',
  'Listings are paged with `pageToken` / `nextPageToken`.',
].join('\n');

/**
 * The OpenAPI 3.1 document of the API, generated from the controllers' decorators (operations,
 * parameters, request DTOs) and the answer schemas of `src/contract/api.ts`. The committed
 * `openapi.json` is this document (`npm run openapi:export`; a unit test checks it is current).
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Chorus')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .addApiKey({ type: 'apiKey', name: 'x-api-key', in: 'header', description: 'A Chorus API key (`chorus_…`)' }, 'api-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT from the configured issuer, or a Chorus API key' }, 'bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  const schemas = { ...document.components?.schemas } as Record<string, Record<string, unknown>>;
  for (const [name, schema] of Object.entries(schemas)) {
    // The request DTOs: the global validation pipe rejects any field they do not name.
    schemas[name] = { ...schema, additionalProperties: false, ...crossFieldRules.get(name) };
  }
  // The definition format with the built-in providers (a deployment's own instances are in GET /v1/pipelines/schema).
  const { $schema: _schema, $id: _id, ...definition } = pipelineJsonSchema();
  document.components = { ...document.components, schemas: { ...schemas, ...contractJsonSchemas(), PipelineDefinition: definition } };
  return document;
}
