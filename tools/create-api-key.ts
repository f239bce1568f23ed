import { parseArgs } from 'node:util';
import { createApiKey, SCOPES, type Scope } from '../src/config/auth';

/** `npm run keys:create -- --id ci --tenant acme [--scopes workflows:start,workflows:read]` */
const { values } = parseArgs({ options: { id: { type: 'string' }, tenant: { type: 'string' }, scopes: { type: 'string' } } });
const scopes = (values.scopes ?? 'workflows:start,workflows:read').split(',').map((scope) => scope.trim());
const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
if (!values.id || !values.tenant || unknown.length) {
  console.error(`usage: npm run keys:create -- --id NAME --tenant TENANT [--scopes ${SCOPES.join(',')}]`);
  if (unknown.length) console.error(`unknown scopes: ${unknown.join(', ')}`);
  process.exit(2);
}
const { apiKey, entry } = createApiKey(values.id, values.tenant, scopes as Scope[]);
console.log(`API key (shown once; give it to the client, store it nowhere else):\n  ${apiKey}\n`);
console.log(`Add this entry to CHORUS_API_KEYS_FILE (a JSON list) or CHORUS_API_KEYS:\n  ${JSON.stringify(entry)}`);
