import type { INestApplication } from '@nestjs/common';
import type request from 'supertest';
import { createChorusClient, type ChorusClient } from '../../clients/typescript/src';
import { FailureType } from '../../src/pipeline/failures';
import type { PipelineDefinition } from '../../src/pipeline/types';
import { SECOND_API_KEY, startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

const auth = { 'x-api-key': TEST_API_KEY };

interface ServerSentEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** Server-Sent Events (live progress) and approval steps (human in the loop), over real HTTP on the real stack. */
describe('live progress and approvals', () => {
  let stack: TestStack;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  /** The generated client (@chorus/client): the stream's path and its Last-Event-ID header are checked against the OpenAPI document. */
  let client: ChorusClient;
  let otherTenant: ChorusClient;

  beforeAll(async () => {
    stack = await startTestStack('live-progress', { latencyMs: 150 });
    ({ app, http } = await startApiApp(stack.temporal));
    await app.listen(0, '127.0.0.1');
    const baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    client = createChorusClient({ baseUrl, apiKey: TEST_API_KEY });
    otherTenant = createChorusClient({ baseUrl, apiKey: SECOND_API_KEY });
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });

  /** Reads a whole event stream (it ends when the run closes). */
  async function readEvents(workflowId: string, lastEventId?: string): Promise<ServerSentEvent[]> {
    const { data: text, response } = await client.GET('/v1/workflows/{id}/events', {
      params: { path: { id: workflowId }, header: lastEventId === undefined ? undefined : { 'Last-Event-ID': lastEventId } },
      parseAs: 'text',
      signal: AbortSignal.timeout(30_000),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    if (text === undefined) throw new Error('the event stream had no body');
    return text
      .split('\n\n')
      .filter((block) => block.startsWith('id:'))
      .map((block) => {
        const field = (name: string) =>
          block
            .split('\n')
            .find((line) => line.startsWith(`${name}: `))
            ?.slice(name.length + 2) ?? '';
        return { id: Number(field('id')), event: field('event'), data: JSON.parse(field('data')) as Record<string, unknown> };
      });
  }
  const start = async (body: object) => (await http.post('/v1/workflows').set(auth).send(body).expect(202)).body.workflowId as string;

  it('streams one event per step state change and a final event with the result, resumable with Last-Event-ID', async () => {
    const workflowId = await start({ pipeline: 'classic', input: { prompt: 'Streaming, step by step' } });
    const events = await readEvents(workflowId);
    const steps = events.filter((event) => event.event === 'step').map((event) => `${event.data.step}:${event.data.status}`);
    expect(steps).toEqual(['draft:running', 'draft:done', 'summary:running', 'summary:done', 'sentiment:running', 'sentiment:done']);
    const final = events[events.length - 1];
    expect(final.event).toBe('run');
    expect(final.data).toMatchObject({ workflowId, status: 'COMPLETED', result: { output: { draft: expect.stringContaining('Streaming') } } });
    expect(events.map((event) => event.id)).toEqual([...events.map((event) => event.id)].sort((a, b) => a - b));

    const resumed = await readEvents(workflowId, String(events[2].id));
    expect(resumed.map((event) => event.id)).toEqual(events.slice(3).map((event) => event.id));
  });

  it('reports retried and failed calls with their failure type', async () => {
    const workflowId = await start({ pipeline: 'classic', input: { prompt: 'Refused [[sim:gemini:401]]' } });
    const events = await readEvents(workflowId);
    expect(events.find((event) => event.data.step === 'sentiment' && event.data.status === 'failed')?.data).toMatchObject({
      errorType: FailureType.ProviderAuthFailed,
    });
    expect(events[events.length - 1].data).toMatchObject({ status: 'FAILED', error: { type: FailureType.ProviderAuthFailed } });
  });

  it('answers 404 for another tenant’s run, before streaming anything', async () => {
    const workflowId = await start({ pipeline: 'classic', input: { prompt: 'Mine' } });
    const { response } = await otherTenant.GET('/v1/workflows/{id}/events', { params: { path: { id: workflowId } }, parseAs: 'text' });
    expect(response.status).toBe(404);
    await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=20`).set(auth).expect(200);
  });

  describe('approval steps', () => {
    beforeEach(() => stack.simulator.clearRequests());
    const reviewed = (approval: Record<string, unknown>, when?: unknown): PipelineDefinition =>
      ({
        name: 'reviewed',
        steps: [
          { id: 'draft', provider: 'openai', task: 'generate', prompt: '{{input.topic}}' },
          { id: 'review', approval: { prompt: 'Publish this draft? {{steps.draft.text}}', ...approval } },
          { id: 'publish', provider: 'cohere', task: 'summarize', prompt: 'Summarize the following text.\n\n{{steps.draft.text}}', ...(when ? { when } : {}) },
        ],
        output: { summary: 'steps.publish.text', review: 'steps.review' },
      }) as PipelineDefinition;

    const waitForApproval = (workflowId: string) =>
      waitFor(
        'the run to wait for approval',
        async () => (await http.get(`/v1/workflows/${workflowId}`).set(auth).expect(200)).body.steps?.find((step: { id: string }) => step.id === 'review'),
        { timeoutMs: 15_000, until: (review) => review?.status === 'waiting' },
      );

    it('pauses until approved, shows what is asked, and carries the decision and comment into the result', async () => {
      const workflowId = await start({ definition: reviewed({ timeout: '1h' }), input: { topic: 'A launch announcement' } });
      const waiting = await waitForApproval(workflowId);
      expect(waiting).toMatchObject({
        provider: 'human',
        approval: { prompt: expect.stringMatching(/^Publish this draft\? .*launch announcement/), timeoutAt: expect.any(String) },
      });
      const paused = (await http.get(`/v1/workflows/${workflowId}`).set(auth).expect(200)).body;
      expect(paused.steps.map((step: { status: string }) => step.status)).toEqual(['done', 'waiting', 'pending']);

      await http
        .post(`/v1/workflows/${workflowId}/approve`)
        .set(auth)
        .send({ comment: 'Ship it' })
        .expect(200, { workflowId, step: 'review', decision: 'approved' });
      const done = (await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=20`).set(auth).expect(200)).body;
      expect(done.status).toBe('COMPLETED');
      expect(done.result.output.review).toMatchObject({ decision: 'approved', comment: 'Ship it', by: 'e2e', timedOut: false });
      expect(done.result.output.summary).toEqual(expect.any(String));
      await http.post(`/v1/workflows/${workflowId}/approve`).set(auth).send({}).expect(409);
    });

    it('streams the decision under the approval step’s own id', async () => {
      const workflowId = await start({ definition: reviewed({ timeout: '1h' }), input: { topic: 'Streamed decision' } });
      const events = readEvents(workflowId);
      await waitForApproval(workflowId);
      await http.post(`/v1/workflows/${workflowId}/approve`).set(auth).send({}).expect(200);
      const decided = (await events).filter((event) => event.data.status === 'decided');
      expect(decided.map((event) => event.data)).toEqual([{ step: 'review', call: 'review', status: 'decided' }]);
    });

    it('fails the run as ApprovalRejected when rejected', async () => {
      const workflowId = await start({ definition: reviewed({}), input: { topic: 'A risky claim' } });
      await waitForApproval(workflowId);
      await http.post(`/v1/workflows/${workflowId}/reject`).set(auth).send({ comment: 'Not accurate' }).expect(200);
      const done = (await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=20`).set(auth).expect(200)).body;
      expect(done).toMatchObject({ status: 'FAILED', error: { type: FailureType.ApprovalRejected, step: 'review', message: 'Rejected by e2e: Not accurate' } });
    });

    it('lets later steps branch on a rejection with onReject: continue', async () => {
      const definition = reviewed({ onReject: 'continue' }, { '==': [{ var: 'steps.review.decision' }, 'approved'] });
      const workflowId = await start({ definition, input: { topic: 'Maybe' } });
      await waitForApproval(workflowId);
      await http.post(`/v1/workflows/${workflowId}/reject`).set(auth).send({}).expect(200);
      const done = (await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=20`).set(auth).expect(200)).body;
      expect(done.status).toBe('COMPLETED');
      expect(done.result.output).toMatchObject({ summary: null, review: { decision: 'rejected' } });
      expect(done.steps.find((step: { id: string }) => step.id === 'publish').status).toBe('skipped');
    });

    it('decides by its timeout default when nobody answers', async () => {
      const workflowId = await start({ definition: reviewed({ timeout: '1s', onTimeout: 'approve' }), input: { topic: 'Quiet' } });
      const done = (await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=20`).set(auth).expect(200)).body;
      expect(done.status).toBe('COMPLETED');
      expect(done.result.output.review).toMatchObject({ decision: 'approved', by: null, timedOut: true });
    });

    it('answers 409 when the run waits for no approval, and 404 to another tenant', async () => {
      const workflowId = await start({ pipeline: 'classic', input: { prompt: 'No approval here' } });
      await http.post(`/v1/workflows/${workflowId}/approve`).set(auth).send({}).expect(409);
      await http.post(`/v1/workflows/${workflowId}/approve`).set('x-api-key', SECOND_API_KEY).send({}).expect(404);
    });
  });
});
