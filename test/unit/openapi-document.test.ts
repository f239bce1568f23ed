import { readFileSync } from 'node:fs';
import { buildOpenApiDocument, OPENAPI_DOCUMENT_PATH, openApiDocumentText } from '../../tools/export-openapi';

interface Operation {
  operationId?: string;
  responses: Record<string, { content?: Record<string, { schema?: unknown }>; headers?: Record<string, unknown> }>;
  security?: Record<string, string[]>[];
}
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

const operations = (document: Document) =>
  Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ label: `${method.toUpperCase()} ${path}`, operation })),
  );

describe('the OpenAPI document (openapi.json) is the contract', () => {
  let generated: string;
  let document: Document;
  beforeAll(async () => {
    generated = openApiDocumentText(await buildOpenApiDocument());
    document = JSON.parse(generated) as Document;
  });

  it('is committed as the code generates it now (else run npm run openapi:export)', () => {
    expect(readFileSync(OPENAPI_DOCUMENT_PATH, 'utf8')).toBe(generated);
  });

  it('is OpenAPI 3.1 with both auth schemes, and every /v1 operation accepts either', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['api-key', 'bearer']);
    const v1 = operations(document).filter(({ label }) => label.includes(' /v1/'));
    expect(v1).toHaveLength(28);
    for (const { label, operation } of v1) expect({ label, security: operation.security }).toEqual({ label, security: [{ bearer: [] }, { 'api-key': [] }] });
  });

  it('names every operation readably and once', () => {
    const ids = operations(document).map(({ operation }) => operation.operationId);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z]+$/);
    expect(ids).toEqual(
      expect.arrayContaining(['startRun', 'getRun', 'listRuns', 'cancelRun', 'streamRunEvents', 'createSchedule', 'listSchedules', 'getUsage']),
    );
  });

  it('declares a body schema for every answer but 204, and problem details for every error (OpenAI error bodies on the OpenAI wire)', () => {
    const openAiWire = ['POST /v1/chat/completions', 'GET /v1/chat/completions/{id}', 'GET /v1/models'];
    for (const { label, operation } of operations(document)) {
      const openAi = openAiWire.includes(label);
      for (const [status, response] of Object.entries(operation.responses)) {
        if (status === '204') continue;
        const content = response.content ?? {};
        const mediaTypes = Object.keys(content);
        if (Number(status) >= 400) {
          expect({ label, status, mediaTypes }).toEqual({ label, status, mediaTypes: [openAi ? 'application/json' : 'application/problem+json'] });
          expect(content[mediaTypes[0]!]!.schema).toEqual({ $ref: `#/components/schemas/${openAi ? 'OpenAiError' : 'Problem'}` });
        } else {
          // A chat completion answers as JSON, or streamed as server-sent events.
          if (label === 'POST /v1/chat/completions') expect(mediaTypes).toEqual(['application/json', 'text/event-stream']);
          else expect({ label, status, count: mediaTypes.length }).toEqual({ label, status, count: 1 });
        }
      }
      if (label.includes(' /v1/')) expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
    }
  });

  it('streams events as text/event-stream and gives every 202 a Location', () => {
    expect(Object.keys(document.paths['/v1/workflows/{id}/events']!.get!.responses['200']!.content!)).toEqual(['text/event-stream']);
    const accepted = operations(document).filter(({ operation }) => operation.responses['202']);
    expect(accepted.map(({ label }) => label).sort()).toEqual([
      'GET /v1/workflows/{id}/result',
      'POST /v1/schedules/{id}/trigger',
      'POST /v1/workflows',
      'POST /v1/workflows/{id}/cancel',
      'POST /v1/workflows/{id}/rerun',
      'POST /v1/workflows/{id}/reset',
    ]);
    for (const { operation } of accepted) expect(Object.keys(operation.responses['202']!.headers ?? {})).toEqual(['Location']);
  });

  it('every schema it refers to is defined', () => {
    const refs = [...generated.matchAll(/"\$ref": "#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1]!);
    expect(refs.length).toBeGreaterThan(50);
    for (const name of new Set(refs)) expect({ name, defined: name in document.components.schemas }).toEqual({ name, defined: true });
  });
});
