import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';

// CommonJS, shared with jest.config.js.
const { CLUSTER_CORE_FILES, CLUSTER_CORE_TESTS, clusterCoreTestNamePattern } = require('../cluster/core-tests') as {
  CLUSTER_CORE_FILES: string[];
  CLUSTER_CORE_TESTS: string[];
  clusterCoreTestNamePattern(): string;
};

/** Each file's top-level describe name and the names of the tests and blocks under it, as written (plain string literals). */
function namesIn(file: string): { describe: string; tests: string[] } {
  const source = readFileSync(join(projectRoot(), file), 'utf8');
  const literal = String.raw`\(\s*(['"\x60])((?:(?!\1)[^\\$]|\\.)*)\1`;
  const [describe] = [...source.matchAll(new RegExp(`^describe${literal}`, 'gm'))].map((match) => match[2]);
  const tests = [...source.matchAll(new RegExp(`^\\s+(?:it|describe)${literal}`, 'gm'))].map((match) => match[2]);
  return { describe, tests };
}

describe('the cluster core CI runs (test/cluster/core-tests.js)', () => {
  const files = CLUSTER_CORE_FILES.map(namesIn);
  const fullNames = files.flatMap(({ describe, tests }) => [describe, ...tests.map((test) => `${describe} ${test}`)]);

  it('names only tests that exist: a renamed test would silently leave the cluster run', () => {
    expect(files.every(({ describe }) => describe)).toBe(true);
    const unmatched = CLUSTER_CORE_TESTS.filter((name) => !fullNames.some((fullName) => fullName.startsWith(name)));
    expect(unmatched).toEqual([]);
  });

  it('selects a test of every file it runs, and leaves the slow extras out', () => {
    const pattern = new RegExp(clusterCoreTestNamePattern());
    for (const { describe, tests } of files) expect([describe, ...tests.map((test) => `${describe} ${test}`)].some((name) => pattern.test(name))).toBe(true);
    expect(pattern.test('REST API end to end retries a provider 503 and completes')).toBe(false);
    expect(pattern.test('bringing runs back npm run replay replays a run from the server, and reports non-determinism in a tampered history')).toBe(false);
    expect(pattern.test('cluster: a server node killed and PostgreSQL restarted under load loses no run and leaves none stuck among 400 runs')).toBe(true);
  });
});
