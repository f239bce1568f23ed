import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BundleOptions } from '@temporalio/worker';
import { cachedWorkflowBundle, compiledRootOf } from '../../worker/workflow-bundle-cache';

describe('workflow bundle cache', () => {
  let dir: string;
  let compiledRoot: string;
  let cacheDir: string;
  let bundled: BundleOptions[];
  const bundle = async (options: BundleOptions) => {
    bundled.push(options);
    return { code: `// bundle ${bundled.length} of ${options.workflowsPath}` };
  };
  const inputs = { workflowsPath: '/app/dist/workflows/index.js', workflowInterceptorModules: [] as string[] };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chorus-bundles-'));
    compiledRoot = join(dir, 'dist');
    cacheDir = join(dir, 'cache');
    bundled = [];
    mkdirSync(compiledRoot);
    writeFileSync(join(compiledRoot, 'index.js'), 'exports.a = 1;');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('bundles once per build and options, then serves the bundle from the cache', async () => {
    const first = await cachedWorkflowBundle(inputs, { cacheDir, compiledRoot, bundle });
    expect(first).toEqual({ code: '// bundle 1 of /app/dist/workflows/index.js' });
    const second = await cachedWorkflowBundle(inputs, { cacheDir, compiledRoot, bundle });
    expect(bundled).toHaveLength(1);
    expect('codePath' in second && readFileSync(second.codePath, 'utf8')).toBe('// bundle 1 of /app/dist/workflows/index.js');
  });

  it('bundles again for other options (tracing interceptors, converters) and after a rebuild', async () => {
    await cachedWorkflowBundle(inputs, { cacheDir, compiledRoot, bundle });
    await cachedWorkflowBundle({ ...inputs, workflowInterceptorModules: ['/tracing.js'] }, { cacheDir, compiledRoot, bundle });
    await cachedWorkflowBundle({ ...inputs, failureConverterPath: '/failure-converter.js' }, { cacheDir, compiledRoot, bundle });
    expect(bundled).toHaveLength(3);
    expect(bundled[1].workflowInterceptorModules).toEqual(['/tracing.js']);
    expect(bundled[2].failureConverterPath).toBe('/failure-converter.js');

    writeFileSync(join(compiledRoot, 'index.js'), 'exports.a = 2; // rebuilt');
    await cachedWorkflowBundle(inputs, { cacheDir, compiledRoot, bundle });
    expect(bundled).toHaveLength(4);
    expect(readdirSync(cacheDir).filter((name) => name.endsWith('.js'))).toHaveLength(4);
  });

  it('keeps the newest eight bundles', async () => {
    for (let build = 0; build < 10; build++) {
      writeFileSync(join(compiledRoot, 'index.js'), `exports.build = ${build};`);
      await cachedWorkflowBundle(inputs, { cacheDir, compiledRoot, bundle });
    }
    expect(readdirSync(cacheDir)).toHaveLength(8);
  });

  it('still returns the bundle when the cache cannot be written, and says so', async () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), info() {}, error() {}, debug() {}, trace() {}, log() {} };
    writeFileSync(join(dir, 'not-a-dir'), '');
    const result = await cachedWorkflowBundle(inputs, { cacheDir: join(dir, 'not-a-dir', 'cache'), compiledRoot, bundle, logger });
    expect(result).toEqual({ code: '// bundle 1 of /app/dist/workflows/index.js' });
    expect(warnings).toEqual([expect.stringMatching(/^workflow bundle not cached/)]);
  });

  it('caches only compiled code: sources (tests) are bundled as they are', () => {
    expect(compiledRootOf('/app/dist/workflows/index.js')).toBe('/app/dist');
    expect(compiledRootOf('/app/workflows/index.ts')).toBeUndefined();
  });
});
