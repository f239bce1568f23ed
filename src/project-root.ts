import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, whether this file runs from source or from `dist/`. */
export function projectRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

/** The fields of the project's package.json that the programs report and check. */
export interface ProjectPackage {
  version: string;
  engines: { node: string };
}

export function projectPackage(): ProjectPackage {
  return JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as ProjectPackage;
}
