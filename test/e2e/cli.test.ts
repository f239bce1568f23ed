import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type request from 'supertest';
import { projectRoot } from '../../src/project-root';
import { keyEntry, startApiApp, TEST_API_KEY, testApiSettings } from '../helpers/api-app';
import { freePort } from '../helpers/reliability';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

const CLI = join(projectRoot(), 'dist/cli/main.js');
const PLAIN_KEY = 'plain-dev-key-change-me';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built `chorus` CLI as a user runs it: a child process talking HTTP to an API on a loopback port, with a real worker. */
describe('chorus CLI', () => {
  let stack: TestStack;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let apiUrl: string;
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    dir = mkdtempSync(join(tmpdir(), 'chorus-cli-'));
    stack = await startTestStack('cli', { latencyMs: 5 });
    // Plus a key without the chorus_ prefix, like the dev key of npm start.
    ({ app, http } = await startApiApp(stack.temporal, { auth: { apiKeys: [...testApiSettings().auth.apiKeys, keyEntry('plain', PLAIN_KEY, 'acme')] } }));
    await app.listen(0, '127.0.0.1');
    apiUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the CLI asynchronously (the API answers from this very process) and never for more than 40 s; `onStdout` sees its output as it comes. */
  const chorus = (args: string[], env: Record<string, string> = {}, onStdout?: (chunk: string) => void): Promise<CliResult> =>
    new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [CLI, ...args],
        { env: { PATH: process.env.PATH ?? '', CHORUS_API_URL: apiUrl, CHORUS_API_KEY: TEST_API_KEY, ...env }, timeout: 40_000, killSignal: 'SIGKILL' },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
      if (onStdout) child.stdout?.on('data', onStdout);
    });
  const inputFile = (name: string, input: unknown) => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(input));
    return path;
  };
  const startRun = async (prompt: string) =>
    (await http.post('/v1/workflows').set({ 'x-api-key': TEST_API_KEY }).send({ pipeline: 'classic', input: { prompt } }).expect(202)).body
      .workflowId as string;

  it('run --wait prints the output of the completed run', async () => {
    const result = await chorus(['run', 'classic', '--input', inputFile('wait', { prompt: 'Durable execution for AI' }), '--wait']);
    expect(result).toMatchObject({ code: 0 });
    const output = JSON.parse(result.stdout);
    expect(output).toEqual({ draft: expect.any(String), summary: expect.any(String), sentiment: { label: expect.any(String), score: expect.any(Number) } });
    expect(result.stderr).toMatch(/Started classic-/);
  });

  it('run prints the workflow ID, and status shows the run and each step', async () => {
    const started = await chorus(['run', 'classic', '--input', inputFile('nowait', { prompt: 'Status please' })]);
    expect(started.code).toBe(0);
    const workflowId = started.stdout.trim();
    expect(workflowId).toMatch(/^classic-[0-9a-f-]{36}$/);
    await http.get(`/v1/workflows/${workflowId}/result?waitSeconds=25`).set({ 'x-api-key': TEST_API_KEY }).expect(200);

    const status = await chorus(['status', workflowId]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`workflow  ${workflowId}`);
    expect(status.stdout).toMatch(/status {4}COMPLETED/);
    for (const step of ['draft', 'summary', 'sentiment']) expect(status.stdout).toMatch(new RegExp(`^  ${step}\\s+\\w+\\s+done`, 'm'));

    const json = await chorus(['status', workflowId, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ workflowId, status: 'COMPLETED' });
  });

  it('watch prints step transitions as they happen and exits 0 when the run completed', async () => {
    const workflowId = await startRun('Slow draft [[sim:openai,latency=2500]]');
    const watched = await chorus(['watch', workflowId]);
    expect(watched).toMatchObject({ code: 0, stderr: '' });
    const lines = watched.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`watching ${workflowId} \\(pipeline classic`));
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    // The draft was seen running (2.5 s at one poll a second), then done; the run closed last.
    expect(at(/draft: running → done$/)).toBeGreaterThan(0);
    expect(at(/summary: .*done$/)).toBeGreaterThan(at(/draft: running → done$/));
    expect(lines.at(-1)).toMatch(/^\d\d:\d\d:\d\d {2}COMPLETED/);
  });

  it('watch exits 2 with the error when the run fails, and reset starts a new run of it', async () => {
    const workflowId = await startRun('Bad key [[sim:gemini:401]]');
    const watched = await chorus(['watch', workflowId]);
    expect(watched.code).toBe(2);
    expect(watched.stdout).toMatch(/sentiment: .*failed, .*error ProviderAuthFailed/);
    expect(watched.stderr).toMatch(new RegExp(`run ${workflowId} ended FAILED: ProviderAuthFailed in step sentiment`));

    const reset = await chorus(['reset', workflowId, '--reason', 'key rotated']);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(new RegExp(`^Reset ${workflowId} to failed-step \\(event \\d+\\): new run \\S+ \\(was \\S+\\)`));
  });

  it('watch shows what an approval step asks while the run waits, and follows it after the decision', async () => {
    const definition = {
      name: 'reviewed',
      steps: [
        { id: 'draft', provider: 'openai', task: 'generate', prompt: '{{input.topic}}' },
        { id: 'review', approval: { prompt: 'Publish this draft?', timeout: '1h' } },
      ],
      output: { review: 'steps.review' },
    };
    const auth = { 'x-api-key': TEST_API_KEY };
    const workflowId = (
      await http
        .post('/v1/workflows')
        .set(auth)
        .send({ definition, input: { topic: 'A launch' } })
        .expect(202)
    ).body.workflowId as string;
    let printed = '';
    const watching = chorus(['watch', workflowId], {}, (chunk) => (printed += chunk));
    const waiting = await waitFor(
      'the review step to wait',
      async () => {
        const run = (await http.get(`/v1/workflows/${workflowId}`).set(auth).expect(200)).body;
        return run.steps?.some((step: { id: string; status: string }) => step.id === 'review' && step.status === 'waiting') as boolean;
      },
      15_000,
    );
    expect(waiting).toBe(true);
    // Decide only once one of watch's polls (one a second) has printed the waiting step.
    await waitFor('watch to print the waiting review step', () => printed, {
      timeoutMs: 15_000,
      until: (output) => /review: (pending → )?waiting/.test(output),
    });
    await http.post(`/v1/workflows/${workflowId}/approve`).set(auth).send({}).expect(200);
    const watched = await watching;
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/review: (pending → )?waiting, approval asked: Publish this draft\? \(decided by timeout at \S+\)/);
    expect(watched.stdout).toMatch(/review: waiting → done/);
  });

  it('pipelines lists the named pipelines and the input each needs', async () => {
    const result = await chorus(['pipelines']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^classic\s+input: prompt$/m);
    expect(result.stdout).toMatch(/^digest\s+input: documents$/m);
  });

  it('sends a key without the chorus_ prefix (such as the dev key) as x-api-key', async () => {
    const result = await chorus(['pipelines'], { CHORUS_API_KEY: PLAIN_KEY });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^classic\s+input: prompt$/m);
  });

  it.each([
    ['a bad API key', ['pipelines'], { CHORUS_API_KEY: 'chorus_wrong-key' }, /^chorus: 401 Unauthorized: Invalid API key$/m],
    ['no API key', ['pipelines'], { CHORUS_API_KEY: '' }, /CHORUS_API_KEY is not set/],
    ['an unknown run', ['status', 'no-such-run'], {}, /^chorus: 404 Not Found: No workflow run with this ID$/m],
  ])('exits non-zero with the message for %s', async (_name, args, env, message) => {
    const result = await chorus(args, env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('exits non-zero naming the URL when the API is unreachable', async () => {
    const closedPort = await freePort();
    const result = await chorus(['pipelines'], { CHORUS_API_URL: `http://127.0.0.1:${closedPort}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach the Chorus API at http://127.0.0.1:${closedPort} (ECONNREFUSED)`);
  });

  it('prints each field the API rejected', async () => {
    const result = await chorus(['run', 'classic', '--input', inputFile('empty', {})]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^chorus: 400 Bad Request: the API rejected the request$/m);
    expect(result.stderr).toMatch(/^ {2}input\.prompt: required by pipeline "classic"$/m);
  });
});
