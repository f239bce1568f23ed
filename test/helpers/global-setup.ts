import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { TemporalCluster } from '../../cluster/cluster';
import { loadClusterSettings } from '../../src/config/cluster';
import { ensureTemporalCli } from '../../src/temporal/cli';
import { CHORUS_SEARCH_ATTRIBUTES } from '../../src/pipeline/search-attributes';
import { devServerDynamicConfigArgs } from '../../src/temporal/cluster-config';
import { serveClusterControl } from './cluster-control';

export interface TestTemporal {
  devServer?: TestWorkflowEnvironment;
  cluster?: TemporalCluster;
  control?: Server;
  /** What test files of this run share on disk (the workflow bundle): removed by the teardown. */
  runDir?: string;
}

/**
 * One Temporal for the whole run, reached by test files through CHORUS_TEST_TEMPORAL_ADDRESS; they
 * isolate themselves with their own task queues. By default a real dev server on a free loopback
 * port; with CHORUS_TEST_CLUSTER=1 the two-node PostgreSQL cluster (`npm run test:cluster`); with
 * CHORUS_TEST_TEMPORAL_ADDRESS already set, that server (e.g. one `npm run cluster` started).
 */
export default async function globalSetup(): Promise<void> {
  const executable = await ensureTemporalCli();
  process.env.CHORUS_TEST_TEMPORAL_CLI = executable;
  const shared = globalThis as { __chorusTemporal?: TestTemporal };
  const runDir = mkdtempSync(join(tmpdir(), 'chorus-test-run-'));
  process.env.CHORUS_TEST_RUN_DIR = runDir;
  shared.__chorusTemporal = { runDir };
  if (process.env.CHORUS_TEST_CLUSTER === '1') {
    const startedAt = Date.now();
    const cluster = new TemporalCluster({
      ...loadClusterSettings(),
      dir: join(tmpdir(), `chorus-test-cluster-${process.pid}`),
      log: (line) => console.log(`[cluster] ${line}`),
    });
    shared.__chorusTemporal.cluster = cluster;
    // Jest skips the global teardown when the setup fails: stop what did start.
    await cluster.start().catch(async (error: Error) => {
      await cluster.stop(true);
      throw error;
    });
    const control = await serveClusterControl(cluster);
    shared.__chorusTemporal.control = control.server;
    process.env.CHORUS_TEST_TEMPORAL_ADDRESS = cluster.address;
    process.env.CHORUS_TEST_CLUSTER_CONTROL = control.url;
    console.log(`[cluster] up in ${Date.now() - startedAt} ms at ${cluster.address}: ${JSON.stringify(cluster.timings)}`);
    return;
  }
  if (process.env.CHORUS_TEST_TEMPORAL_ADDRESS) return;
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: executable },
      ip: '127.0.0.1',
      searchAttributes: [...CHORUS_SEARCH_ATTRIBUTES],
      extraArgs: ['--log-level', 'error', ...devServerDynamicConfigArgs()],
    },
  });
  process.env.CHORUS_TEST_TEMPORAL_ADDRESS = env.address;
  shared.__chorusTemporal.devServer = env;
}
