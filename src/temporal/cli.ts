import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadTemporalCliSettings, type TemporalCliSettings } from '../config/temporal';
import { isExecutable, onPath } from '../process/child-process';
import { projectRoot } from '../project-root';

/** The CLI release Chorus installs; newer tags carry a `replace` directive that `go install` refuses. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const CLI_CACHE_DIR = join(projectRoot(), '.cache', 'bin');

/** Finds the `temporal` CLI without installing anything: TEMPORAL_CLI, then PATH, then the project cache. */
export function findTemporalCli(settings: TemporalCliSettings = loadTemporalCliSettings()): string | undefined {
  if (settings.executable) {
    if (!isExecutable(settings.executable)) throw new Error(`TEMPORAL_CLI=${settings.executable} is not an executable file`);
    return settings.executable;
  }
  return onPath('temporal', settings.environment) ?? [join(CLI_CACHE_DIR, 'temporal')].find(isExecutable);
}

/**
 * Returns a usable `temporal` CLI, building it with `go install` into `.cache/bin` when none is found.
 * Nothing is downloaded as a prebuilt binary: the Go module proxy serves the source.
 */
export function ensureTemporalCli(settings: TemporalCliSettings = loadTemporalCliSettings(), log: (line: string) => void = console.error): string {
  const found = findTemporalCli(settings);
  if (found) return found;
  const go = onPath('go', settings.environment);
  if (!go) {
    throw new Error(
      'The Temporal CLI was not found and Go is not installed to build it. Install it with\n' +
        `  go install -ldflags "-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}" ${MODULE}@v${TEMPORAL_CLI_VERSION}\n` +
        'and put it on PATH, or set TEMPORAL_CLI to its path, or set TEMPORAL_ADDRESS to use an existing server.',
    );
  }
  mkdirSync(CLI_CACHE_DIR, { recursive: true });
  log(`Building the Temporal CLI v${TEMPORAL_CLI_VERSION} with go install into ${CLI_CACHE_DIR} (a few minutes, once)...`);
  const build = spawnSync(
    go,
    ['install', '-ldflags', `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`, `${MODULE}@v${TEMPORAL_CLI_VERSION}`],
    { env: { ...settings.environment, GOBIN: CLI_CACHE_DIR }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const installed = join(CLI_CACHE_DIR, 'temporal');
  if (build.status !== 0 || !isExecutable(installed)) {
    throw new Error(`go install ${MODULE}@v${TEMPORAL_CLI_VERSION} failed (exit ${build.status}); see the output above`);
  }
  log(execFileSync(installed, ['--version'], { encoding: 'utf8' }).trim());
  return installed;
}
