import { Option } from 'commander';
import { createApiKey, SCOPES, type Scope } from '../src/config/auth';
import { commandLine } from '../src/process/command-line';

const DEFAULT_SCOPES = 'workflows:start,workflows:read';

const program = commandLine('npm run keys:create --', 'Creates an API key: prints the key once and the CHORUS_API_KEYS entry (its digest) to configure')
  .requiredOption('--id <name>', 'non-secret name of the key, shown in logs and used for its rate limit')
  .requiredOption('--tenant <tenant>', 'the tenant whose runs the key sees')
  .addOption(new Option('--scopes <list>', `comma-separated, of ${SCOPES.join(', ')}`).default(DEFAULT_SCOPES))
  .parse();

const options = program.opts<{ id: string; tenant: string; scopes: string }>();
const scopes = options.scopes.split(',').map((scope) => scope.trim());
const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
if (unknown.length) program.error(`error: unknown scopes: ${unknown.join(', ')}`);
const { apiKey, entry } = createApiKey(options.id, options.tenant, scopes as Scope[]);
console.log(`API key (shown once; give it to the client, store it nowhere else):\n  ${apiKey}\n`);
console.log(`Add this entry to CHORUS_API_KEYS_FILE (a JSON list) or CHORUS_API_KEYS:\n  ${JSON.stringify(entry)}`);
