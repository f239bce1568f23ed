import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { chromium, type Browser } from 'playwright-core';
import type request from 'supertest';
import { chorusDataConverter } from '../../src/codec/encryption-codec';
import type { EncryptionSettings } from '../../src/config/encryption';
import type { TemporalSettings } from '../../src/config/temporal';
import { loadWorkerSettings } from '../../src/config/worker';
import { httpOk, waitUntil } from '../../src/process/child-process';
import { projectRoot } from '../../src/project-root';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { devServerArgs } from '../../src/temporal/dev-server';
import { createChorusWorker } from '../../worker/worker';
import { startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { freePort, ProcessPool } from '../helpers/reliability';
import { simulatedProviders } from '../helpers/stack';

/** Debian's Chromium (installed by .ci/run); playwright-core never downloads a browser. */
const CHROMIUM = process.env.CHORUS_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(projectRoot(), 'test-artifacts', 'webui');
const SCREENSHOT = join(ARTIFACTS, 'classic-run.png');
const PROMPT = `Lighthouse keeper's logbook ${randomUUID().slice(0, 8)}`;
const ENCRYPTION: EncryptionSettings = { keys: new Map([['webui', Buffer.alloc(32, 7)]]), activeKeyId: 'webui' };

/**
 * The Temporal Web UI as an operator uses it: a dev server started the way `npm start` starts it
 * (its own database, the UI, the codec endpoint of an API with payload encryption on), one classic
 * run started over REST, then the run's page opened in headless Chromium.
 */
describe('Temporal Web UI', () => {
  const pool = new ProcessPool();
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-webui-'));
  let temporal: TemporalSettings;
  let uiUrl: string;
  let simulator: RunningSimulator | undefined;
  let stopWorker: (() => Promise<void>) | undefined;
  let app: INestApplication | undefined;
  let http: ReturnType<typeof request>;
  let browser: Browser | undefined;

  beforeAll(async () => {
    const cli = process.env.CHORUS_TEST_TEMPORAL_CLI;
    if (!cli) throw new Error('CHORUS_TEST_TEMPORAL_CLI is not set: run the tests through jest (global setup finds the CLI)');
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does), or point CHORUS_TEST_CHROMIUM at a Chromium`);
    const [port, uiPort] = [await freePort(), await freePort()];
    temporal = { address: `127.0.0.1:${port}`, namespace: 'default', taskQueue: `webui-${randomUUID()}` };
    uiUrl = `http://127.0.0.1:${uiPort}`;
    // The API listens before the dev server starts: the server takes further ports of its own at
    // random (HTTP API, membership), and a port only picked for the API could be taken by then.
    // Its Temporal connection is lazy, so it needs no server to start.
    // The dev UI cannot send credentials: the API trusts it over loopback, as `npm start` configures it.
    ({ app, http } = await startApiApp(temporal, { codec: { uiOrigins: [uiUrl], trustLoopbackUi: true } }, ENCRYPTION));
    await app.listen(0, '127.0.0.1');
    const apiPort = (app.getHttpServer().address() as AddressInfo).port;
    const args = [
      ...devServerArgs({ ip: '127.0.0.1', port, uiPort, dbFilename: join(dataDir, 'temporal.db') }),
      '--ui-codec-endpoint',
      `http://127.0.0.1:${apiPort}/codec`,
    ];
    pool.start('temporal', cli, args, { PATH: process.env.PATH, HOME: process.env.HOME });
    await waitUntil('the Web UI to answer', () => httpOk(uiUrl), 30_000, 250).catch((error: Error) => {
      throw new Error(`${error.message}\n${pool.tail('temporal')}`);
    });

    simulator = await startSimulator({ latencyMs: 5 });
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    const { worker } = await createChorusWorker({
      temporal,
      providers: simulatedProviders(simulator.url),
      worker: loadWorkerSettings({}),
      connection: nativeConnection,
      dataConverter: chorusDataConverter(ENCRYPTION),
    });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running;
      await nativeConnection.close();
    };

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      timeout: 15_000,
    });
  }, 50_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await stopWorker?.();
    await simulator?.close();
    await pool.stopAll(5000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows a finished classic run, its activity per provider and its input decrypted through the codec, and finds it by search attributes', async () => {
    const started = await http
      .post('/v1/workflows')
      .set('x-api-key', TEST_API_KEY)
      .send({ pipeline: 'classic', input: { prompt: PROMPT } })
      .expect(202);
    const workflowId = started.body.workflowId as string;
    const done = await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=20`).set('x-api-key', TEST_API_KEY).expect(200);
    expect(done.body.status).toBe('COMPLETED');

    // Without the codec, Temporal holds only ciphertext: the prompt is not in the raw history.
    const rawConnection = await Connection.connect({ address: temporal.address });
    try {
      const history = await new Client({ connection: rawConnection }).workflow.getHandle(workflowId).fetchHistory();
      expect(JSON.stringify(history)).not.toContain(PROMPT);
    } finally {
      await rawConnection.close();
    }

    const page = await browser!.newPage({ viewport: { width: 1440, height: 4800 } });
    const codecCalls: number[] = [];
    page.on('response', (response) => {
      if (response.url().includes('/codec/decode')) codecCalls.push(response.status());
    });
    try {
      await page.goto(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`, { timeout: 15_000 });
      // The input card fills in once the browser has had the payloads decrypted by the API's /codec.
      await page.getByText(PROMPT).first().waitFor({ timeout: 15_000 });

      // One callProvider activity per step; opening its Scheduled event shows its ID and task queue.
      const scheduled = page.getByText('Activity Task Scheduled', { exact: true });
      await scheduled.nth(2).waitFor({ timeout: 10_000 });
      expect(await scheduled.count()).toBe(3);
      // Bottom-up, so a row's opened details never shift the rows still to open.
      for (const index of [2, 1, 0]) await scheduled.nth(index).click({ timeout: 5000 });
      await page.getByText('Activity ID', { exact: true }).nth(2).waitFor({ timeout: 5000 });

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      const text = await page.locator('body').innerText();
      expect(text).toMatch(new RegExp(`Completed\\s+${workflowId}`));
      expect(text).toMatch(/Workflow Type\s+pipelineWorkflow/);
      expect(text).toMatch(/Pending Activities\s+0/);
      expect(text).toContain(`"prompt": "${PROMPT}"`);
      for (const [step, provider] of [
        ['draft', 'openai'],
        ['summary', 'cohere'],
        ['sentiment', 'gemini'],
      ]) {
        // The ID and queue of the same event: no other event's "Activity ID" between them.
        expect(text).toMatch(new RegExp(`Activity ID\\s+${step}\\s+(?:(?!Activity ID)[\\s\\S])*Task Queue Name\\s+${temporal.taskQueue}-${provider}\\b`));
      }
      expect(codecCalls.length).toBeGreaterThan(0);
      expect(codecCalls.every((status) => status === 200)).toBe(true);

      // Found again by the README's search-attribute query, from the Workflows list.
      const query = 'ChorusPipeline = "classic" AND ChorusTenant = "acme"';
      await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`, { timeout: 15_000 });
      await page.getByText(workflowId).first().waitFor({ timeout: 10_000 });
    } finally {
      await page.close();
    }
  });
});
