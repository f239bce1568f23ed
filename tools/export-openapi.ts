import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from '../api/app.module';
import { createOpenApiDocument } from '../api/openapi/document';
import { loadApiSettings } from '../src/config/api';
import { keyDigest } from '../src/config/auth';
import { loadTemporalSettings } from '../src/config/temporal';
import { commandLine } from '../src/process/command-line';
import { projectRoot } from '../src/project-root';

/** The one file the document is exported to and the client is generated from. */
export const OPENAPI_DOCUMENT_PATH = join(projectRoot(), 'openapi.json');

/**
 * Builds the API's OpenAPI document in-process, without listening or reaching Temporal (its connection
 * is lazy). Default settings, not the environment's: the document must not depend on who exports it.
 */
export async function buildOpenApiDocument(): Promise<OpenAPIObject> {
  // The API refuses to boot without credentials; this one's digest matches no key anyone holds.
  const noKey = [{ id: 'openapi-export', tenant: 'openapi-export', scopes: ['workflows:read'], sha256: keyDigest(randomUUID()) }];
  const api = loadApiSettings({ CHORUS_API_KEYS: JSON.stringify(noKey) });
  const app = await NestFactory.create(AppModule.forRoot({ api, temporal: loadTemporalSettings({}) }), { logger: false });
  try {
    return createOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

export const openApiDocumentText = (document: OpenAPIObject) => `${JSON.stringify(document, null, 2)}\n`;

export async function exportOpenApiDocument(path = OPENAPI_DOCUMENT_PATH): Promise<OpenAPIObject> {
  const document = await buildOpenApiDocument();
  writeFileSync(path, openApiDocumentText(document));
  return document;
}

if (require.main === module) {
  commandLine('npm run openapi:export --', `Writes the REST API's OpenAPI document to ${OPENAPI_DOCUMENT_PATH}`).parse();
  exportOpenApiDocument().then(
    () => console.log(`wrote ${OPENAPI_DOCUMENT_PATH}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
