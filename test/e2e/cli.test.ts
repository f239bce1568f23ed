import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type request from 'supertest';
import { ExitCode } from '../../cli/exit-codes';
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
        // HOME is the test's folder, so no config file of the machine's user is read.
        {
          env: { PATH: process.env.PATH ?? '', HOME: dir, CHORUS_API_URL: apiUrl, CHORUS_API_KEY: TEST_API_KEY, ...env },
          timeout: 40_000,
          killSignal: 'SIGKILL',
        },
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

  it('watch exits 1 with the error when the run fails, and reset starts a new run of it', async () => {
    const workflowId = await startRun('Bad key [[sim:gemini:401]]');
    const watched = await chorus(['watch', workflowId]);
    expect(watched.code).toBe(ExitCode.RunNotCompleted);
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
    const approved = await chorus(['approve', workflowId, '--comment', 'Ship it']);
    expect(approved).toMatchObject({ code: 0, stdout: `${workflowId}: step review approved\n` });
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
    ['a bad API key', ['pipelines'], { CHORUS_API_KEY: 'chorus_wrong-key' }, ExitCode.Auth, /^chorus: 401 Unauthorized: Invalid API key$/m],
    ['a bad --api-key (the flag wins over CHORUS_API_KEY)', ['pipelines', '--api-key', 'chorus_wrong-key'], {}, ExitCode.Auth, /^chorus: 401 Unauthorized/m],
    ['no API key', ['pipelines'], { CHORUS_API_KEY: '' }, ExitCode.Auth, /no API key: pass --api-key, set CHORUS_API_KEY or put "apiKey" in /],
    ['an unknown run', ['status', 'no-such-run'], {}, ExitCode.NotFound, /^chorus: 404 Not Found: No workflow run with this ID$/m],
    ['an unknown schedule', ['schedules', 'show', 'no-such-schedule'], {}, ExitCode.NotFound, /^chorus: 404 Not Found/m],
  ])('exits non-zero with the message for %s', async (_name, args, env, code, message) => {
    const result = await chorus(args, env);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('exits 5 naming the URL when the API is unreachable', async () => {
    const closedPort = await freePort();
    const result = await chorus(['pipelines'], { CHORUS_API_URL: `http://127.0.0.1:${closedPort}` });
    expect(result.code).toBe(ExitCode.Unavailable);
    expect(result.stderr).toContain(`cannot reach the Chorus API at http://127.0.0.1:${closedPort} (ECONNREFUSED)`);
  });

  it('reads the URL and key from the config file named by CHORUS_CONFIG, below the environment', async () => {
    const config = inputFile('config', { apiUrl, apiKey: TEST_API_KEY });
    const fromFile = await chorus(['pipelines', '--json'], { CHORUS_API_URL: '', CHORUS_API_KEY: '', CHORUS_CONFIG: config });
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout).pipelines.map((pipeline: { name: string }) => pipeline.name)).toContain('classic');
    const overridden = await chorus(['pipelines'], { CHORUS_API_KEY: 'chorus_wrong-key', CHORUS_CONFIG: config });
    expect(overridden.code).toBe(ExitCode.Auth);
    const broken = await chorus(['pipelines'], { CHORUS_CONFIG: inputFile('broken-config', { apiKey: 1 }) });
    expect(broken.code).toBe(ExitCode.Usage);
    expect(broken.stderr).toMatch(/broken-config\.json:\n {2}apiKey: /);
  });

  it('exits 6 printing each field the API rejected', async () => {
    const result = await chorus(['run', 'classic', '--input', inputFile('empty', {})]);
    expect(result.code).toBe(ExitCode.Rejected);
    expect(result.stderr).toMatch(/^chorus: 400 Bad Request: the API rejected the request$/m);
    expect(result.stderr).toMatch(/^ {2}input\.prompt: required by pipeline "classic"$/m);
  });

  it('result waits for the run and prints its output; rerun starts a linked run; list filters runs', async () => {
    const workflowId = await startRun('Result please');
    const result = await chorus(['result', workflowId]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ draft: expect.stringContaining('Result please') });

    const rerun = await chorus(['rerun', workflowId, '--json']);
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ workflowId: expect.stringMatching(new RegExp(`^${workflowId}-rerun-`)), rerunOf: { workflowId } });

    const listed = await waitFor(
      'the completed run in the listing',
      async () =>
        JSON.parse((await chorus(['list', '--pipeline', 'classic', '--status', 'COMPLETED', '--limit', '50', '--json'])).stdout) as {
          workflows: { workflowId: string; status: string; pipeline: string }[];
        },
      { timeoutMs: 20_000, until: ({ workflows }) => workflows.some((run) => run.workflowId === workflowId) },
    );
    expect(listed.workflows.length).toBeGreaterThan(0);
    expect(listed.workflows.every((run) => run.status === 'COMPLETED' && run.pipeline === 'classic')).toBe(true);
    const table = await chorus(['list', '--pipeline', 'classic', '--limit', '50']);
    expect(table.stdout).toMatch(/^WORKFLOW\s+PIPELINE\s+STATUS\s+STARTED\s+COST\s+ERROR$/m);
    expect(table.stdout).toMatch(new RegExp(`^${workflowId}\\s+classic\\s+COMPLETED`, 'm'));
  });

  it('terminate ends a run at once and result then exits 1; cancel asks a run to stop', async () => {
    const slow = await startRun('Slow [[sim:openai,latency=20000]]');
    const terminated = await chorus(['terminate', slow, '--reason', 'not needed']);
    expect(terminated).toMatchObject({ code: 0, stdout: `${slow}: TERMINATED\n` });
    const result = await chorus(['result', slow]);
    expect(result.code).toBe(ExitCode.RunNotCompleted);
    expect(result.stderr).toMatch(new RegExp(`run ${slow} ended TERMINATED`));

    const other = await startRun('Slow too [[sim:openai,latency=20000]]');
    const cancelled = await chorus(['cancel', other, '--json']);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toEqual({ workflowId: other, status: 'CANCEL_REQUESTED' });
    expect((await chorus(['result', other])).code).toBe(ExitCode.RunNotCompleted);
    // Deciding an approval the run does not wait for is a conflict.
    const rejected = await chorus(['reject', other]);
    expect(rejected.code).toBe(ExitCode.Rejected);
    expect(rejected.stderr).toMatch(/^chorus: 409 Conflict/m);
  });

  it('schedules: create, list, show, pause, resume, trigger and delete', async () => {
    const id = `cli-${Date.now()}`;
    const input = inputFile('schedule-input', { prompt: 'Scheduled by the CLI' });
    const created = await chorus(['schedules', 'create', id, '--pipeline', 'classic', '--input', input, '--every', '1h', '--paused', '--note', 'from the CLI']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^schedule  ${id}$`, 'm'));
    expect(created.stdout).toMatch(/^state {5}paused \(from the CLI\)$/m);

    const listed = JSON.parse((await chorus(['schedules', 'list', '--json'])).stdout) as { schedules: { id: string; paused: boolean }[] };
    expect(listed.schedules.filter((schedule) => schedule.id === id)).toEqual([expect.objectContaining({ id, paused: true })]);

    expect((await chorus(['schedules', 'resume', id])).stdout).toMatch(/^state {5}active/m);
    expect((await chorus(['schedules', 'pause', id, '--note', 'holiday'])).stdout).toMatch(/^state {5}paused \(holiday\)$/m);
    expect(await chorus(['schedules', 'trigger', id])).toMatchObject({ code: 0, stdout: `${id}: triggered\n` });
    const shown = await waitFor(
      'the triggered run in the schedule',
      async () => JSON.parse((await chorus(['schedules', 'show', id, '--json'])).stdout) as { recentRuns: unknown[]; input: unknown },
      { timeoutMs: 20_000, until: (schedule) => schedule.recentRuns.length === 1 },
    );
    expect(shown.input).toEqual({ prompt: 'Scheduled by the CLI' });

    expect(await chorus(['schedules', 'delete', id])).toMatchObject({ code: 0, stdout: `${id}: deleted\n` });
    expect((await chorus(['schedules', 'show', id])).code).toBe(ExitCode.NotFound);
  });

  it('pipelines show, schema and validate a local YAML file (exit 6 listing each problem)', async () => {
    const shown = await chorus(['pipelines', 'show', 'classic']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: 'classic', steps: expect.any(Array) });
    expect(JSON.parse((await chorus(['pipelines', 'schema'])).stdout)).toMatchObject({ type: 'object' });

    const valid = join(dir, 'valid.yaml');
    writeFileSync(valid, 'name: t\nsteps:\n  - id: a\n    provider: openai\n    task: generate\n    prompt: "{{input.topic}}"\n');
    expect(await chorus(['pipelines', 'validate', valid])).toMatchObject({ code: 0, stdout: `${valid}: valid (pipeline t, input: topic)\n` });

    const invalid = join(dir, 'invalid.yaml');
    writeFileSync(invalid, 'name: t\nsteps:\n  - id: a\n    provider: openai\n    task: generate\n    prompt: "{{steps.b.text}}"\n');
    const rejected = await chorus(['pipelines', 'validate', invalid]);
    expect(rejected.code).toBe(ExitCode.Rejected);
    expect(rejected.stderr).toMatch(/^ {2}\$\.steps\[0\]\.prompt: "steps\.b\.text" reads unknown step "b"$/m);
  });

  it('batch rerun --all --dry-run lists the failed runs and does nothing; health and keys create answer', async () => {
    const failed = await startRun('Batch me [[sim:gemini:401]]');
    await http.get(`/v1/workflows/${failed}/result?waitSeconds=25`).set({ 'x-api-key': TEST_API_KEY }).expect(200);
    const dryRun = await waitFor(
      'the failed run in the batch',
      async () =>
        JSON.parse((await chorus(['batch', 'rerun', '--all', '--dry-run', '--json'])).stdout) as {
          dryRun: boolean;
          matched: { workflowId: string }[];
          results?: unknown;
        },
      { timeoutMs: 20_000, until: (outcome) => outcome.matched.some((run) => run.workflowId === failed) },
    );
    expect(dryRun).toMatchObject({ dryRun: true });
    expect(dryRun.results).toBeUndefined();
    const noFilter = await chorus(['batch', 'reset']);
    expect(noFilter.code).toBe(ExitCode.Rejected);
    expect(noFilter.stderr).toMatch(/^ {2}all: /m);

    expect(await chorus(['health'])).toMatchObject({ code: 0, stdout: 'ready: ready\n' });
    const key = await chorus(['keys', 'create', '--id', 'ci', '--tenant', 'acme', '--json'], { CHORUS_API_KEY: '' });
    expect(key.code).toBe(0);
    expect(JSON.parse(key.stdout)).toMatchObject({
      apiKey: expect.stringMatching(/^chorus_/),
      entry: { id: 'ci', tenant: 'acme', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
  });

  it('watch resumes a broken event stream with Last-Event-ID and misses nothing', async () => {
    // A proxy in front of the API that cuts the first event stream right after its first event.
    const eventRequests: (string | undefined)[] = [];
    const firstIds: string[] = [];
    const upstream = new URL(apiUrl);
    const proxy: Server = createServer((req, res) => {
      const isEvents = /\/events$/.test(req.url ?? '');
      const connection = isEvents ? eventRequests.push(req.headers['last-event-id'] as string | undefined) : 0;
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('data', (chunk: Buffer) => {
          const id = /^id: (\d+)$/m.exec(chunk.toString())?.[1];
          if (connection === 1 && id) {
            firstIds.push(id);
            res.write(chunk, () => res.destroy());
            answer.destroy();
          } else res.write(chunk);
        });
        answer.on('end', () => res.end());
      });
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const workflowId = await startRun('Watched through a flaky proxy [[sim:openai,latency=1500]]');
      const watched = await chorus(['watch', workflowId], { CHORUS_API_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
      expect(watched.code).toBe(0);
      expect(eventRequests.length).toBeGreaterThanOrEqual(2);
      expect(eventRequests[0]).toBeUndefined();
      expect(firstIds).toHaveLength(1);
      expect(eventRequests[1]).toBe(firstIds[0]);
      const lines = watched.stdout.trim().split('\n');
      for (const step of ['draft', 'summary', 'sentiment']) expect(lines.filter((line) => new RegExp(`  ${step}: .*done$`).test(line))).toHaveLength(1);
      expect(lines.at(-1)).toMatch(/^\d\d:\d\d:\d\d {2}COMPLETED/);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
