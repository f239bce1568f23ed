import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';
import { freePort } from '../helpers/reliability';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const VERSION = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;

/** Every program a user runs, as built, the name its usage line shows, and the options it cannot run without. */
const PROGRAMS: Array<[script: string, usage: string, required: string[]]> = [
  ['cli/main.js', 'chorus', []],
  ['tools/create-api-key.js', 'npm run keys:create --', ['--id', 'ci', '--tenant', 'acme']],
  ['tools/replay.js', 'npm run replay --', []],
  ['tools/export-schema.js', 'npm run schema:export --', []],
  ['tools/install-temporal-cli.js', 'npm run temporal:install --', []],
  ['tools/register-search-attributes.js', 'npm run search-attributes --', []],
  ['launcher/main.js', 'npm start --', []],
  ['simulator/main.js', 'npm run start:simulator --', []],
  ['worker/main.js', 'npm run start:worker --', []],
  ['api/main.js', 'npm run start:api --', []],
  ['cluster/main.js', 'npm run cluster --', []],
  ['tools/export-openapi.js', 'npm run openapi:export --', []],
  ['tools/generate-client.js', 'npm run client:generate --', []],
];

/** Where a program that wrongly started anyway would listen: free ports and no Temporal, never the defaults. */
let safeEnv: Record<string, string> = {};

/** Runs a built program with a minimal environment; none of these invocations may start anything, so 20 s is plenty. */
const run = (script: string, args: string[], env: Record<string, string> = {}): Promise<Result> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(projectRoot(), 'dist', script), ...args],
      { env: { PATH: process.env.PATH ?? '', ...safeEnv, ...env }, timeout: 20_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });

describe('command lines of the Chorus programs', () => {
  beforeAll(async () => {
    safeEnv = {
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      CHORUS_API_PORT: String(await freePort()),
      CHORUS_SIMULATOR_URL: `http://127.0.0.1:${await freePort()}`,
    };
    for (const [script] of PROGRAMS) {
      if (!existsSync(join(projectRoot(), 'dist', script))) throw new Error(`dist/${script} is missing: run \`npm run build\` first (npm test does)`);
    }
  });

  it.each(PROGRAMS)('%s --help prints its usage and exits 0', async (script, usage) => {
    // Both spellings at once: each run is a Node start, CPU-bound, and the machine has two cores.
    for (const result of await Promise.all(['--help', '-h'].map((flag) => run(script, [flag])))) {
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout.startsWith(`Usage: ${usage} [options]`)).toBe(true);
      expect(result.stdout).toMatch(/^ {2}-V, --version +print the Chorus version$/m);
    }
  });

  it.each(PROGRAMS)('%s --version prints the package version and exits 0', async (script) => {
    for (const result of await Promise.all(['--version', '-V'].map((flag) => run(script, [flag])))) {
      expect(result).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    }
  });

  it.each(PROGRAMS)('%s with an unknown option prints the error and its usage on stderr and exits 2', async (script, usage, required) => {
    const result = await run(script, [...required, '--bogus']);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(/^error: unknown option '--bogus'$/m);
    expect(result.stderr).toContain(`Usage: ${usage} [options]`);
  });

  it.each([
    ['chorus without a command', 'cli/main.js', [], /Usage: chorus \[options\] \[command\]/],
    ['chorus run without its pipeline', 'cli/main.js', ['run', '--input', 'input.json'], /error: name a pipeline or pass --definition <file>/],
    [
      'chorus run with an unreadable --input',
      'cli/main.js',
      ['run', 'classic', '--input', 'no-such-input.json'],
      /error: cannot read --input no-such-input\.json/,
    ],
    ['chorus list with an unknown status', 'cli/main.js', ['list', '--status', 'DONE'], /error: option '--status <status>' argument 'DONE' is invalid/],
    ['chorus run without --input', 'cli/main.js', ['run', 'classic'], /error: required option '-i, --input <file>' not specified/],
    [
      'chorus watch with a bad interval',
      'cli/main.js',
      ['watch', 'some-id', '--interval', 'soon'],
      /error: option '--interval <seconds>' argument 'soon' is invalid/,
    ],
    ['keys:create without --tenant', 'tools/create-api-key.js', ['--id', 'ci'], /error: required option '--tenant <tenant>' not specified/],
    [
      'keys:create with an unknown scope',
      'tools/create-api-key.js',
      ['--id', 'ci', '--tenant', 'acme', '--scopes', 'workflows:write'],
      /error: unknown scopes: workflows:write/,
    ],
    ['replay with neither --workflow-id nor --file', 'tools/replay.js', [], /error: give either --workflow-id or --file/],
    ['replay with both', 'tools/replay.js', ['--workflow-id', 'a', '--file', 'b.json'], /error: give either --workflow-id or --file/],
  ])('%s exits 2 with the reason and the usage', async (_name, script, args, message) => {
    const result = await run(script, args);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^Usage: /m);
  });

  it('keys:create prints a key and its entry', async () => {
    const result = await run('tools/create-api-key.js', ['--id', 'ci', '--tenant', 'acme']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^ {2}chorus_[A-Za-z0-9_-]{43}$/m);
    expect(result.stdout).toContain('"scopes":["workflows:start","workflows:read"]');
  });

  it('npm start stops on malformed variables, naming each, before it starts anything', async () => {
    const result = await run('launcher/main.js', [], { TEMPORAL_ADDRESS: 'no-port', CHORUS_WORKER_METRICS_PORT: 'abc' });
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')[0]).toBe(`Chorus ${VERSION} on Node.js v${process.versions.node} (${process.execPath})`);
    expect(result.stderr).toMatch(/^ {2}TEMPORAL_ADDRESS: expected host:port$/m);
    expect(result.stderr).toMatch(/^ {2}CHORUS_WORKER_METRICS_PORT: /m);
    // No child process printed a line: nothing was started.
    expect(result.stdout.split('\n').filter((line) => line.startsWith('['))).toEqual([]);
  });
});
