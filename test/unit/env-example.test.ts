import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Env } from '../../src/config/env';
import { loadApiSettings } from '../../src/config/api';
import { keyDigest } from '../../src/config/auth';
import { loadCliSettings } from '../../src/config/cli';
import { launcherEnvironment, loadLauncherSettings } from '../../src/config/launcher';
import { loadEncryptionSettings } from '../../src/config/encryption';
import { loadObservabilitySettings } from '../../src/config/observability';
import { envPrefix, loadProviderSettings } from '../../src/config/providers';
import { loadDevServerSettings, loadTemporalSettings } from '../../src/config/temporal';
import { loadSpendSettings } from '../../src/config/spend';
import { loadWebhookSettings } from '../../src/config/webhooks';
import { loadWorkerCount, loadWorkerSettings } from '../../src/config/worker';
import { PROVIDER_CATALOG, PROVIDER_NAMES } from '../../src/pipeline/providers';
import { projectRoot } from '../../src/project-root';
import { loadSimulatorOptions } from '../../simulator/main';

const root = projectRoot();
/** Not product code: tests and benchmarks set variables of their own. */
const NOT_PRODUCT = new Set(['node_modules', 'dist', '.git', '.cache', '.data', 'test', 'bench']);
/** Read, but the system's or the Go toolchain's (handed through to go install), not Chorus's: never configured through .env. */
const SYSTEM_VARIABLES = new Set(['PATH', 'GOFLAGS']);

function productSources(dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (NOT_PRODUCT.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return productSources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Keys of object literals (`{ CHORUS_X: z…, … }`): in a settings loader, the variables its schemas read. */
const schemaKeys = (source: string) => [...source.matchAll(/(?:^|[{,])\s*([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\s*:(?!:)/gm)].map((match) => match[1]);

/** Every environment variable the product code reads, by the ways it reads them. */
function variablesReadByCode(): Map<string, string> {
  const read = new Map<string, string>();
  const providerPrefixes = PROVIDER_NAMES.map(envPrefix);
  const catalogCredentials = PROVIDER_CATALOG.map((entry) => entry.credential.variable);
  for (const file of productSources()) {
    const source = readFileSync(file, 'utf8');
    const names = [
      // env.X, process.env.X, env?.X
      ...[...source.matchAll(/\benv\??\.([A-Z][A-Z0-9_]+)\b/g)].map((match) => match[1]),
      // env['X'], process.env["X"]
      ...[...source.matchAll(/\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g)].map((match) => match[1]),
      // Settings loaders (the files that call parseEnv): their schemas' keys, inline or in named shapes
      ...(/\bparseEnv\(/.test(source) ? schemaKeys(source) : []),
      // Per-provider keys of the catalog's providers, built as `${envPrefix(entry.name)}_BASE_URL`, `CHORUS_${envPrefix(provider)}_MAX_RPS`
      // (configured instances' <NAME>_* keys have no fixed names: .env.example documents their pattern)
      ...[...source.matchAll(/`([A-Z0-9_]*)\$\{envPrefix\([\w.]+\)\}([A-Z0-9_]*)`/g)].flatMap((match) =>
        providerPrefixes.map((prefix) => `${match[1]}${prefix}${match[2]}`),
      ),
      // The catalog's credential variables, read through `entry.credential.variable`
      ...(/\bcredential\.variable\b/.test(source) ? catalogCredentials : []),
    ];
    for (const name of names) if (!SYSTEM_VARIABLES.has(name) && !read.has(name)) read.set(name, relative(root, file));
  }
  return read;
}

/** Every `${VAR}` a compose file substitutes (`$${VAR}` is a literal for the container's shell). */
function variablesOfComposeFiles(): Map<string, string> {
  const files = [
    ...readdirSync(root).filter((name) => /^docker-compose.*\.ya?ml$/.test(name)),
    ...(function underDeploy(dir: string): string[] {
      return readdirSync(join(root, dir)).flatMap((name) =>
        statSync(join(root, dir, name)).isDirectory() ? underDeploy(join(dir, name)) : /\.ya?ml$/.test(name) ? [join(dir, name)] : [],
      );
    })('deploy'),
  ];
  const read = new Map<string, string>();
  for (const file of files) {
    for (const match of readFileSync(join(root, file), 'utf8').matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*)/g)) if (!read.has(match[1])) read.set(match[1], file);
  }
  return read;
}

const exampleText = readFileSync(join(root, '.env.example'), 'utf8');
/** Variables .env.example documents: `VAR=…` lines, commented out or not. */
const documented = new Set([...exampleText.matchAll(/^#?[ \t]*([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));

describe('.env.example documents exactly what Chorus reads', () => {
  const readByCode = variablesReadByCode();
  const readByCompose = variablesOfComposeFiles();

  it('finds what the code and the compose files read (the scan works)', () => {
    expect([...readByCode.keys()]).toEqual(
      expect.arrayContaining([
        'CHORUS_API_PORT',
        'TEMPORAL_ADDRESS',
        'OPENAI_API_KEY',
        'ANTHROPIC_MODEL',
        'CHORUS_GEMINI_MAX_RPS',
        'CHORUS_API_URL',
        'TEMPORAL_CLI',
      ]),
    );
    expect([...readByCompose.keys()]).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD', 'CHORUS_API_KEYS']));
  });

  it('documents every variable the code reads', () => {
    expect([...readByCode].filter(([name]) => !documented.has(name)).map(([name, file]) => `${name} (${file})`)).toEqual([]);
  });

  it('documents every variable the compose files substitute', () => {
    expect([...readByCompose].filter(([name]) => !documented.has(name)).map(([name, file]) => `${name} (${file})`)).toEqual([]);
  });

  it('documents nothing that nothing reads', () => {
    expect([...documented].filter((name) => !readByCode.has(name) && !readByCompose.has(name))).toEqual([]);
  });
});

describe('copying .env.example to .env changes nothing', () => {
  // What `cp .env.example .env && npm start` runs with, next to `npm start` without a .env.
  const copied = launcherEnvironment({}, join(root, '.env.example'));
  const none = launcherEnvironment({}, join(root, 'no-such-dotenv-file'));
  const DEV_KEYS = { CHORUS_API_KEYS: JSON.stringify([{ id: 'dev', tenant: 'dev', scopes: ['workflows:read'], sha256: keyDigest('k') }]) };
  const ENCRYPTED = { CHORUS_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` };
  const LOADERS: Record<string, (env: Env) => unknown> = {
    launcher: (env) => loadLauncherSettings(env, []),
    api: (env) => loadApiSettings({ ...DEV_KEYS, ...env }),
    cli: loadCliSettings,
    encryption: loadEncryptionSettings,
    observability: loadObservabilitySettings,
    providers: loadProviderSettings,
    temporal: loadTemporalSettings,
    devServer: loadDevServerSettings,
    webhooks: loadWebhookSettings,
    spend: loadSpendSettings,
    worker: loadWorkerSettings,
    workerCount: (env) => loadWorkerCount(env),
    simulator: loadSimulatorOptions,
  };

  it('reads a .env file (the comparisons below compare what the copy sets)', () => {
    const dotenv = join(mkdtempSync(join(tmpdir(), 'chorus-dotenv-')), '.env');
    writeFileSync(dotenv, '# CHORUS_API_PORT=3000\nCHORUS_API_PORT=3100\n');
    expect(launcherEnvironment({}, dotenv)).toEqual({ CHORUS_API_PORT: '3100' });
    expect(launcherEnvironment({ CHORUS_API_PORT: '3200' }, dotenv)).toEqual({ CHORUS_API_PORT: '3200' });
  });

  it.each(Object.keys(LOADERS))('%s settings are the defaults', (name) => {
    expect(LOADERS[name](copied)).toEqual(LOADERS[name](none));
  });

  it('keyless providers still go to the simulator', () => {
    const providers = loadProviderSettings(copied);
    for (const provider of PROVIDER_NAMES)
      expect(providers.endpoints[provider]).toMatchObject({ simulated: true, baseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:8400\//) });
  });

  it("leaves the launcher's development default in force: with encryption on, it trusts its dev server's Web UI", () => {
    // Unset is what lets the launcher trust its own dev server's UI; a copied `false` took that away.
    expect(loadLauncherSettings({ ...copied, ...ENCRYPTED }, [])).toMatchObject({ encryption: true, codecTrustLoopbackUi: undefined });
    expect(loadLauncherSettings({ ...ENCRYPTED, CHORUS_CODEC_TRUST_LOOPBACK_UI: 'false' }, [])).toMatchObject({ codecTrustLoopbackUi: false });
  });
});
