import { projectPackage } from '../project-root';

/** The lowest Node.js major package.json's engines field allows (`>=22` and the like): the one place it is named. */
export function minimumNodeMajor(engines: string = projectPackage().engines.node): number {
  const match = /^>=\s*(\d+)(\.\d+){0,2}$/.exec(engines.trim());
  if (!match) throw new Error(`package.json engines.node must read ">=MAJOR[.MINOR.PATCH]", not "${engines}"`);
  return Number(match[1]);
}

/** Which Node.js runs this process, for the first line a program prints. */
export function describeNode(version: string = process.versions.node, execPath: string = process.execPath): string {
  return `Node.js v${version} (${execPath})`;
}

/** Why this Node.js cannot run Chorus, or undefined when it can. */
export function unsupportedNode(
  version: string = process.versions.node,
  execPath: string = process.execPath,
  minimum: number = minimumNodeMajor(),
): string | undefined {
  if (Number(version.split('.')[0]) >= minimum) return undefined;
  return (
    `Chorus needs Node.js ${minimum} or newer (22 LTS or 24); this is ${describeNode(version, execPath)}. ` +
    'On linux-x64, npm ci installs Node 24 into node_modules/.bin, which npm start and npm test use; elsewhere, install Node.js 24.'
  );
}
