/**
 * What `npm run test:cluster:core` (and so `.ci/run`) proves on the two-node cluster, by full test name
 * (describe blocks included; a describe's name selects its whole block): issue 17's e2e core (start and
 * poll, cancel, reset, rerun, lists with search-attribute filters, schedules), the IDs PostgreSQL cannot
 * store, the versioned deploy and the failure test. `npm run test:cluster` runs every test of the files.
 * test/unit/cluster-core-tests.test.ts checks that each name still selects a test.
 */
const CLUSTER_CORE_FILES = [
  'test/e2e/api.test.ts',
  'test/e2e/run-admin.test.ts',
  'test/e2e/schedules.test.ts',
  'test/security/temporal-text.test.ts',
  'test/reliability/versioned-deploy.test.ts',
  'test/cluster/node-failure.test.ts',
];
const CLUSTER_CORE_TESTS = [
  'REST API end to end starts the classic pipeline at once and returns draft, summary and sentiment to a poll by ID',
  'REST API end to end cancels a running pipeline',
  'REST API end to end lists runs by pipeline through Temporal visibility',
  'bringing runs back reset to before the failed step brings a failed run back under the same workflow ID',
  'bringing runs back reset to the first workflow task runs the whole pipeline again',
  'bringing runs back rerun starts a fresh run with the same definition and input',
  'bringing runs back batch: a dry run lists failed runs by pipeline and error type',
  'schedules creates a schedule that starts runs of the pipeline on its interval',
  'schedules lists only the caller tenant',
  'schedules deletes a schedule',
  'IDs and texts Temporal cannot store',
  'versioned deploys',
  'cluster: a server node killed and PostgreSQL restarted under load',
];

/** Jest's testNamePattern: a full test name that starts with one of the names. */
function clusterCoreTestNamePattern() {
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `^(${CLUSTER_CORE_TESTS.map(escape).join('|')})`;
}

module.exports = { CLUSTER_CORE_FILES, CLUSTER_CORE_TESTS, clusterCoreTestNamePattern };
