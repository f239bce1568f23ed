import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTemporalCli, formatElapsed, GoBuildProgress, TEMPORAL_CLI_VERSION } from '../../src/temporal/cli';

/** Written by the test's log once a progress line counts every package: the fake build may end then. */
const PROGRESS_SEEN = 'progress-seen';

/**
 * A stand-in for `go`: prints what `go install -v` prints, slowly, then installs a fake `temporal` into
 * GOBIN (or fails). A build that succeeds ends only once its last package was reported (or after 10 s):
 * on a loaded machine a fixed pause could end before the next progress report.
 */
function fakeGo(dir: string, outcome: 'builds' | 'fails'): void {
  const script = `#!${process.execPath}
const { existsSync, writeFileSync, chmodSync } = require('node:fs');
const lines = ['go: downloading go.temporal.io/server v1.29.1', 'go: downloading github.com/temporalio/cli v1.5.1', 'go.temporal.io/server/common/log', 'github.com/temporalio/cli/cmd/temporal'];
const seen = ${JSON.stringify(join(dir, PROGRESS_SEEN))};
const giveUpAt = Date.now() + 10000;
let index = 0;
const next = () => {
  if (index < lines.length) { process.stderr.write(lines[index++] + '\\n'); setTimeout(next, 150); return; }
  if (${JSON.stringify(outcome)} === 'fails') { process.stderr.write('# github.com/temporalio/cli\\ncompile: out of memory\\n'); process.exit(1); }
  if (!existsSync(seen) && Date.now() < giveUpAt) { setTimeout(next, 20); return; }
  const cli = process.env.GOBIN + '/temporal';
  writeFileSync(cli, '#!${process.execPath}\\nconsole.log("temporal version fake")\\n');
  chmodSync(cli, 0o755);
};
next();
`;
  writeFileSync(join(dir, 'go'), script);
  chmodSync(join(dir, 'go'), 0o755);
}

describe('building the Temporal CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chorus-go-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const build = (lines: string[]) =>
    ensureTemporalCli(
      { environment: { PATH: dir } },
      {
        cacheDir: join(dir, 'bin'),
        progressEveryMs: 100,
        log: (line) => {
          lines.push(line);
          if (line.includes('2 packages compiled')) writeFileSync(join(dir, PROGRESS_SEEN), '');
        },
      },
    );

  it('says what it builds, reports elapsed time and progress while it works, and how long it took', async () => {
    fakeGo(dir, 'builds');
    const lines: string[] = [];
    expect(await build(lines)).toBe(join(dir, 'bin', 'temporal'));
    expect(lines[0]).toBe(
      `Building the Temporal CLI v${TEMPORAL_CLI_VERSION} (github.com/temporalio/cli/cmd/temporal) with go install into ${join(dir, 'bin')}: a few minutes, once`,
    );
    const progress = lines.filter((line) => line.startsWith('  ... '));
    expect(progress.length).toBeGreaterThanOrEqual(3);
    for (const line of progress)
      expect(line).toMatch(
        new RegExp(`^ {2}\\.\\.\\. \\d+s building the Temporal CLI v${TEMPORAL_CLI_VERSION}: [0-2] modules downloaded, [0-2] packages compiled`),
      );
    expect(progress.at(-1)).toMatch(/2 modules downloaded, 2 packages compiled \(last: github\.com\/temporalio\/cli\/cmd\/temporal\)$/);
    expect(lines.at(-1)).toMatch(/^Built the Temporal CLI in \d+s \(2 packages\): temporal version fake$/);
  });

  it("shows go's errors, not its progress lines, when the build fails", async () => {
    fakeGo(dir, 'fails');
    const lines: string[] = [];
    await expect(build(lines)).rejects.toThrow(/go install github\.com\/temporalio\/cli\/cmd\/temporal@v1\.5\.1 failed \(exit 1\) after \d+s/);
    expect(lines.filter((line) => !line.startsWith('  ... ')).slice(1)).toEqual(['# github.com/temporalio/cli', 'compile: out of memory']);
  });

  it('counts downloads and compiled packages apart from other output', () => {
    const progress = new GoBuildProgress();
    for (const line of ['go: downloading golang.org/x/sys v0.30.0', 'errors', 'golang.org/x/sys/unix', 'internal/abi', 'go: warning: something', ''])
      progress.observe(line);
    expect(progress).toMatchObject({ modulesDownloaded: 1, packagesCompiled: 3, lastPackage: 'internal/abi', problems: ['go: warning: something'] });
    expect(formatElapsed(9_400)).toBe('9s');
    expect(formatElapsed(200_000)).toBe('3m20s');
  });
});
