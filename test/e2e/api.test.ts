import { performance } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import type request from 'supertest';
import { FailureType } from '../../src/pipeline/failures';
import { SECOND_API_KEY, startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { waitFor } from '../helpers/reliability';
import { startTestStack, type TestStack } from '../helpers/stack';

const auth = { 'x-api-key': TEST_API_KEY };

/** The HTTP API in-process, over real HTTP, with a real worker, the real Temporal server and the simulator. */
describe('REST API end to end', () => {
  let stack: TestStack;
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    stack = await startTestStack('api-e2e', { latencyMs: 5 });
    ({ app, http } = await startApiApp(stack.temporal));
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });
  beforeEach(() => stack.simulator.clearRequests());

  const startClassic = async (prompt: string) => {
    const response = await http.post('/v1/workflows').set(auth).send({ pipeline: 'classic', input: { prompt } }).expect(202);
    return response.body as { workflowId: string; runId: string; statusUrl: string; resultUrl: string };
  };
  const waitForResult = (resultUrl: string) => http.get(`${resultUrl}?waitSeconds=25`).set(auth);

  describe('authentication', () => {
    it('answers 401 without an API key', async () => {
      const response = await http.get('/v1/workflows').expect(401);
      expect(response.body.detail).toBe('Missing x-api-key header');
    });

    it('answers 401 for a wrong key and accepts every configured key', async () => {
      await http.get('/v1/workflows').set('x-api-key', 'not-a-key').expect(401);
      await http.get('/v1/workflows').set('x-api-key', SECOND_API_KEY).expect(200);
    });

    it('leaves health probes open', async () => {
      await http.get('/healthz').expect(200, { status: 'ok' });
      await http.get('/readyz').expect(200, { status: 'ready', temporal: 'reachable' });
    });
  });

  it('starts the classic pipeline at once and returns draft, summary and sentiment to a poll by ID', async () => {
    const started = await startClassic('Why durable execution is a great help');
    expect(started.workflowId).toMatch(/^classic-/);
    expect(started.statusUrl).toBe(`/v1/workflows/${started.workflowId}`);

    const done = await waitForResult(started.resultUrl).expect(200);
    expect(done.body).toMatchObject({ workflowId: started.workflowId, runId: started.runId, pipeline: 'classic', status: 'COMPLETED', simulated: true });
    expect(done.body.result.output).toEqual({
      draft: expect.stringContaining('Why durable execution is a great help'),
      summary: expect.any(String),
      sentiment: { label: expect.stringMatching(/^(positive|negative|neutral)$/), score: expect.any(Number) },
    });
    expect(done.body.steps.map((step: { status: string }) => step.status)).toEqual(['done', 'done', 'done']);

    const status = await http.get(started.statusUrl).set(auth).expect(200);
    expect(status.body.result).toEqual(done.body.result);
  });

  it('shows per-step progress of a running pipeline, and the long-poll answers 202 until it closes', async () => {
    const started = await startClassic('Slow draft [[sim:openai,latency=6000]]');
    // On a busy machine the first workflow task can take a moment; the draft call itself takes 6 s.
    let pending: Awaited<ReturnType<typeof waitForResult>> | undefined;
    await waitFor(
      'the draft step to be running',
      async () => {
        pending = await http.get(`${started.resultUrl}?waitSeconds=1`).set(auth);
        return pending.status === 202 && pending.body.steps?.[0]?.status === 'running';
      },
      5000,
      200,
    );
    expect(pending?.status).toBe(202);
    expect(pending?.body.status).toBe('RUNNING');
    expect(pending?.body.steps).toEqual([
      { id: 'draft', provider: 'openai', status: 'running', attempts: 1 },
      { id: 'summary', provider: 'cohere', status: 'pending' },
      { id: 'sentiment', provider: 'gemini', status: 'pending' },
    ]);
    await waitForResult(started.resultUrl).expect(200);
  });

  describe('status reads of a running run', () => {
    // A query sent before the run's first workflow task completed used to wait for it: 1.5–2 s.
    it('answers the first read right after the 202 at once, with every step pending or running', async () => {
      const started = await startClassic('Read me at once [[sim:openai,latency=3000]]');
      const sentAt = performance.now();
      const first = await http.get(started.statusUrl).set(auth).expect(200);
      const elapsedMs = performance.now() - sentAt;
      expect(first.body).toMatchObject({ workflowId: started.workflowId, runId: started.runId, status: 'RUNNING' });
      expect(first.body.steps).toEqual([
        expect.objectContaining({ id: 'draft', provider: 'openai', status: expect.stringMatching(/^(pending|running)$/) }),
        { id: 'summary', provider: 'cohere', status: 'pending' },
        { id: 'sentiment', provider: 'gemini', status: 'pending' },
      ]);
      // Generous against a loaded machine; the point is that it does not wait out the first workflow task.
      expect(elapsedMs).toBeLessThan(500);
      await waitForResult(started.resultUrl).expect(200);
    });

    it('shows exact progress mid-run, live attempts included, read after read', async () => {
      // The summary's first attempt takes 1.5 s and fails with a 503; Temporal retries it after 3 s.
      const started = await startClassic('Exact progress [[sim:cohere:503x1,retry-after=3,latency=1500]]');
      const stepsNow = async () => (await http.get(started.statusUrl).set(auth).expect(200)).body.steps as unknown[];
      const draftDone = { id: 'draft', provider: 'openai', status: 'done', attempts: 1 };
      const sentimentPending = { id: 'sentiment', provider: 'gemini', status: 'pending' };
      const firstAttempt = [draftDone, { id: 'summary', provider: 'cohere', status: 'running', attempts: 1 }, sentimentPending];
      const retrying = [
        draftDone,
        {
          id: 'summary',
          provider: 'cohere',
          status: 'running',
          attempts: 2,
          lastError: { type: FailureType.ProviderUnavailable, message: expect.any(String) },
        },
        sentimentPending,
      ];
      let steps: unknown[] = [];
      // Running with its attempt: describe and query are two reads, so a step can show running before its activity shows pending.
      await waitFor(
        'the summary to be running its first attempt',
        async () => {
          steps = await stepsNow();
          return (steps?.[1] as { attempts?: number } | undefined)?.attempts === 1;
        },
        5000,
        50,
      );
      expect(steps).toEqual(firstAttempt);
      expect(await stepsNow()).toEqual(firstAttempt);
      await waitFor(
        'the summary to wait for its second attempt',
        async () => {
          steps = await stepsNow();
          return (steps?.[1] as { attempts?: number } | undefined)?.attempts === 2;
        },
        5000,
        50,
      );
      expect(steps).toEqual(retrying);
      expect(await stepsNow()).toEqual(retrying);
      const done = await waitForResult(started.resultUrl).expect(200);
      expect(done.body.steps.map((step: { status: string; attempts: number }) => `${step.status}#${step.attempts}`)).toEqual(['done#1', 'done#2', 'done#1']);
    });
  });

  it('retries a provider 503 and completes', async () => {
    const started = await startClassic('Flaky summary [[sim:cohere:503x2]]');
    const done = await waitForResult(started.resultUrl).expect(200);
    expect(done.body.status).toBe('COMPLETED');
    expect(done.body.steps[1]).toEqual({ id: 'summary', provider: 'cohere', status: 'done', attempts: 3 });
  });

  it('honours a provider 429 Retry-After and completes', async () => {
    const started = await startClassic('Busy draft [[sim:openai:429x1,retry-after=2]]');
    const done = await waitForResult(started.resultUrl).expect(200);
    expect(done.body.status).toBe('COMPLETED');
    expect(done.body.steps[0].attempts).toBe(2);
    const [limited, retried] = stack.simulator.requests().filter((record) => record.provider === 'openai');
    expect(retried.receivedAt - limited.receivedAt).toBeGreaterThanOrEqual(2000);
  });

  it('reports a non-retryable provider 401 as a typed failure of its step', async () => {
    const started = await startClassic('Bad key [[sim:gemini:401]]');
    const failed = await waitForResult(started.resultUrl).expect(200);
    expect(failed.body).toMatchObject({ status: 'FAILED', error: { type: FailureType.ProviderAuthFailed, step: 'sentiment' } });
    expect(failed.body.steps.map((step: { status: string }) => step.status)).toEqual(['done', 'done', 'failed']);
    expect(stack.simulator.requests().filter((record) => record.provider === 'gemini')).toHaveLength(1);
  });

  it('cancels a running pipeline', async () => {
    const started = await startClassic('Never mind [[sim:openai,latency=20000]]');
    await http.post(`${started.statusUrl}/cancel`).set(auth).expect(202, { workflowId: started.workflowId, status: 'CANCEL_REQUESTED' });
    const cancelled = await waitForResult(started.resultUrl).expect(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    expect(cancelled.body.steps.map((step: { status: string }) => step.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('lists runs by pipeline through Temporal visibility', async () => {
    const started = await startClassic('Listed');
    const listed = await waitFor(
      'the run to be listed',
      async () =>
        (await http.get('/v1/workflows?pipeline=classic&limit=100').set(auth).expect(200)).body.workflows as { workflowId: string; pipeline: string }[],
      { timeoutMs: 15_000, intervalMs: 250, until: (workflows) => workflows.some((run) => run.workflowId === started.workflowId) },
    );
    expect(listed).toContainEqual(expect.objectContaining({ workflowId: started.workflowId, pipeline: 'classic' }));
    await waitForResult(started.resultUrl).expect(200);
  });

  describe('bad input gets a 400 naming the field, and starts nothing', () => {
    it.each([
      [{ pipeline: 'nope', input: { prompt: 'x' } }, 'pipeline', /unknown pipeline "nope"/],
      [{ pipeline: 'classic', input: {} }, 'input.prompt', /required/],
      [{ pipeline: 'classic', input: { prompt: 'x' }, extra: true }, 'extra', /should not exist/],
      [{ pipeline: 'classic', input: 'a string' }, 'input', /JSON object/],
      [{ pipeline: 'bad name!', input: { prompt: 'x' } }, 'pipeline', /letters, digits/],
      [{ input: { prompt: 'x' } }, 'pipeline', /either pipeline \(a name\) or definition/],
    ])('%j → 400 on %s', async (body, field, reason) => {
      const response = await http.post('/v1/workflows').set(auth).send(body).expect(400);
      expect(response.body.errors).toContainEqual({ field, reason: expect.stringMatching(reason) });
      expect(stack.simulator.requests()).toHaveLength(0);
    });

    it('rejects malformed JSON with 400', async () => {
      await http.post('/v1/workflows').set(auth).set('content-type', 'application/json').send('{"pipeline": ').expect(400);
    });

    it.each([
      ['/v1/workflows/some-id/result?waitSeconds=31', 'waitSeconds'],
      ['/v1/workflows/some-id/result?waitSeconds=soon', 'waitSeconds'],
      ['/v1/workflows?limit=0', 'limit'],
      ['/v1/workflows?status=SLEEPING', 'status'],
      ["/v1/workflows?pipeline=x' OR 1=1", 'pipeline'],
    ])('GET %s → 400 on %s', async (url, field) => {
      const response = await http.get(url).set(auth).expect(400);
      expect(response.body.errors.map((problem: { field: string }) => problem.field)).toContain(field);
    });
  });

  it.each([
    ['get', '/v1/workflows/unknown-id'],
    ['get', '/v1/workflows/unknown-id/result?waitSeconds=1'],
    ['post', '/v1/workflows/unknown-id/cancel'],
  ] as const)('%s %s → 404 for an unknown workflow ID', async (method, url) => {
    await http[method](url).set(auth).expect(404);
  });

  describe('pipelines', () => {
    it('lists the named pipelines with the input each needs', async () => {
      const response = await http.get('/v1/pipelines').set(auth).expect(200);
      expect(response.body.pipelines).toEqual(
        expect.arrayContaining([
          { name: 'classic', description: expect.any(String), requiredInput: ['prompt'] },
          { name: 'digest', description: expect.any(String), requiredInput: ['documents'] },
          { name: 'escalate', description: expect.any(String), requiredInput: ['message'] },
          { name: 'parallel-judge', description: expect.any(String), requiredInput: ['text'] },
        ]),
      );
    });

    it('shows one pipeline with its definition, and 404 for an unknown name', async () => {
      const response = await http.get('/v1/pipelines/escalate').set(auth).expect(200);
      expect(response.body.definition.steps.map((step: { id: string }) => step.id)).toEqual(['answer', 'mood', 'escalated']);
      await http.get('/v1/pipelines/nope').set(auth).expect(404);
    });

    it('serves the definition JSON Schema', async () => {
      const response = await http.get('/v1/pipelines/schema').set(auth).expect(200);
      expect(response.body.title).toBe('Chorus pipeline definition');
    });

    const adhoc = {
      name: 'adhoc-translate',
      steps: [
        { id: 'translate', provider: 'openai', task: 'generate', prompt: 'Translate to French: {{input.text}}' },
        { id: 'check', provider: 'gemini', task: 'classify', labels: ['good', 'bad'], prompt: 'Is this translation good? {{steps.translate.text}}' },
      ],
    };

    it('validates a definition without starting it', async () => {
      const response = await http.post('/v1/pipelines/validate').set(auth).send(adhoc).expect(200);
      expect(response.body).toEqual({ valid: true, name: 'adhoc-translate', description: null, requiredInput: ['text'] });
    });

    it('answers 400 listing each problem of an invalid definition with its JSON path', async () => {
      const broken = {
        name: 'broken',
        steps: [
          { id: 'a', provider: 'acme', task: 'generate', prompt: 'x' },
          { id: 'b', provider: 'openai', task: 'generate', prompt: '{{steps.c.text}}' },
          { id: 'c', provider: 'openai', task: 'extract', schema: { type: 12 }, prompt: '{{ 1 + 1 }}' },
        ],
      };
      const response = await http.post('/v1/pipelines/validate').set(auth).send(broken).expect(400);
      expect(response.body.errors).toEqual(expect.arrayContaining([{ field: '$.steps[0].provider', reason: expect.any(String) }]));
      const fixedProvider = { ...broken, steps: [{ ...broken.steps[0], provider: 'openai' }, ...broken.steps.slice(1)] };
      const semantic = await http.post('/v1/pipelines/validate').set(auth).send(fixedProvider).expect(400);
      expect(semantic.body.errors.map((problem: { field: string }) => problem.field)).toEqual(
        expect.arrayContaining(['$.steps[1].prompt', '$.steps[2].schema', '$.steps[2].prompt']),
      );
    });

    it('runs an inline definition and reports usage and cost per call', async () => {
      const started = await http
        .post('/v1/workflows')
        .set(auth)
        .send({ definition: adhoc, input: { text: 'Good morning' } })
        .expect(202);
      expect(started.body.workflowId).toMatch(/^adhoc-translate-/);
      const done = await waitForResult(started.body.resultUrl).expect(200);
      expect(done.body.status).toBe('COMPLETED');
      expect(done.body.result.steps.check.data.label).toMatch(/^(good|bad)$/);
      expect(done.body.result.usage.steps).toEqual([
        expect.objectContaining({ step: 'translate', provider: 'openai', model: 'gpt-4o-mini', attempts: 1, simulated: true, costUsd: expect.any(Number) }),
        expect.objectContaining({ step: 'check', provider: 'gemini', model: 'gemini-2.0-flash', attempts: 1, simulated: true, costUsd: expect.any(Number) }),
      ]);
      expect(done.body.result.usage.total.costUsd).toBeGreaterThan(0);
      expect(done.body.costUsd).toBeCloseTo(done.body.result.usage.total.costUsd, 10);
      expect(done.body.totalTokens).toBe(done.body.result.usage.total.inputTokens + done.body.result.usage.total.outputTokens);
    });

    it('rejects an invalid inline definition with paths under "definition", starting nothing', async () => {
      const response = await http
        .post('/v1/workflows')
        .set(auth)
        .send({ definition: { name: 'x', steps: [{ id: 'a', provider: 'openai', task: 'generate', prompt: '{{steps.z.text}}' }] }, input: {} })
        .expect(400);
      expect(response.body.errors).toEqual([{ field: 'definition.steps[0].prompt', reason: '"steps.z.text" reads unknown step "z"' }]);
      expect(stack.simulator.requests()).toHaveLength(0);
    });

    it('rejects a map input that is not a list, or too long, before starting', async () => {
      const notList = await http
        .post('/v1/workflows')
        .set(auth)
        .send({ pipeline: 'digest', input: { documents: 'one' } })
        .expect(400);
      expect(notList.body.errors).toEqual([{ field: 'input.documents', reason: 'must be a list (step "summaries" maps over it)' }]);
      const tooLong = await http
        .post('/v1/workflows')
        .set(auth)
        .send({ pipeline: 'digest', input: { documents: Array(501).fill('d') } })
        .expect(400);
      expect(tooLong.body.errors[0].reason).toBe('must have at most 500 elements');
    });

    it('refuses both a name and a definition', async () => {
      const response = await http
        .post('/v1/workflows')
        .set(auth)
        .send({ pipeline: 'classic', definition: adhoc, input: { prompt: 'x' } })
        .expect(400);
      expect(response.body.errors[0].field).toBe('pipeline');
    });
  });

  it('serves the OpenAPI document', async () => {
    const response = await http.get('/docs/openapi.json').expect(200);
    expect(Object.keys(response.body.paths)).toEqual(expect.arrayContaining(['/v1/workflows', '/v1/workflows/{id}', '/v1/workflows/{id}/result']));
  });
});
