import { keyDigest, SCOPES } from '../../src/config/auth';
import { httpOk, type ManagedProcess } from '../../src/process/child-process';
import { API_ENTRY, auditRuns, describeAudit, freePort, ProcessPool, requireBuilt, sleep, waitFor } from '../helpers/reliability';
import { startTestStack, type TestStack } from '../helpers/stack';

const PIPELINES = 20;
const API_KEY = 'reliability-api-restart-key';
const WAIT_SECONDS = 10;

interface PollReport {
  status?: number;
  body?: { status?: string; result?: { output?: { draft?: string } } };
  /** Requests that failed at the network level (the API was down or died under them). */
  networkErrors: number;
  /** 202 answers: the wait ended before the run did. */
  stillRunning: number;
}

/**
 * The API process is killed with SIGKILL while runs it started are in flight and clients long-poll
 * their results; a new API on the same port answers the same IDs and every run completes once.
 */
// Remote only: only the API process dies here, so where provider calls run (the execution mode) cannot change what this proves.
describe('API restart', () => {
  const pool = new ProcessPool();
  let stack: TestStack;
  let baseUrl: string;
  let apiEnv: Record<string, string | undefined>;

  beforeAll(async () => {
    requireBuilt(API_ENTRY);
    stack = await startTestStack('api-restart', { latencyMs: 5 });
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    apiEnv = {
      PATH: process.env.PATH,
      CHORUS_API_KEYS: JSON.stringify([{ id: 'reliability', tenant: 'reliability', scopes: [...SCOPES], sha256: keyDigest(API_KEY) }]),
      CHORUS_API_PORT: String(port),
      CHORUS_BIND_HOST: '127.0.0.1',
      TEMPORAL_ADDRESS: stack.temporal.address,
      CHORUS_TASK_QUEUE: stack.temporal.taskQueue,
    };
  });
  afterAll(async () => {
    await pool.stopAll();
    await stack?.close();
  });

  const startApi = async (): Promise<ManagedProcess> => {
    const name = `api-${pool.processes.length + 1}`;
    const api = pool.start(name, process.execPath, [API_ENTRY], apiEnv);
    await waitFor(`${name} on ${baseUrl}`, () => httpOk(`${baseUrl}/healthz`), 30_000, 200).catch((error: Error) => {
      throw new Error(`${error.message}\n${pool.tail(name)}`);
    });
    return api;
  };

  const call = (path: string, init: RequestInit = {}, timeoutMs = 5000) =>
    fetch(`${baseUrl}${path}`, {
      ...init,
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', ...init.headers },
      signal: AbortSignal.timeout(timeoutMs),
    });

  /** Long-polls one run's result until it closes, riding out the API's death; bounded in count and time. */
  const pollUntilClosed = async (workflowId: string, deadline: number): Promise<PollReport> => {
    const report: PollReport = { networkErrors: 0, stillRunning: 0 };
    for (let round = 0; round < 200 && Date.now() < deadline; round += 1) {
      try {
        const response = await call(`/v1/workflows/${encodeURIComponent(workflowId)}/result?waitSeconds=${WAIT_SECONDS}`, {}, (WAIT_SECONDS + 10) * 1000);
        if (response.status === 202) {
          report.stillRunning += 1;
          await response.body?.cancel();
          continue;
        }
        return { ...report, status: response.status, body: (await response.json()) as PollReport['body'] };
      } catch {
        report.networkErrors += 1;
        // A client's pause before it retries: these retries are what the test counts, not a wait of its own.
        await sleep(200);
      }
    }
    return report;
  };

  it('keeps answering polls by workflow ID across an API kill, and every run completes', async () => {
    let api = await startApi();
    const started = await Promise.all(
      Array.from({ length: PIPELINES }, async (_, index) => {
        const response = await call('/v1/workflows', {
          method: 'POST',
          body: JSON.stringify({ pipeline: 'classic', input: { prompt: `Restart-proof job ${index} [[sim:openai,latency=3000]]` } }),
        });
        expect(response.status).toBe(202);
        return ((await response.json()) as { workflowId: string }).workflowId;
      }),
    );

    const deadline = Date.now() + 60_000;
    const polls = Promise.all(started.map((id) => pollUntilClosed(id, deadline)));
    // Kill the API while drafts are in flight and every client is inside a long-poll.
    await waitFor(
      `${PIPELINES} drafts to reach the simulator`,
      () => stack.simulator.requests().filter((record) => record.provider === 'openai').length >= PIPELINES,
      30_000,
    );
    const killedAt = Date.now();
    api.child.kill('SIGKILL');
    expect(await api.exited).toBe('SIGKILL');
    api = await startApi();
    const apiDownMs = Date.now() - killedAt;

    const reports = await polls;
    const audit = await auditRuns(stack.client, started, Date.now() + 30_000);
    const statusAfterRestart = await call(`/v1/workflows/${encodeURIComponent(started[0])}`);
    console.log(
      describeAudit('API restart', audit, {
        'API down ms': apiDownMs,
        'polls answered 200': reports.filter((report) => report.status === 200).length,
        'polls cut by the kill': reports.filter((report) => report.networkErrors > 0).length,
        'failed requests while the API was down (retried)': reports.reduce((sum, report) => sum + report.networkErrors, 0),
        'polls answered 202 (retried)': reports.reduce((sum, report) => sum + report.stillRunning, 0),
      }),
    );

    expect(audit.lost).toEqual([]);
    expect(audit.duplicates).toEqual([]);
    expect(audit.completed).toBe(PIPELINES);
    for (const [index, report] of reports.entries()) {
      expect(report.status).toBe(200);
      expect(report.body?.status).toBe('COMPLETED');
      expect(report.body?.result?.output?.draft).toContain(`Restart-proof job ${index}`);
    }
    // The kill really cut open long-polls, and the new API answered them by ID.
    expect(reports.some((report) => report.networkErrors > 0)).toBe(true);
    expect(statusAfterRestart.status).toBe(200);
    expect(((await statusAfterRestart.json()) as { status: string }).status).toBe('COMPLETED');
  }, 120_000);
});
