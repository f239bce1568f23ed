import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { SearchAttributeType } from '@temporalio/common';
import { parse } from 'yaml';
import { CHORUS_SEARCH_ATTRIBUTES } from '../../src/pipeline/search-attributes';
import { projectRoot } from '../../src/project-root';
import { devServerArgs } from '../../src/temporal/dev-server';

const REGISTRATION_TOOL = 'dist/tools/register-search-attributes.js';

interface ComposeService {
  image?: string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  depends_on?: string[] | Record<string, { condition?: string }>;
}

/** Every compose file of the repository: docker-compose*.yml at the top and any under deploy/. */
function composeFiles(): string[] {
  const root = projectRoot();
  const underDeploy = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return underDeploy(path);
      return /\.ya?ml$/.test(name) && (parse(readFileSync(path, 'utf8')) as { services?: unknown } | null)?.services ? [path] : [];
    });
  const top = readdirSync(root)
    .filter((name) => /^docker-compose.*\.ya?ml$/.test(name))
    .map((name) => join(root, name));
  return [...top, ...underDeploy(join(root, 'deploy'))].map((path) => relative(root, path));
}

const commandOf = (service: ComposeService) => [service.entrypoint ?? [], service.command ?? []].flat().join(' ');
const conditionOn = (service: ComposeService, dependency: string) =>
  Array.isArray(service.depends_on) ? (service.depends_on.includes(dependency) ? 'service_started' : undefined) : service.depends_on?.[dependency]?.condition;

/** The one list is the code's: every way Chorus gets a Temporal server registers exactly it. */
describe('Chorus search attributes', () => {
  const files = composeFiles();

  it('finds the compose files', () => {
    expect(files).toEqual(expect.arrayContaining(['docker-compose.yml', 'docker-compose.dev.yml']));
  });

  describe.each(files)('%s', (file) => {
    const text = readFileSync(join(projectRoot(), file), 'utf8');
    const services = Object.entries((parse(text, { merge: true }) as { services: Record<string, ComposeService> }).services);
    const registrations = services.filter(([, service]) => commandOf(service).includes(REGISTRATION_TOOL));
    const chorusProcesses = services.filter(([, service]) => /dist\/(api|worker)\/main\.js/.test(commandOf(service)));

    it('names no search attribute itself, so it cannot drift from the list', () => {
      expect(text).not.toMatch(/--search-attribute|search-attribute create|\bChorus[A-Z]\w*=(Keyword|Double|Int|Text|Bool|Datetime)/);
    });

    it('registers them with the tool that reads the list, once, before any API or worker starts', () => {
      if (chorusProcesses.length === 0) return;
      expect(registrations.map(([name]) => name)).toHaveLength(1);
      const [registration] = registrations[0];
      for (const [name, service] of chorusProcesses)
        expect({ name, condition: conditionOn(service, registration) }).toEqual({ name, condition: 'service_completed_successfully' });
    });
  });

  it('the dev server starts with exactly the list, each with its type', () => {
    const args = devServerArgs({ ip: '127.0.0.1', port: 1, uiPort: 2, dbFilename: join(tmpdir(), 'chorus-unused', 'temporal.db') });
    const flags = args.flatMap((arg, index) => (args[index - 1] === '--search-attribute' ? [arg] : []));
    const cliType: Record<string, string> = {
      [SearchAttributeType.KEYWORD]: 'Keyword',
      [SearchAttributeType.DOUBLE]: 'Double',
      [SearchAttributeType.INT]: 'Int',
    };
    expect(flags).toEqual(CHORUS_SEARCH_ATTRIBUTES.map((key) => `${key.name}=${cliType[key.type]}`));
    expect(CHORUS_SEARCH_ATTRIBUTES.map((key) => key.name)).toEqual(expect.arrayContaining(['ChorusTenant', 'ChorusPipeline']));
  });
});
