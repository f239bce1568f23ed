import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadTemporalCliSettings, type TemporalCliSettings } from '../config/temporal';
import { isExecutable, onPath } from '../process/child-process';
import { projectRoot } from '../project-root';

/** The CLI release Chorus installs; newer tags carry a `replace` directive that `go install` refuses. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const CLI_CACHE_DIR = join(projectRoot(), '.cache', 'bin');

export interface TemporalCliInstallOptions {
  /** Where the build says what it does: its start, its progress, its end. @default console.error */
  log?: (line: string) => void;
  /** Folder the CLI is built into and found in. @default CLI_CACHE_DIR (.cache/bin) */
  cacheDir?: string;
  /** How often a build in progress reports. @default 10 s */
  progressEveryMs?: number;
}

/** Finds the `temporal` CLI without installing anything: TEMPORAL_CLI, then PATH, then the project cache. */
export function findTemporalCli(settings: TemporalCliSettings = loadTemporalCliSettings(), cacheDir = CLI_CACHE_DIR): string | undefined {
  if (settings.executable) {
    if (!isExecutable(settings.executable)) throw new Error(`TEMPORAL_CLI=${settings.executable} is not an executable file`);
    return settings.executable;
  }
  return onPath('temporal', settings.environment) ?? [join(cacheDir, 'temporal')].find(isExecutable);
}

const DOWNLOADING = /^go: downloading (\S+) (\S+)$/;
/** `go install -v` names each package as it compiles it: an import path, nothing else on the line. */
const PACKAGE = /^[\w.~-]+(\/[\w.~-]+)*$/;

/** What a `go install -v` has done so far, read from its stderr lines. */
export class GoBuildProgress {
  modulesDownloaded = 0;
  packagesCompiled = 0;
  lastPackage?: string;
  /** Lines that are neither a download nor a compiled package: warnings and errors, shown if the build fails. */
  readonly problems: string[] = [];

  observe(line: string): void {
    if (DOWNLOADING.test(line)) this.modulesDownloaded += 1;
    else if (PACKAGE.test(line)) {
      this.packagesCompiled += 1;
      this.lastPackage = line;
    } else if (line.trim()) this.problems.push(line);
  }

  describe(elapsedMs: number): string {
    const last = this.lastPackage ? ` (last: ${this.lastPackage})` : '';
    return `  ... ${formatElapsed(elapsedMs)} building the Temporal CLI v${TEMPORAL_CLI_VERSION}: ${this.modulesDownloaded} modules downloaded, ${this.packagesCompiled} packages compiled${last}`;
  }
}

export function formatElapsed(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/**
 * Returns a usable `temporal` CLI, building it with `go install` into `.cache/bin` when none is found.
 * Nothing is downloaded as a prebuilt binary: the Go module proxy serves the source. The build takes
 * minutes on a fresh machine, so it reports its progress every 10 s.
 */
export async function ensureTemporalCli(settings: TemporalCliSettings = loadTemporalCliSettings(), options: TemporalCliInstallOptions = {}): Promise<string> {
  const { log = console.error, cacheDir = CLI_CACHE_DIR, progressEveryMs = 10_000 } = options;
  const found = findTemporalCli(settings, cacheDir);
  if (found) return found;
  const go = onPath('go', settings.environment);
  if (!go) {
    throw new Error(
      'The Temporal CLI was not found and Go is not installed to build it. Install it with\n' +
        `  go install -ldflags "-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}" ${MODULE}@v${TEMPORAL_CLI_VERSION}\n` +
        'and put it on PATH, or set TEMPORAL_CLI to its path, or set TEMPORAL_ADDRESS to use an existing server.',
    );
  }
  mkdirSync(cacheDir, { recursive: true });
  log(`Building the Temporal CLI v${TEMPORAL_CLI_VERSION} (${MODULE}) with go install into ${cacheDir}: a few minutes, once`);
  const startedAt = Date.now();
  const progress = new GoBuildProgress();
  const build = spawn(
    go,
    ['install', '-v', '-ldflags', `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`, `${MODULE}@v${TEMPORAL_CLI_VERSION}`],
    {
      env: { ...settings.environment, GOBIN: cacheDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  createInterface({ input: build.stderr }).on('line', (line) => progress.observe(line));
  const reporter = setInterval(() => log(progress.describe(Date.now() - startedAt)), progressEveryMs);
  const exitCode = await new Promise<number | string>((resolve) => {
    build.once('error', (error) => resolve(error.message));
    build.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  }).finally(() => clearInterval(reporter));
  const installed = join(cacheDir, 'temporal');
  if (exitCode !== 0 || !isExecutable(installed)) {
    for (const line of progress.problems) log(line);
    throw new Error(
      `go install ${MODULE}@v${TEMPORAL_CLI_VERSION} failed (exit ${exitCode}) after ${formatElapsed(Date.now() - startedAt)}; see the output above`,
    );
  }
  log(
    `Built the Temporal CLI in ${formatElapsed(Date.now() - startedAt)} (${progress.packagesCompiled} packages): ${execFileSync(installed, ['--version'], { encoding: 'utf8' }).trim()}`,
  );
  return installed;
}
