import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type request from 'supertest';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { FailureType } from '../../src/pipeline/failures';
import { startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { waitFor } from '../helpers/wait';
import { startTestStack, type TestStack } from '../helpers/stack';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const auth = { 'x-api-key': TEST_API_KEY };

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A webhook receiver on loopback that fails its first `failFirst` deliveries with 503. */
async function startReceiver(failFirst = 0): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  let failures = failFirst;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body, at: Date.now() });
      res.writeHead(failures-- > 0 ? 503 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/chorus`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Verifies a delivery as a receiver does, with the Standard Webhooks library: the payload, or undefined when it is not genuine. */
function verify({ headers, body }: Received, secret: string): unknown {
  try {
    return new Webhook(secret).verify(body, headers as Record<string, string>);
  } catch {
    return undefined;
  }
}

/** Signed, durable webhooks on the real stack. */
describe('webhooks', () => {
  let stack: TestStack;
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    stack = await startTestStack(
      'webhooks',
      { latencyMs: 5 },
      {},
      { webhooks: { secrets: { acme: [SECRET] }, allowHttp: true, allowPrivateHosts: true, timeoutMs: 2000 } },
    );
    ({ app, http } = await startApiApp(stack.temporal));
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });

  const run = async (prompt: string, callbackUrl: string) => {
    const started = await http.post('/v1/workflows').set(auth).send({ pipeline: 'classic', input: { prompt }, callbackUrl }).expect(202);
    return (await http.get(`/v1/workflows/${started.body.workflowId}/result?waitSeconds=25`).set(auth).expect(200)).body;
  };

  it('POSTs the result, signed with the tenant secret, and shows the delivery in the status', async () => {
    const receiver = await startReceiver();
    try {
      const done = await run('Tell the receiver', receiver.url);
      expect(done.status).toBe('COMPLETED');
      expect(done.webhook).toMatchObject({ url: receiver.url, status: 'delivered', attempts: 1, deliveredAt: expect.any(String) });
      expect(receiver.received).toHaveLength(1);
      const [delivery] = receiver.received;
      expect(verify(delivery, `whsec_${randomBytes(32).toString('base64')}`)).toBeUndefined();
      expect(delivery.headers['webhook-id']).toBe(`${done.workflowId}/${done.runId}`);
      expect(verify(delivery, SECRET)).toMatchObject({
        event: 'run.completed',
        workflowId: done.workflowId,
        pipeline: 'classic',
        status: 'COMPLETED',
        result: { output: { draft: expect.stringContaining('Tell the receiver') } },
      });
    } finally {
      await receiver.close();
    }
  });

  it('shows the delivery in the status of a running run: pending from the first read, delivering while the receiver is down', async () => {
    const receiver = await startReceiver(2);
    try {
      const started = await http
        .post('/v1/workflows')
        .set(auth)
        .send({ pipeline: 'classic', input: { prompt: 'Watch the hook' }, callbackUrl: receiver.url })
        .expect(202);
      const statusNow = async () => (await http.get(started.body.statusUrl).set(auth).expect(200)).body;
      expect(await statusNow()).toMatchObject({ status: 'RUNNING', webhook: { url: receiver.url, status: 'pending' } });
      const seen = new Set<string>();
      await waitFor(
        'the delivery to be retried',
        async () => {
          const status = await statusNow();
          if (status.status === 'RUNNING') seen.add(status.webhook?.status);
          return status.webhook?.status === 'delivering';
        },
        10_000,
        50,
      );
      expect([...seen].every((state) => state === 'pending' || state === 'delivering')).toBe(true);
      const done = (await http.get(`${started.body.resultUrl}?waitSeconds=25`).set(auth).expect(200)).body;
      expect(done.webhook).toMatchObject({ url: receiver.url, status: 'delivered', attempts: 3 });
    } finally {
      await receiver.close();
    }
  });

  it('retries with backoff under Temporal while the receiver is down', async () => {
    const receiver = await startReceiver(2);
    try {
      const done = await run('Receiver hiccups', receiver.url);
      expect(done.webhook).toMatchObject({ status: 'delivered', attempts: 3 });
      expect(receiver.received).toHaveLength(3);
      expect(receiver.received[2].at - receiver.received[1].at).toBeGreaterThanOrEqual(receiver.received[1].at - receiver.received[0].at);
      // Each attempt is signed when it is sent, under the one webhook-id a receiver deduplicates on.
      expect(receiver.received.map((delivery) => verify(delivery, SECRET))).toEqual(
        Array(3).fill(expect.objectContaining({ event: 'run.completed', workflowId: done.workflowId })),
      );
      expect(new Set(receiver.received.map((delivery) => delivery.headers['webhook-id']))).toEqual(new Set([`${done.workflowId}/${done.runId}`]));
    } finally {
      await receiver.close();
    }
  });

  it('reports a failed run too, and the run stays failed for its own reason', async () => {
    const receiver = await startReceiver();
    try {
      const done = await run('Will fail [[sim:gemini:401]]', receiver.url);
      expect(done).toMatchObject({ status: 'FAILED', error: { type: FailureType.ProviderAuthFailed }, webhook: { status: 'delivered' } });
      expect(JSON.parse(receiver.received[0].body)).toMatchObject({
        event: 'run.failed',
        status: 'FAILED',
        error: { type: FailureType.ProviderAuthFailed, step: 'sentiment' },
      });
    } finally {
      await receiver.close();
    }
  });

  it('a callback that refuses (4xx) is recorded as failed, without changing the run’s outcome', async () => {
    const server = createServer((_req, res) => res.writeHead(410).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const done = await run('Gone receiver', `http://127.0.0.1:${(server.address() as AddressInfo).port}/gone`);
      expect(done).toMatchObject({
        status: 'COMPLETED',
        webhook: { status: 'failed', error: { type: FailureType.WebhookRejected, message: expect.stringMatching(/HTTP 410/) } },
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects a callbackUrl that is not an http(s) URL with 400', async () => {
    const response = await http
      .post('/v1/workflows')
      .set(auth)
      .send({ pipeline: 'classic', input: { prompt: 'x' }, callbackUrl: 'ftp://example.com/x' })
      .expect(400);
    expect(response.body.errors[0].field).toBe('callbackUrl');
  });
});
