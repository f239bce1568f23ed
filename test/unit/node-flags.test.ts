import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../src/process/node-flags';
import { projectRoot } from '../../src/project-root';

const root = projectRoot();
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

/** Every place that starts the API or a worker gives it the V8 flags the memory measurements chose (NODE_FLAGS). */
describe('V8 flags of the API and the worker', () => {
  it.each([
    ['api', 'dist/api/main.js'],
    ['worker', 'dist/worker/main.js'],
  ] as const)('the %s starts with its flags in the npm script, the compose files and the image', (process, entry) => {
    const flags = NODE_FLAGS[process];
    expect(flags.length).toBeGreaterThan(0);
    expect(scripts[`start:${process}`]).toBe(['node', ...flags, entry].join(' '));
    const command = JSON.stringify(['node', ...flags, entry]).replaceAll(',', ', ');
    for (const compose of ['docker-compose.yml', 'docker-compose.dev.yml']) {
      expect(read(compose)).toContain(`command: ${command}`);
      expect(read(compose)).not.toContain(`command: ["node", "${entry}"]`);
    }
    if (process === 'api') expect(read('Dockerfile')).toContain(`CMD ${command}`);
  });

  it('the launcher and the benchmark take the flags from NODE_FLAGS', () => {
    expect(read('launcher/main.ts')).toContain('[...NODE_FLAGS.api, dist(');
    expect(read('launcher/main.ts')).toContain('[...NODE_FLAGS.worker, dist(');
    expect(read('bench/run.ts')).toContain('nodeFlags: { ...NODE_FLAGS }');
  });
});
