import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import type request from 'supertest';
import { chorusDataConverter, ENCRYPTED_ENCODING, EncryptionCodec } from '../../src/codec/encryption-codec';
import type { EncryptionSettings } from '../../src/config/encryption';
import { loadWorkerSettings } from '../../src/config/worker';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { createChorusWorker } from '../../worker/worker';
import { READ_ONLY_KEY, startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { simulatedProviders, testTemporalSettings } from '../helpers/stack';

const SECRET_PROMPT = `Quarterly numbers for Project Nightingale ${randomUUID()}`;
const settingsWith = (active: string, ...ids: string[]): EncryptionSettings => ({
  keys: new Map(ids.map((id) => [id, Buffer.alloc(32, id.charCodeAt(0))])),
  activeKeyId: active,
});
const text = (bytes?: Uint8Array | null) => Buffer.from(bytes ?? []).toString('utf8');

/**
 * Every payload an object tree holds (history events, failures), found by shape. Search attributes
 * are left out: Temporal must read them to index runs, so they are never encrypted (Chorus keeps
 * only pipeline name, tenant, cost, tokens and error type there). So are headers: the SDK does not
 * pass them through codecs, and Chorus puts only trace context in them.
 */
function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  // A patched() version marker holds only the patch's name (Chorus's code, not the run's data); Temporal's core writes it in plain JSON.
  if (value && typeof value === 'object' && (value as { markerName?: unknown }).markerName === 'core_patch') return found;
  if (value && typeof value === 'object') {
    const candidate = value as { metadata?: unknown; data?: unknown };
    if (candidate.metadata && typeof candidate.metadata === 'object' && 'encoding' in candidate.metadata) found.push(candidate as Payload);
    else for (const [key, child] of Object.entries(value)) if (key !== 'searchAttributes' && key !== 'header') payloadsIn(child, found);
  }
  return found;
}

/** Payload encryption at rest: the server only ever sees ciphertext; the API and the codec endpoint decrypt. */
describe('payload encryption', () => {
  const encryption = settingsWith('k2026', 'k2026');
  const temporal = testTemporalSettings('encryption');
  let simulator: RunningSimulator;
  let stopWorker: () => Promise<void>;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let rawConnection: Connection;
  let raw: Client;

  beforeAll(async () => {
    simulator = await startSimulator({ latencyMs: 5 });
    const connection = await NativeConnection.connect({ address: temporal.address });
    const { worker } = await createChorusWorker({
      temporal,
      providers: simulatedProviders(simulator.url),
      worker: loadWorkerSettings({}),
      connection,
      dataConverter: chorusDataConverter(encryption),
    });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running;
      await connection.close();
    };
    ({ app, http } = await startApiApp(temporal, {}, encryption));
    rawConnection = await Connection.connect({ address: temporal.address });
    raw = new Client({ connection: rawConnection });
  });
  afterAll(async () => {
    await app?.close();
    await stopWorker?.();
    await rawConnection?.close();
    await simulator?.close();
  });

  const run = async (prompt: string) => {
    const started = await http.post('/v1/workflows').set('x-api-key', TEST_API_KEY).send({ pipeline: 'classic', input: { prompt } }).expect(202);
    const done = await http.get(`/v1/workflows/${started.body.workflowId}/result?waitSeconds=25`).set('x-api-key', TEST_API_KEY).expect(200);
    return { workflowId: started.body.workflowId as string, body: done.body };
  };

  it('stores no plaintext prompt or answer in Temporal, while the API returns them decrypted', async () => {
    const { workflowId, body } = await run(SECRET_PROMPT);
    expect(body.status).toBe('COMPLETED');
    expect(body.result.output.draft).toContain(SECRET_PROMPT);

    const history = await raw.workflow.getHandle(workflowId).fetchHistory();
    const payloads = payloadsIn(history.events);
    expect(payloads.length).toBeGreaterThan(5);
    for (const payload of payloads) {
      expect(text(payload.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(payload.metadata?.['encryption-key-id'])).toBe('k2026');
      expect(text(payload.data)).not.toContain('Nightingale');
    }
    expect(JSON.stringify(history)).not.toContain('Nightingale');
  });

  it('encodes failure messages too', async () => {
    const { workflowId, body } = await run(`${SECRET_PROMPT} [[sim:gemini:401]]`);
    expect(body).toMatchObject({ status: 'FAILED', error: { type: 'ProviderAuthFailed', step: 'sentiment' } });
    expect(body.error.message).toMatch(/HTTP 401/);
    const history = await raw.workflow.getHandle(workflowId).fetchHistory();
    const failed = history.events?.find((event) => event.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes;
    expect(failed?.failure?.message).toBe('Encoded failure');
    expect(JSON.stringify(history)).not.toMatch(/Nightingale|HTTP 401/);
  });

  it('decrypts payloads written under an older key after rotation, and names a missing key', async () => {
    const [old] = await new EncryptionCodec(settingsWith('old', 'old')).encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"kept"') },
    ]);
    const [decoded] = await new EncryptionCodec(settingsWith('new', 'new', 'old')).decode([old]);
    expect(text(decoded.data)).toBe('"kept"');
    await expect(new EncryptionCodec(settingsWith('new', 'new')).decode([old])).rejects.toThrow('No encryption key "old"');
  });

  it('uses a fresh IV per payload and detects tampering', async () => {
    const codec = new EncryptionCodec(encryption);
    const plain = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"same"') };
    const [first, second] = await codec.encode([plain, plain]);
    expect(Buffer.from(first.data!).equals(Buffer.from(second.data!))).toBe(false);
    const tampered = { ...first, data: Buffer.from(first.data!).map((byte, index) => (index === 20 ? byte ^ 1 : byte)) };
    await expect(codec.decode([tampered])).rejects.toThrow();
  });

  it('an API without the key lists runs and schedules whose memo is encrypted, a page at a time, and never answers 500', async () => {
    const auth = { 'x-api-key': TEST_API_KEY };
    const idempotent = await http
      .post('/v1/workflows')
      .set(auth)
      .set('Idempotency-Key', `memo-${Date.now()}`)
      .send({ pipeline: 'classic', input: { prompt: 'memo' } });
    expect(idempotent.status).toBe(202);
    await http.get(`${idempotent.body.resultUrl}?waitSeconds=25`).set(auth).expect(200);
    const rerun = await http.post(`/v1/workflows/${idempotent.body.workflowId}/rerun`).set(auth).expect(202);
    const schedule = await http
      .post('/v1/schedules')
      .set(auth)
      .send({ pipeline: 'classic', input: { prompt: 'memo' }, every: '1h', paused: true })
      .expect(201);
    const { app: plainApp, http: plain } = await startApiApp(temporal);
    try {
      const listed = await plain.get('/v1/workflows?limit=100').set(auth).expect(200);
      const ids = (listed.body.workflows as { workflowId: string }[]).map((run) => run.workflowId);
      expect(ids).toEqual(expect.arrayContaining([idempotent.body.workflowId, rerun.body.workflowId]));
      // Pages of one: the first two pages hold two different runs, the second reached by the first's token.
      const first = await plain.get('/v1/workflows?limit=1').set(auth).expect(200);
      expect(first.body.workflows).toHaveLength(1);
      expect(typeof first.body.nextPageToken).toBe('string');
      const second = await plain.get(`/v1/workflows?limit=1&pageToken=${first.body.nextPageToken}`).set(auth).expect(200);
      expect(second.body.workflows).toHaveLength(1);
      expect(second.body.workflows[0].workflowId).not.toBe(first.body.workflows[0].workflowId);
      // A token belongs to its listing: other filters or another page size cannot use it.
      const reused = await plain.get(`/v1/workflows?limit=2&pageToken=${first.body.nextPageToken}`).set(auth).expect(400);
      expect(reused.body.errors).toEqual([{ field: 'pageToken', reason: expect.stringContaining('not a nextPageToken') }]);
      const schedules = await plain.get('/v1/schedules').set(auth).expect(200);
      const listedSchedule = (schedules.body.schedules as { id: string; every?: string }[]).find(({ id }) => id === schedule.body.id);
      // The timing memo is encrypted: this API shows the schedule without it rather than failing.
      expect(listedSchedule).toMatchObject({ id: schedule.body.id, pipeline: 'classic', paused: true });
      expect(listedSchedule?.every).toBeUndefined();
    } finally {
      await plainApp.close();
      await http.delete(`/v1/schedules/${schedule.body.id}`).set(auth).expect(204);
    }
  });

  describe('codec endpoint for the Web UI', () => {
    const asJson = (payload: Payload) => ({
      metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
      data: Buffer.from(payload.data ?? []).toString('base64'),
    });

    it('decodes the server’s ciphertext for an operator with workflows:admin, and round-trips encode', async () => {
      const { workflowId } = await run(SECRET_PROMPT);
      const started = (await raw.workflow.getHandle(workflowId).fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
      const response = await http
        .post('/codec/decode')
        .set('x-api-key', TEST_API_KEY)
        .send({ payloads: started.input!.payloads!.map(asJson) })
        .expect(200);
      expect(Buffer.from(response.body.payloads[0].data, 'base64').toString()).toContain(SECRET_PROMPT);
      const encoded = await http.post('/codec/encode').set('x-api-key', TEST_API_KEY).send(response.body).expect(200);
      expect(Buffer.from(encoded.body.payloads[0].metadata.encoding, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    });

    it('refuses callers without credentials (401) or without workflows:admin (403)', async () => {
      await http.post('/codec/decode').send({ payloads: [] }).expect(401);
      await http.post('/codec/decode').set('x-api-key', READ_ONLY_KEY).send({ payloads: [] }).expect(403);
    });

    it('allows the Web UI origin by CORS, and no other', async () => {
      const allowed = await http.options('/codec/decode').set('origin', 'http://127.0.0.1:8233').set('access-control-request-method', 'POST').expect(204);
      expect(allowed.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8233');
      const refused = await http.options('/codec/decode').set('origin', 'https://evil.example').set('access-control-request-method', 'POST');
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('in development, trusts the dev server’s UI over loopback without credentials, only when enabled', async () => {
      const { app: devApp, http: dev } = await startApiApp(temporal, { codec: { uiOrigins: ['http://127.0.0.1:8233'], trustLoopbackUi: true } }, encryption);
      try {
        await dev.post('/codec/decode').set('origin', 'http://127.0.0.1:8233').send({ payloads: [] }).expect(200, { payloads: [] });
        await dev.post('/codec/decode').set('origin', 'https://evil.example').send({ payloads: [] }).expect(401);
      } finally {
        await devApp.close();
      }
      await http.post('/codec/decode').set('origin', 'http://127.0.0.1:8233').send({ payloads: [] }).expect(401);
    });

    it('is not mounted when encryption is off', async () => {
      const { app: plainApp, http: plain } = await startApiApp(temporal);
      try {
        await plain.post('/codec/decode').set('x-api-key', TEST_API_KEY).send({ payloads: [] }).expect(404);
      } finally {
        await plainApp.close();
      }
    });
  });
});
