import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../config/env';
import { isExecutable, onPath } from '../process/child-process';
import { projectRoot } from '../project-root';

/** The server release the CLI v1.5.1 embeds: the cluster runs the same server code the dev server does. */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
const MODULE = 'go.temporal.io/server';
/** `go install` names each binary after its package folder: `server` and `sql`. */
const PACKAGES = { server: `${MODULE}/cmd/server`, sqlTool: `${MODULE}/cmd/tools/sql` } as const;
export const SERVER_CACHE_DIR = join(projectRoot(), '.cache', `temporal-server-v${TEMPORAL_SERVER_VERSION}`);

export interface TemporalServerBinaries {
  /** `temporal-server`: `start --service …` runs the services. */
  server: string;
  /** `temporal-sql-tool`: creates and migrates the SQL schemas (it embeds them). */
  sqlTool: string;
}

function cachedBinaries(): TemporalServerBinaries {
  return { server: join(SERVER_CACHE_DIR, 'server'), sqlTool: join(SERVER_CACHE_DIR, 'sql') };
}

/**
 * The Temporal server and its SQL tool, built once from source with `go install` into
 * `.cache/temporal-server-v1.29.1`. The Go module proxy serves the source; no prebuilt binary is fetched.
 * The build takes no tags or flags: the Makefile's `disable_grpc_modules` only trims the binary.
 */
export function ensureTemporalServer(env: Env, log: (line: string) => void = console.error): TemporalServerBinaries {
  const binaries = cachedBinaries();
  if (isExecutable(binaries.server) && isExecutable(binaries.sqlTool)) return binaries;
  const go = onPath('go', env);
  if (!go) throw new Error(`Go is needed to build the Temporal server v${TEMPORAL_SERVER_VERSION} (go install ${PACKAGES.server}@v${TEMPORAL_SERVER_VERSION})`);
  mkdirSync(SERVER_CACHE_DIR, { recursive: true });
  log(`Building the Temporal server and SQL tool v${TEMPORAL_SERVER_VERSION} with go install into ${SERVER_CACHE_DIR} (several minutes, once)...`);
  const startedAt = Date.now();
  const build = spawnSync(go, ['install', ...Object.values(PACKAGES).map((pkg) => `${pkg}@v${TEMPORAL_SERVER_VERSION}`)], {
    env: { ...env, GOBIN: SERVER_CACHE_DIR, GOFLAGS: env.GOFLAGS ?? '-buildvcs=false' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (build.status !== 0 || !isExecutable(binaries.server) || !isExecutable(binaries.sqlTool)) {
    throw new Error(`go install of the Temporal server v${TEMPORAL_SERVER_VERSION} failed (exit ${build.status}); see the output above`);
  }
  log(`Built the Temporal server in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  return binaries;
}
