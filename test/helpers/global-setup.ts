import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTemporalCli } from '../../src/temporal/cli';
import { CHORUS_SEARCH_ATTRIBUTES } from '../../src/pipeline/search-attributes';

/**
 * One real Temporal dev server for the whole run, on a free loopback port. Test files reach it
 * through CHORUS_TEST_TEMPORAL_ADDRESS and isolate themselves with their own task queues.
 */
export default async function globalSetup(): Promise<void> {
  const executable = await ensureTemporalCli();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: executable },
      ip: '127.0.0.1',
      searchAttributes: [...CHORUS_SEARCH_ATTRIBUTES],
      extraArgs: ['--log-level', 'error'],
    },
  });
  process.env.CHORUS_TEST_TEMPORAL_ADDRESS = env.address;
  process.env.CHORUS_TEST_TEMPORAL_CLI = executable;
  (globalThis as { __chorusTemporal?: TestWorkflowEnvironment }).__chorusTemporal = env;
}
