import { readFileSync } from 'node:fs';
import { createChorusClient } from '../../clients/typescript/src';
import { buildOpenApiDocument } from '../../tools/export-openapi';
import { CLIENT_SCHEMA_PATH, clientSchemaText } from '../../tools/generate-client';

/** A fetch that records each request and answers `body` as JSON. */
function recordingFetch(body: unknown = {}, status = 200) {
  const requests: Request[] = [];
  const fetch = async (request: Request) => {
    requests.push(request);
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
  return { requests, fetch };
}

describe('the TypeScript client (@chorus/client)', () => {
  it('is generated from the OpenAPI document the API produces now (else run `npm run openapi:export && npm run client:generate`)', async () => {
    const document = await buildOpenApiDocument();
    expect(Object.keys(document.paths).length).toBeGreaterThanOrEqual(20);
    expect(await clientSchemaText(document)).toBe(readFileSync(CLIENT_SCHEMA_PATH, 'utf8'));
  }, 30_000);

  it('sends an API key as x-api-key and a JWT as a bearer token', async () => {
    const withKey = recordingFetch({ pipelines: [] });
    await createChorusClient({ baseUrl: 'http://chorus.test/', apiKey: 'chorus-dev-key-change-me', fetch: withKey.fetch }).GET('/v1/pipelines');
    expect(withKey.requests).toHaveLength(1);
    expect(withKey.requests[0].url).toBe('http://chorus.test/v1/pipelines');
    expect(withKey.requests[0].headers.get('x-api-key')).toBe('chorus-dev-key-change-me');
    expect(withKey.requests[0].headers.get('authorization')).toBeNull();

    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl';
    const withJwt = recordingFetch({ pipelines: [] });
    await createChorusClient({ baseUrl: 'http://chorus.test', apiKey: jwt, fetch: withJwt.fetch }).GET('/v1/pipelines');
    expect(withJwt.requests[0].headers.get('authorization')).toBe(`Bearer ${jwt}`);
    expect(withJwt.requests[0].headers.get('x-api-key')).toBeNull();
  });

  it('fills path and query parameters and the JSON body from the typed arguments', async () => {
    const { requests, fetch } = recordingFetch({ workflowId: 'a/b' });
    const client = createChorusClient({ baseUrl: 'http://chorus.test', apiKey: 'k', fetch });
    await client.GET('/v1/workflows/{id}/result', { params: { path: { id: 'a/b' }, query: { waitSeconds: 5 } } });
    await client.POST('/v1/workflows/{id}/reset', { params: { path: { id: 'classic-1' } }, body: { to: 'first-workflow-task', reason: 'retry' } });
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET http://chorus.test/v1/workflows/a%2Fb/result?waitSeconds=5',
      'POST http://chorus.test/v1/workflows/classic-1/reset',
    ]);
    expect(await requests[1].json()).toEqual({ to: 'first-workflow-task', reason: 'retry' });
  });

  it('answers an error status as `error` with the parsed body, not as an exception', async () => {
    const { fetch } = recordingFetch({ statusCode: 404, message: 'No workflow run with this ID' }, 404);
    const answer = await createChorusClient({ apiKey: 'k', fetch }).GET('/v1/workflows/{id}', { params: { path: { id: 'nope' } } });
    expect(answer.response.status).toBe(404);
    expect(answer.error).toEqual({ statusCode: 404, message: 'No workflow run with this ID' });
    expect(answer.data).toBeUndefined();
  });
});
