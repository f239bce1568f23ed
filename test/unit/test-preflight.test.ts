import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';

const BASH = execFileSync('sh', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim();
const PACKAGE = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * tools/test-preflight.sh in a project of its own, with a PATH of fakes only: `id` says who runs it,
 * `sudo` works or not, `apt-get` records what it is asked and "installs" a command per package.
 */
class Machine {
  readonly root = mkdtempSync(join(tmpdir(), 'chorus-preflight-'));
  readonly bin = join(this.root, 'bin');
  readonly aptLog = join(this.root, 'apt.log');

  constructor(options: { uid?: number; sudo?: boolean; engines?: string } = {}) {
    mkdirSync(join(this.root, 'tools'), { recursive: true });
    mkdirSync(this.bin);
    copyFileSync(join(projectRoot(), 'tools', 'test-preflight.sh'), join(this.root, 'tools', 'test-preflight.sh'));
    // The Node that runs this test passes unless a test asks otherwise: what is tested is the preflight, not this machine.
    writeFileSync(join(this.root, 'package.json'), JSON.stringify({ engines: { node: options.engines ?? `>=${process.versions.node.split('.')[0]}` } }));
    symlinkSync(process.execPath, join(this.bin, 'node'));
    this.script('id', `echo ${options.uid ?? 1000}`);
    this.script('temporal-cli', 'exit 0');
    if (options.sudo !== undefined) {
      this.script('sudo', `[ "$1" = -n ] && shift\n[ "$1" = true ] && exit ${options.sudo ? 0 : 1}\necho "sudo $*" >> ${this.aptLog}\nexec "$@"`);
    }
    writeFileSync(
      join(this.bin, 'apt-get'),
      `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(this.aptLog)}, 'apt-get ' + args.join(' ') + '\\n');
if (args[0] === 'install') for (const name of args.filter((arg) => !arg.startsWith('-') && arg !== 'install')) {
  fs.writeFileSync(${JSON.stringify(this.bin)} + '/' + name, '#!/bin/sh\\n');
  fs.chmodSync(${JSON.stringify(this.bin)} + '/' + name, 0o755);
}
`,
    );
    chmodSync(join(this.bin, 'apt-get'), 0o755);
  }

  script(name: string, body: string): string {
    const path = join(this.bin, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  has(...commands: string[]): this {
    for (const command of commands) this.script(command, 'exit 0');
    return this;
  }

  aptCalls(): string[] {
    return existsSync(this.aptLog) ? readFileSync(this.aptLog, 'utf8').trim().split('\n') : [];
  }

  run(args: string[] = [], env: Record<string, string> = {}): Promise<Result> {
    return new Promise((resolve) => {
      execFile(
        BASH,
        [join(this.root, 'tools', 'test-preflight.sh'), ...args],
        { env: { PATH: this.bin, TEMPORAL_CLI: join(this.bin, 'temporal-cli'), ...env }, timeout: 20_000 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

describe('the test preflight (npm test runs it first)', () => {
  const machines: Machine[] = [];
  const machine = (options?: ConstructorParameters<typeof Machine>[0]) => {
    const created = new Machine(options);
    machines.push(created);
    return created;
  };
  afterAll(() => machines.forEach((created) => created.remove()));

  it('is the first step of npm test, and .ci/run uses it instead of a package list of its own', () => {
    expect(PACKAGE.scripts.test.startsWith('npm run --silent test:preflight && ')).toBe(true);
    expect(PACKAGE.scripts['test:preflight']).toBe('bash tools/test-preflight.sh');
    const ci = readFileSync(join(projectRoot(), '.ci', 'run'), 'utf8');
    expect(ci).toContain('npm run --silent test:preflight -- docker-compose');
    expect(ci).not.toMatch(/apt-get|redis-server|chromium/);
  });

  it('says which Node runs and passes when everything is there', async () => {
    const ready = machine().has('redis-server', 'chromium');
    const result = await ready.run();
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(`::: Node.js v${process.versions.node} (${process.execPath})\n`);
    expect(ready.aptCalls()).toEqual([]);
  });

  it('stops at once below the Node version package.json requires, naming both', async () => {
    const old = machine({ engines: '>=99' });
    const result = await old.run();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Chorus needs Node.js >=99 (22 LTS or 24); this is v${process.versions.node} at ${process.execPath}`);
    expect(old.aptCalls()).toEqual([]);
  });

  it('installs the missing packages with apt-get as root', async () => {
    const root = machine({ uid: 0 });
    const result = await root.run();
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('::: installing redis-server chromium with apt-get');
    expect(root.aptCalls()).toEqual(['apt-get update -qq', 'apt-get install -y -qq redis-server chromium']);
  });

  it('installs them through passwordless sudo, with the commands the caller adds', async () => {
    const developer = machine({ sudo: true }).has('chromium');
    const result = await developer.run(['docker-compose']);
    expect(result).toMatchObject({ code: 0 });
    expect(developer.aptCalls()).toEqual([
      'sudo apt-get update -qq',
      'apt-get update -qq',
      'sudo apt-get install -y -qq redis-server docker-compose',
      'apt-get install -y -qq redis-server docker-compose',
    ]);
  });

  it('stops at once with the exact command when it cannot install', async () => {
    const developer = machine({ sudo: false }).has('redis-server');
    const result = await developer.run();
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'npm test cannot run yet: it needs the Debian packages chromium. Install them with:\n  sudo apt-get update && sudo apt-get install -y chromium\n',
    );
    expect(developer.aptCalls()).toEqual([]);
  });

  it('takes the Chromium CHORUS_TEST_CHROMIUM names', async () => {
    const custom = machine({ sudo: false }).has('redis-server');
    const chromium = custom.script('my-chromium', 'exit 0');
    expect(await custom.run([], { CHORUS_TEST_CHROMIUM: chromium })).toMatchObject({ code: 0, stderr: '' });
  });

  it('needs a Temporal CLI or a Go recent enough to build one', async () => {
    const noCli = { TEMPORAL_CLI: '' };
    const withoutGo = machine().has('redis-server', 'chromium');
    const stopped = await withoutGo.run([], noCli);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('no Temporal CLI and no Go to build it. Install Go 1.25+');

    const oldGo = machine().has('redis-server', 'chromium');
    oldGo.script('go', 'echo go1.22.4');
    expect((await oldGo.run([], noCli)).stderr).toContain('go1.22.4 is too old to build the Temporal CLI');

    const goodGo = machine().has('redis-server', 'chromium');
    goodGo.script('go', 'echo go1.26.0');
    const building = await goodGo.run([], noCli);
    expect(building).toMatchObject({ code: 0, stderr: '' });
    expect(building.stdout).toContain('::: no Temporal CLI yet: the first run builds it with go1.26.0 (a few minutes, once)');

    const onPath = machine().has('redis-server', 'chromium', 'temporal');
    expect(await onPath.run([], noCli)).toMatchObject({ code: 0, stderr: '' });
  });
});
