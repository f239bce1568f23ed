import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { configureApp } from '../../api/app';
import { projectRoot } from '../../src/project-root';
import { loadSpendSettings } from '../../src/config/spend';
import { compileApi, testApiSettings, TEST_API_KEY } from '../helpers/api-app';
import { startRedis } from '../helpers/redis';
import { startTestStack, type TestStack } from '../helpers/stack';

const ROOT = projectRoot();
const SCHEMATHESIS = join(ROOT, '.cache/venv/bin/st');
/** The fuzzing budget: schemathesis's own --max-time, so CI time stays fixed. */
const BUDGET_SECONDS = 60;

/** Runs schemathesis and answers its exit code and everything it printed. */
function runSchemathesis(baseUrl: string): Promise<{ code: number | null; output: string }> {
  const args = [
    '--config-file',
    join(ROOT, 'test/conformance/schemathesis.toml'),
    'run',
    join(ROOT, 'openapi.json'),
    '--url',
    baseUrl,
    '--checks',
    'all',
    '--max-time',
    String(BUDGET_SECONDS),
    // One worker: hypothesis parses lambda sources with ast.parse on first use, which CPython 3.11 does not
    // make thread-safe (a "Runtime Error: AST constructor recursion depth mismatch", not an API finding).
    '--workers',
    '1',
    // One seed: every CI run asks the same questions first, so a red run is a change in the API, not a new draw.
    '--seed',
    '20261202',
    '--no-color',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(SCHEMATHESIS, args, { cwd: join(ROOT, '.cache'), env: { ...process.env, CHORUS_CONFORMANCE_API_KEY: TEST_API_KEY } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * The started API (a real worker and Temporal dev server behind it) against its committed OpenAPI
 * document: schemathesis with every check, a fixed budget, and 0 failures allowed.
 */
describe('conformance: the API answers as openapi.json says (schemathesis, all checks)', () => {
  let stack: TestStack;
  let app: INestApplication;
  let redis: Awaited<ReturnType<typeof startRedis>>;

  beforeAll(async () => {
    if (!existsSync(SCHEMATHESIS)) throw new Error(`${SCHEMATHESIS} is missing: run bash tools/install-schemathesis.sh (npm run test:conformance does)`);
    stack = await startTestStack('conformance', { latencyMs: 5 });
    // A deployment with its spend ledger, so GET /v1/usage answers.
    redis = await startRedis();
    // The default long-poll limit, as the document's waitSeconds maximum states it.
    const overrides = { maxWaitSeconds: 60, spend: loadSpendSettings({ CHORUS_REDIS_URL: redis.url }) };
    app = configureApp((await compileApi(stack.temporal, overrides)).createNestApplication(), testApiSettings(overrides));
    await app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
    await redis?.stop();
  });

  it('reports 0 failures and 0 errors over every operation', async () => {
    const { code, output } = await runSchemathesis(await app.getUrl());
    // The whole report (each failure with its curl reproduction) for whoever reads a red run.
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(join(ROOT, 'test-artifacts/schemathesis.log'), output);
    const summary = output.slice(output.indexOf('SUMMARY'));
    const failures = output.indexOf('FAILURES') >= 0 ? output.slice(output.indexOf('FAILURES'), output.indexOf('SUMMARY')) : '';
    console.log(`schemathesis (exit ${code}; the full report is test-artifacts/schemathesis.log):\n${failures}${summary}`);
    const tested = /Tested: (\d+)/.exec(summary)?.[1];
    const generated = /(\d+) generated/.exec(summary)?.[1];
    expect({ code, failures: /(\d+) failures?/.exec(summary)?.[1] ?? '0', errors: /(\d+) errors?/.exec(summary)?.[1] ?? '0' }).toEqual({
      code: 0,
      failures: '0',
      errors: '0',
    });
    expect(Number(tested)).toBe(30);
    expect(Number(generated)).toBeGreaterThan(100);
  }, 180_000);
});
