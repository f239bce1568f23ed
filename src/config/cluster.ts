import { join } from 'node:path';
import { projectRoot } from '../project-root';
import type { Env } from './env';

export interface ClusterSettings {
  /** The cluster's state (PostgreSQL data, node configs, logs), recreated at each start. @default .data/cluster */
  dir: string;
  /** Folder holding initdb and pg_ctl; found on PATH or in /usr/lib/postgresql when unset. */
  postgresBin?: string;
  /** The environment `go install` and the child processes get (PATH, GOFLAGS, Go caches). */
  env: Env;
}

export function loadClusterSettings(env: Env = process.env): ClusterSettings {
  return { dir: env.CHORUS_CLUSTER_DIR ?? join(projectRoot(), '.data', 'cluster'), postgresBin: env.CHORUS_POSTGRES_BIN || undefined, env };
}
