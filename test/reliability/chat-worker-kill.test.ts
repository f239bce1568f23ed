import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Client, Connection } from '@temporalio/client';
import { configureApp } from '../../api/app';
import { AppModule } from '../../api/app.module';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { TEST_API_KEY, testApiSettings } from '../helpers/api-app';
import { startRedis } from '../helpers/redis';
import { ProcessPool, requireBuilt, startWorkerProcess, WORKER_ENTRY, type WorkerProcess } from '../helpers/reliability';
import { readServerSentEvents, type ReceivedEvent } from '../helpers/sse-client';
import { testTemporalSettings } from '../helpers/stack';

const auth = { 'x-api-key': TEST_API_KEY };

/**
 * A chat UI's flow across failures: it streams an answer's tokens, the worker writing it is
 * SIGKILLed mid-answer and the client drops its connection too; reconnecting with Last-Event-ID it
 * gets the rest exactly once: the `attempt` event of the retry on another worker, the restarted
 * text, and the durable result.
 */
// Remote only: chat runs remote unless a named pipeline says local; there a replayed call streams `attempt` 1 again, not 2 (README).
describe('chat UI flow: worker killed mid-answer, client reconnects', () => {
  const temporal = testTemporalSettings('chat-worker-kill');
  const pool = new ProcessPool();
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let simulator: RunningSimulator;
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    requireBuilt(WORKER_ENTRY);
    redis = await startRedis();
    // 60 ms a piece: the answer takes several seconds to write, so the kill lands mid-answer.
    simulator = await startSimulator({ latencyMs: 50, chunkDelayMs: 60 });
    const settings = testApiSettings({ rateLimit: { perMinute: 10_000, byTenant: {}, redisUrl: redis.url } });
    const module = await Test.createTestingModule({ imports: [AppModule.forRoot({ api: settings, temporal })] }).compile();
    app = configureApp(module.createNestApplication(), settings);
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    await pool.stopAll();
    await simulator?.close();
    await redis?.stop();
  });

  const workerEnv = () => ({
    TEMPORAL_ADDRESS: temporal.address,
    CHORUS_TASK_QUEUE: temporal.taskQueue,
    CHORUS_SIMULATOR_URL: simulator.url,
    CHORUS_REDIS_URL: redis.url,
  });

  it('shows the attempt event and the restarted text, resumes exactly, and ends with the durable result', async () => {
    // Two workers: the one writing the answer is killed, the other takes the retry.
    const workers: WorkerProcess[] = await Promise.all([startWorkerProcess(pool, 'worker-1', workerEnv()), startWorkerProcess(pool, 'worker-2', workerEnv())]);
    const http = request(app.getHttpServer());
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
    const { workflowId } = (
      await http
        .post('/v1/workflows')
        .set(auth)
        .send({
          // A 2 s heartbeat: the dead worker's attempt is retried about 2 s after the kill.
          definition: {
            name: 'chat',
            steps: [{ id: 'answer', provider: 'openai', task: 'generate', prompt: '{{input.prompt}}', timeout: { startToClose: '60s', heartbeat: '2s' } }],
            output: { answer: 'steps.answer.text' },
          },
          input: { prompt: 'Write a long, careful answer about why durable execution matters for chat assistants.' },
        })
        .expect(202)
    ).body as { workflowId: string };

    const tokensOf = (events: ReceivedEvent[]) => events.filter((event) => event.event === 'token');
    const before = await readServerSentEvents(`${baseUrl}/v1/workflows/${workflowId}/events`, auth, (events) => tokensOf(events).length >= 15);
    expect(tokensOf(before.events).every((event) => event.data.attempt === 1)).toBe(true);
    const pending = (await client.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? [];
    const writing = workers.find((worker) => worker.identity === pending[0]?.lastWorkerIdentity);
    expect(writing).toBeDefined();
    writing!.process.child.kill('SIGKILL');
    const after = await readServerSentEvents(
      `${baseUrl}/v1/workflows/${workflowId}/events`,
      { ...auth, 'last-event-id': before.events.at(-1)!.id },
      undefined,
      90_000,
    );
    expect(after.ended).toBe(true);

    const all = [...before.events, ...after.events].filter((event) => event.id);
    expect(new Set(all.map((event) => event.id)).size).toBe(all.length);
    const attempts = all.filter((event) => event.event === 'attempt').map((event) => event.data.attempt);
    expect(attempts).toEqual([1, 2]);
    const retryAt = all.findIndex((event) => event.event === 'attempt' && event.data.attempt === 2);
    const restarted = all.slice(retryAt + 1).filter((event) => event.event === 'token');
    expect(restarted.every((event) => event.data.attempt === 2)).toBe(true);
    const final = all.at(-1)!;
    expect(final).toMatchObject({ event: 'run', data: { status: 'COMPLETED' } });
    expect(final.data).toEqual((await http.get(`/v1/workflows/${workflowId}`).set(auth).expect(200)).body);
    // What the UI shows after the retry is the durable answer, not two attempts glued together.
    expect(restarted.map((event) => event.data.text).join('')).toBe((final.data.result as { output: { answer: string } }).output.answer);
    const killedText = all.slice(0, retryAt).filter((event) => event.event === 'token');
    expect(killedText.length).toBeGreaterThanOrEqual(15);
    await client.connection.close();
    // Two worker starts, a multi-second answer, the retry after the heartbeat timeout and a reader that
    // waits up to 90 s for the end: jest's default 60 s cut it short on a loaded machine.
  }, 150_000);
});
