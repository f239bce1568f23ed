import 'reflect-metadata';
import { loadApiSettings } from '../src/config/api';
import { loadEncryptionSettings } from '../src/config/encryption';
import { loadTemporalSettings } from '../src/config/temporal';
import { createChorusApp } from './app';

async function main() {
  const api = loadApiSettings(process.env);
  const app = await createChorusApp({ api, temporal: loadTemporalSettings(process.env), encryption: loadEncryptionSettings(process.env) });
  await app.listen(api.port, api.host);
  console.log(`Chorus API listening on ${await app.getUrl()} (OpenAPI UI at /docs)`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
