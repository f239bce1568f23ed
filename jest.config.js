const ESM_ONLY_PACKAGES = '(change-case|parse-json|index-to-position|supports-color)';

/** What every test file shares: the environment, the TypeScript transform and quiet Temporal workers. */
const shared = {
  rootDir: __dirname,
  testEnvironment: '<rootDir>/test/helpers/jest-environment.js',
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
    // ESM-only packages that openapi-typescript's CommonJS build requires (Node loads them natively; jest cannot).
    [`/node_modules/${ESM_ONLY_PACKAGES}/.+\\.js$`]: ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // A path is left alone unless its innermost node_modules folder holds one of them.
  transformIgnorePatterns: [`/node_modules/(?!.*/node_modules/)(?!${ESM_ONLY_PACKAGES}/)`],
  setupFiles: ['<rootDir>/test/helpers/quiet-temporal.ts'],
};

const { CLUSTER_CORE_FILES, clusterCoreTestNamePattern } = require('./test/cluster/core-tests');
/** `npm run test:cluster:core`: only the cluster core's files and tests (test/cluster/core-tests.js). */
const clusterCore = process.env.CHORUS_TEST_CLUSTER_CORE === '1';

/** Each starts processes of its own (workers, simulators, servers) and kills or loads them. */
const RELIABILITY_ROOTS = ['<rootDir>/test/reliability', '<rootDir>/test/scale'];

/**
 * What the projects that need Temporal share: one real dev server per jest process, started by global
 * setup (jest runs one global setup module once, however many projects name it).
 */
const againstTemporal = {
  ...shared,
  ...(clusterCore ? { testMatch: CLUSTER_CORE_FILES.map((file) => `<rootDir>/${file}`) } : {}),
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
};

/**
 * Three projects: `unit` needs no Temporal server; `reliability` (the fault and scale tests) and
 * `integration` (every other folder) run against real dev servers that their global setup starts.
 * Jest runs a project's global setup only when at least one of its test files is selected, so
 * `jest --selectProjects unit` starts no server. `npm run test:integration` runs the two server
 * projects side by side, each in band in a jest process of its own (tools/test-integration.sh).
 * @type {import('jest').Config}
 */
module.exports = {
  testTimeout: 60_000,
  ...(clusterCore ? { testNamePattern: clusterCoreTestNamePattern() } : {}),
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
    { ...againstTemporal, displayName: 'reliability', roots: RELIABILITY_ROOTS },
    {
      ...againstTemporal,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      // test/cluster/ kills cluster nodes: it runs only on the cluster (`npm run test:cluster`).
      // test/conformance/ needs schemathesis in .cache/venv: `npm run test:conformance` installs it and runs it.
      testPathIgnorePatterns: [
        '/node_modules/',
        '<rootDir>/test/unit/',
        ...RELIABILITY_ROOTS.map((root) => `${root}/`),
        ...(process.env.CHORUS_TEST_CLUSTER === '1' ? [] : ['<rootDir>/test/cluster/']),
        ...(process.env.CHORUS_TEST_CONFORMANCE === '1' ? [] : ['<rootDir>/test/conformance/']),
      ],
    },
  ],
};
