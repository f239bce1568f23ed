import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { bundleWorkflowCode, type BundleOptions, type WorkerOptions } from '@temporalio/worker';

export type WorkflowBundleInputs = Pick<BundleOptions, 'workflowsPath' | 'workflowInterceptorModules' | 'failureConverterPath' | 'payloadConverterPath'>;

export interface WorkflowBundleCacheOptions {
  cacheDir: string;
  /** Compiled code the bundle is made from: any change to a file under it makes a new bundle. */
  compiledRoot: string;
  /** @default bundleWorkflowCode */
  bundle?: (options: BundleOptions) => Promise<{ code: string }>;
  logger?: BundleOptions['logger'];
}

/** Bundles of other builds or options are pruned beyond this many (tracing × encryption make four variants). */
const KEEP_BUNDLES = 8;

const TEMPORAL_PACKAGES = ['@temporalio/worker', '@temporalio/workflow'];

/**
 * Every .js file under `root`, with its size and modification time: a rebuild touches them, so
 * the fingerprint changes whenever the compiled workflow code (or anything it imports) can have.
 */
function compiledFingerprint(root: string): string[] {
  const entries: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) {
        const stats = statSync(path);
        entries.push(`${relative(root, path)}:${stats.size}:${stats.mtimeMs}`);
      }
    }
  };
  walk(root);
  return entries.sort();
}

export function workflowBundleKey(inputs: WorkflowBundleInputs, compiledRoot: string): string {
  const versions = TEMPORAL_PACKAGES.map((name) => `${name}@${(require(`${name}/package.json`) as { version: string }).version}`);
  return createHash('sha256')
    .update(JSON.stringify({ inputs, versions, compiled: compiledFingerprint(compiledRoot) }))
    .digest('hex')
    .slice(0, 32);
}

/**
 * The workflow bundle for these inputs, from the cache when this build made it before: a restarted
 * worker (after a crash, a deploy, a scale-up) then polls in well under a second instead of
 * spending one to several seconds of CPU on webpack. An unwritable cache only costs that time.
 */
export async function cachedWorkflowBundle(
  inputs: WorkflowBundleInputs,
  options: WorkflowBundleCacheOptions,
): Promise<NonNullable<WorkerOptions['workflowBundle']>> {
  const key = workflowBundleKey(inputs, options.compiledRoot);
  const codePath = join(options.cacheDir, `workflows-${key}.js`);
  try {
    statSync(codePath);
    return { codePath };
  } catch {
    // not built yet for this build and these options
  }
  const { code } = await (options.bundle ?? bundleWorkflowCode)({ ...inputs, ...(options.logger ? { logger: options.logger } : {}) });
  try {
    mkdirSync(options.cacheDir, { recursive: true });
    // Workers starting together may build the same bundle: each writes its own file, the rename is atomic.
    const partial = `${codePath}.${process.pid}.partial`;
    writeFileSync(partial, code);
    renameSync(partial, codePath);
  } catch (error) {
    options.logger?.warn(`workflow bundle not cached (${(error as Error).message}); the next start bundles again`);
    return { code };
  }
  pruneOldBundles(options.cacheDir);
  return { code };
}

/** Best effort: another worker may be pruning the same files at the same moment. */
function pruneOldBundles(cacheDir: string): void {
  const bundles = readdirSync(cacheDir)
    .filter((name) => /^workflows-\w+\.js$/.test(name))
    .flatMap((name) => {
      try {
        return [{ path: join(cacheDir, name), mtimeMs: statSync(join(cacheDir, name)).mtimeMs }];
      } catch {
        return [];
      }
    })
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const stale of bundles.slice(KEEP_BUNDLES)) {
    try {
      unlinkSync(stale.path);
    } catch {
      // already gone
    }
  }
}

/** The compiled project root when `workflowsPath` is compiled JavaScript (dist/…/index.js), else undefined (ts sources in tests). */
export function compiledRootOf(workflowsPath: string): string | undefined {
  return workflowsPath.endsWith('.js') ? resolve(dirname(workflowsPath), '..') : undefined;
}
