import type { INestApplication } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import type request from 'supertest';
import { API_METRIC_NAMES } from '../../api/observability/api-metrics';
import { PROVIDER_METRIC_NAMES, TEMPORAL_SDK_METRIC_NAMES } from '../../worker/provider-metrics';
import { RUN_METRIC_NAMES } from '../../worker/run-metrics';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { freePort, ProcessPool, requireBuilt, startWorkerProcess, waitFor, WORKER_ENTRY } from '../helpers/reliability';
import { testTemporalSettings } from '../helpers/stack';

/** The value of one Prometheus series in a scrape, or undefined when absent. */
export function seriesValue(scrape: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of scrape.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[4]);
  }
  return undefined;
}

/** A real run through the API and a worker process; both /metrics endpoints then carry its series. */
describe('metrics', () => {
  let simulator: RunningSimulator;
  let connection: Connection;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let metricsUrl: string;
  const pool = new ProcessPool();
  const temporal = testTemporalSettings('metrics');

  beforeAll(async () => {
    requireBuilt(WORKER_ENTRY);
    simulator = await startSimulator({ latencyMs: 5 });
    connection = await Connection.connect({ address: temporal.address });
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    await startWorkerProcess(pool, 'worker', {
      TEMPORAL_ADDRESS: temporal.address,
      CHORUS_TASK_QUEUE: temporal.taskQueue,
      CHORUS_SIMULATOR_URL: simulator.url,
      CHORUS_WORKER_METRICS_PORT: String(port),
    });
    ({ app, http } = await startApiApp(temporal));
  });
  afterAll(async () => {
    await app?.close();
    await pool.stopAll();
    await connection?.close();
    await simulator?.close();
  });

  it("answers /readyz on the worker's metrics port once its Workers poll (the container healthcheck)", async () => {
    const ready = await fetch(metricsUrl.replace(/\/metrics$/, '/readyz'));
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('exports API, run, provider-call and Temporal SDK metrics after a pipeline run', async () => {
    const started = await http
      .post('/v1/workflows')
      .set('x-api-key', TEST_API_KEY)
      .send({ pipeline: 'classic', input: { prompt: 'Metrics please [[sim:cohere:503x1]]' } })
      .expect(202);
    expect(started.headers['x-request-id']).toMatch(/^[\w-]{36}$/);
    await new Client({ connection }).workflow.getHandle(started.body.workflowId).result();

    const api = (await http.get('/metrics').expect(200)).text;
    expect(seriesValue(api, 'chorus_api_requests_total', { method: 'POST', route: '/v1/workflows', status: '202' })).toBe(1);
    expect(seriesValue(api, 'chorus_api_request_duration_seconds_count', { method: 'POST', route: '/v1/workflows', status: '202' })).toBe(1);
    expect(seriesValue(api, 'chorus_api_request_duration_seconds_bucket', { route: '/v1/workflows', le: '+Inf' })).toBe(1);

    // The worker's endpoint: Chorus's own series, then the Temporal SDK's.
    let worker = '';
    await waitFor(
      'the worker to report the run',
      async () => {
        worker = await (await fetch(metricsUrl)).text();
        return seriesValue(worker, 'chorus_provider_calls_total', { provider: 'gemini', outcome: 'success' }) === 1;
      },
      10_000,
    );
    // Runs are counted where every run starts, the worker, by how they started.
    expect(seriesValue(worker, 'chorus_runs_started_total', { source: 'named', pipeline: 'classic' })).toBe(1);
    for (const provider of ['openai', 'cohere', 'gemini']) {
      expect(seriesValue(worker, 'chorus_provider_calls_total', { provider, outcome: 'success' })).toBe(1);
      expect(seriesValue(worker, 'chorus_provider_call_duration_seconds_count', { provider, outcome: 'success' })).toBe(1);
      expect(seriesValue(worker, 'chorus_provider_tokens_total', { provider, direction: 'input' })).toBeGreaterThan(0);
      expect(seriesValue(worker, 'chorus_provider_tokens_total', { provider, direction: 'output' })).toBeGreaterThan(0);
      expect(seriesValue(worker, 'chorus_provider_cost_usd_total', { provider })).toBeGreaterThan(0);
    }
    // Cohere answered 503 once: one failed attempt, then one retry that succeeded.
    expect(seriesValue(worker, 'chorus_provider_calls_total', { provider: 'cohere', outcome: 'ProviderUnavailable' })).toBe(1);
    expect(seriesValue(worker, 'chorus_provider_retries_total', { provider: 'cohere' })).toBe(1);
    expect(seriesValue(worker, 'chorus_provider_retries_total', { provider: 'openai' })).toBeUndefined();
    // Every attempt that got as far as sending reports its rate-limit wait (none configured here: 0 s).
    expect(['openai', 'cohere', 'gemini'].map((provider) => seriesValue(worker, 'chorus_provider_pacing_wait_seconds_count', { provider }))).toEqual([1, 2, 1]);
    expect(seriesValue(worker, 'chorus_provider_pacing_wait_seconds_bucket', { provider: 'cohere', le: '0.001' })).toBe(2);
    expect(seriesValue(worker, 'temporal_activity_execution_latency_count', { task_queue: `${temporal.taskQueue}-gemini` })).toBeGreaterThanOrEqual(1);
    expect(seriesValue(worker, 'temporal_workflow_completed_total', { task_queue: temporal.taskQueue })).toBe(1);

    // The worker's log lines of provider calls are JSON with the run, step and attempt they belong to.
    const callLines = () =>
      (pool.logs.get('worker') ?? [])
        .map((line) => line.replace(/^\[worker\] /, ''))
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.workflowId === started.body.workflowId);
    await waitFor('the last call to be logged', () => callLines().some((line) => line.step === 'sentiment'), 5000);
    expect(callLines().find((line) => line.msg === 'provider call failed')).toMatchObject({
      step: 'summary',
      attempt: 1,
      failureType: 'ProviderUnavailable',
      runId: started.body.runId,
    });
    expect(
      callLines()
        .filter((line) => line.msg === 'provider call succeeded')
        .map((line) => `${line.step}#${line.attempt}`)
        .sort(),
    ).toEqual(['draft#1', 'sentiment#1', 'summary#2']);

    // Every name the Grafana dashboard may query is one of these, and each is really exported.
    const exported = (scrape: string) => new Set([...scrape.matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name));
    expect([...API_METRIC_NAMES].filter((name) => !exported(api).has(name))).toEqual([]);
    expect([...PROVIDER_METRIC_NAMES, ...RUN_METRIC_NAMES, ...TEMPORAL_SDK_METRIC_NAMES].filter((name) => !exported(worker).has(name))).toEqual([]);
  });

  it('counts runs of inline definitions under one "(adhoc)" label, whatever name the client gave them', async () => {
    const definition = { name: 'my-experiment-42', steps: [{ id: 'only', provider: 'gemini', task: 'generate', prompt: '{{input.prompt}}' }] };
    const started = await http
      .post('/v1/workflows')
      .set('x-api-key', TEST_API_KEY)
      .send({ definition, input: { prompt: 'Ad hoc' } })
      .expect(202);
    await new Client({ connection }).workflow.getHandle(started.body.workflowId).result();
    const worker = await (await fetch(metricsUrl)).text();
    expect(seriesValue(worker, 'chorus_runs_started_total', { source: 'adhoc', pipeline: '(adhoc)' })).toBe(1);
    expect(seriesValue(worker, 'chorus_runs_started_total', { pipeline: 'my-experiment-42' })).toBeUndefined();
  });

  it('counts runs by how they started: an inline definition named like a pipeline is ad hoc; reruns and scheduled runs count too', async () => {
    const client = new Client({ connection });
    const auth = { 'x-api-key': TEST_API_KEY };
    const impostor = { name: 'classic', steps: [{ id: 'only', provider: 'gemini', task: 'generate', prompt: '{{input.prompt}}' }] };
    const inline = await http
      .post('/v1/workflows')
      .set(auth)
      .send({ definition: impostor, input: { prompt: 'Not the classic pipeline' } })
      .expect(202);
    await client.workflow.getHandle(inline.body.workflowId).result();
    const named = await http
      .post('/v1/workflows')
      .set(auth)
      .send({ pipeline: 'classic', input: { prompt: 'To be rerun' } })
      .expect(202);
    await client.workflow.getHandle(named.body.workflowId).result();
    const rerun = await http.post(`/v1/workflows/${named.body.workflowId}/rerun`).set(auth).expect(202);
    await client.workflow.getHandle(rerun.body.workflowId).result();

    const schedule = await http
      .post('/v1/schedules')
      .set(auth)
      .send({ pipeline: 'classic', input: { prompt: 'Scheduled' }, every: '1h', paused: true })
      .expect(201);
    try {
      await http.post(`/v1/schedules/${schedule.body.id}/trigger`).set(auth).expect(202);
      let scheduledRun: string | undefined;
      await waitFor(
        'the triggered run to start',
        async () => {
          scheduledRun = (await http.get(`/v1/schedules/${schedule.body.id}`).set(auth).expect(200)).body.recentRuns[0]?.workflowId;
          return scheduledRun !== undefined;
        },
        10_000,
      );
      await client.workflow.getHandle(scheduledRun!).result();
    } finally {
      await http.delete(`/v1/schedules/${schedule.body.id}`).set(auth).expect(204);
    }

    const worker = await (await fetch(metricsUrl)).text();
    // The first test's run, the run to be rerun; the impostor is not among them.
    expect(seriesValue(worker, 'chorus_runs_started_total', { source: 'named', pipeline: 'classic' })).toBe(2);
    expect(seriesValue(worker, 'chorus_runs_started_total', { source: 'adhoc', pipeline: '(adhoc)' })).toBe(2);
    expect(seriesValue(worker, 'chorus_runs_started_total', { source: 'rerun', pipeline: 'classic' })).toBe(1);
    expect(seriesValue(worker, 'chorus_runs_started_total', { source: 'schedule', pipeline: 'classic' })).toBe(1);
  });
});
