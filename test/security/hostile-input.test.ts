import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import type request from 'supertest';
import { SCOPES } from '../../src/config/auth';
import type { EncryptionSettings } from '../../src/config/encryption';
import { keyEntry, startApiApp } from '../helpers/api-app';
import { testTemporalSettings } from '../helpers/stack';

const FUZZ_KEY = 'chorus_fuzz-key-0123456789';
const auth = { 'x-api-key': FUZZ_KEY };
const encryption: EncryptionSettings = { keys: new Map([['fuzz', Buffer.alloc(32, 7)]]), activeKeyId: 'fuzz' };

/** Keys that attack JavaScript objects, and strings that attack templates, queries and parsers. */
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '{{constructor.constructor("return process")()}}',
    '{{input.__proto__.polluted}}',
    '{{ steps.draft.text }}{{',
    '${process.exit(1)}',
    "x' OR ChorusTenant != '",
    '\u0000\u202e\ud800',
    '../../etc/passwd',
    '%00%2e%2e%2f',
    'A'.repeat(70_000),
  ),
);
/** JSON values whose objects sometimes carry hostile keys (as own properties, the way JSON.parse makes them). */
const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 2 }), hostileString, tie('object'), fc.array(tie('value'), { maxLength: 4 })),
  object: fc
    .array(
      fc.tuple(
        fc.oneof(
          hostileKey,
          fc.string({ maxLength: 12 }),
          fc.constantFrom('pipeline', 'input', 'definition', 'steps', 'prompt', 'provider', 'task', 'payloads', 'metadata', 'data', 'to', 'eventId'),
        ),
        tie('value'),
      ),
      {
        maxLength: 5,
      },
    )
    .map((entries) => JSON.parse(`{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value ?? null)}`).join(',')}}`) as unknown),
})).value;

/** Percent-encodes every byte, so even lone surrogates and NULs reach the server as sent. */
const percent = (value: string) => [...Buffer.from(value, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
const queryString = (query: Record<string, string>) =>
  Object.entries(query)
    .map(([key, value]) => `${percent(key)}=${percent(value)}`)
    .join('&');

/**
 * Hostile input gets a clear 4xx, never a 5xx or a crash (OWASP API4/API8): property-based tests of
 * the main routes, then a fuzz run over every operation of the OpenAPI document.
 */
describe('hostile input', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  const serverErrors: string[] = [];
  let sent = 0;

  beforeAll(async () => {
    ({ app, http } = await startApiApp(
      testTemporalSettings('hostile-input'),
      { auth: { apiKeys: [keyEntry('fuzzer', FUZZ_KEY, 'fuzz-tenant', SCOPES)] }, maxBodyBytes: 200_000, maxWaitSeconds: 1 },
      encryption,
    ));
  });
  afterAll(async () => {
    await app?.close();
  });

  const record = (what: string, response: request.Response) => {
    sent += 1;
    if (response.status >= 500) serverErrors.push(`${what} → ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
    return response;
  };
  /** Any JSON value as the body, including bare numbers and strings (supertest only sends objects itself). */
  const sendJson = (call: request.Test, body: unknown) => call.set('content-type', 'application/json').send(JSON.stringify(body ?? null));
  const expectClientError = (response: request.Response) => {
    expect(response.status).toBeLessThan(500);
    // Why, as problem details; on the OpenAI wire (chat completions, models) as OpenAI's error body.
    if (response.status >= 400) expect(typeof (response.body.detail ?? response.body.error?.message)).toBe('string');
  };

  it('POST /v1/workflows: any JSON body is accepted or refused with a 4xx that says why', async () => {
    await fc.assert(
      fc.asyncProperty(hostileJson, async (body) => {
        expectClientError(record('POST /v1/workflows', await sendJson(http.post('/v1/workflows').set(auth), body)));
      }),
      { numRuns: 150 },
    );
  });

  it('POST /v1/workflows: hostile inputs, definitions and template injections never pollute prototypes or run code', async () => {
    const definition = fc.record({
      name: fc.oneof(fc.constant('hostile'), hostileString),
      steps: fc.array(
        fc.record({
          id: fc.oneof(fc.constant('a'), hostileKey, hostileString),
          provider: fc.constantFrom('openai', 'acme', '__proto__'),
          task: fc.constantFrom('generate', 'extract', 'x'),
          prompt: hostileString,
          when: hostileJson,
        }),
        { maxLength: 3 },
      ),
      output: hostileJson,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.record({ definition, input: hostileJson }), fc.record({ pipeline: fc.constant('classic'), input: hostileJson })),
        async (body) => {
          expectClientError(record('POST /v1/workflows (definition)', await sendJson(http.post('/v1/workflows').set(auth), body)));
        },
      ),
      { numRuns: 150 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('path and query parameters: any string is a 4xx (or 404), never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(hostileString, hostileString, async (id, query) => {
        const encodedId = percent(id.slice(0, 600)) || 'x';
        expectClientError(record('GET /v1/workflows/:id', await http.get(`/v1/workflows/${encodedId}`).set(auth)));
        const list = queryString({ pipeline: query.slice(0, 500), status: query.slice(0, 50), limit: query.slice(0, 20) });
        expectClientError(record('GET /v1/workflows?', await http.get(`/v1/workflows?${list}`).set(auth)));
        expectClientError(
          record('GET /result', await http.get(`/v1/workflows/${encodedId}/result?${queryString({ waitSeconds: query.slice(0, 20) })}`).set(auth)),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('malformed JSON, wrong content types and oversized bodies are 4xx', async () => {
    for (const raw of ['{', '{"pipeline": }', '[1,2', 'null', '"just a string"', '{"__proto__": {"polluted": true}}', '\u0000']) {
      expectClientError(record('raw body', await http.post('/v1/workflows').set(auth).set('content-type', 'application/json').send(raw)));
    }
    expectClientError(record('text body', await http.post('/v1/workflows').set(auth).set('content-type', 'text/plain').send('pipeline=classic')));
    const huge = record(
      'huge body',
      await http
        .post('/v1/workflows')
        .set(auth)
        .send({ pipeline: 'classic', input: { prompt: 'x'.repeat(300_000) } }),
    );
    expect(huge.status).toBe(413);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('fuzz: every operation in the OpenAPI document, with random parameters and bodies, answers without a 5xx', async () => {
    const document = (await http.get('/docs/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: unknown }>>;
    };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(15);
    const before = sent;
    for (const { path, method, operation } of operations) {
      await fc.assert(
        fc.asyncProperty(
          hostileString,
          hostileJson,
          fc.dictionary(fc.string({ maxLength: 10 }), hostileString, { maxKeys: 3 }),
          async (segment, body, extraQuery) => {
            const url = path.replace(/\{[^}]+\}/g, () => percent(segment.slice(0, 200)) || 'x');
            const query = queryString(
              Object.fromEntries([
                ...(operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => [parameter.name, segment.slice(0, 100)]),
                ...Object.entries(extraQuery).map(([key, value]) => [key, value.slice(0, 100)]),
              ]),
            );
            const call = (http as unknown as Record<string, (url: string) => request.Test>)[method](`${url}?${query}`).set(auth);
            const response = await (method === 'get' ? call : sendJson(call, body));
            expectClientError(record(`${method.toUpperCase()} ${path}`, response));
          },
        ),
        { numRuns: 25 },
      );
    }
    console.log(`fuzz: ${sent - before} requests over ${operations.length} OpenAPI operations, 5xx: ${serverErrors.length}`);
  });

  afterAll(() => {
    console.log(
      `hostile input: ${sent} requests in all, 5xx: ${serverErrors.length}${serverErrors.length ? `\n  ${serverErrors.slice(0, 10).join('\n  ')}` : ''}`,
    );
    expect(serverErrors).toEqual([]);
  });
});
