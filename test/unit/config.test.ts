import { loadApiSettings, runDefaultsOf } from '../../src/config/api';
import { createApiKey, keyDigest } from '../../src/config/auth';
import { loadEncryptionSettings } from '../../src/config/encryption';
import { ConfigError } from '../../src/config/env';
import { loadProviderSettings } from '../../src/config/providers';
import { loadTemporalSettings } from '../../src/config/temporal';
import { loadSimulatorOptions } from '../../simulator/main';

describe('configuration', () => {
  const keys = JSON.stringify([createApiKey('ci', 'acme', ['workflows:read']).entry]);

  it('stops with the name of a missing variable', () => {
    expect(() => loadApiSettings({})).toThrow(/CHORUS_API_KEYS/);
  });

  it('stops with the name and reason of a malformed variable', () => {
    expect(() => loadApiSettings({ CHORUS_API_KEYS: keys, CHORUS_API_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadApiSettings({ CHORUS_API_KEYS: keys, CHORUS_API_PORT: 'eighty' })).toThrow(/CHORUS_API_PORT/);
    expect(() => loadApiSettings({ CHORUS_API_KEYS: 'plaintext-key-0123456789' })).toThrow(/CHORUS_API_KEYS: not valid JSON/);
    expect(() => loadApiSettings({ CHORUS_API_KEYS: JSON.stringify([{ id: 'x', tenant: 'a', scopes: ['everything'], sha256: 'abc' }]) })).toThrow(
      /CHORUS_API_KEYS\[0\.scopes\.0\][\s\S]*CHORUS_API_KEYS\[0\.sha256\]: sha256 must be the 64 hex digits/,
    );
    expect(() => loadApiSettings({ CHORUS_API_KEYS: keys, CHORUS_RATE_LIMITS_BY_TENANT: '{"acme": "lots"}' })).toThrow(/CHORUS_RATE_LIMITS_BY_TENANT/);
    expect(() => loadApiSettings({ CHORUS_JWT_JWKS_URL: 'https://issuer.example/jwks' })).toThrow(/CHORUS_JWT_ISSUER and CHORUS_JWT_AUDIENCE/);
    expect(() => loadTemporalSettings({ TEMPORAL_ADDRESS: 'no-port' })).toThrow(/TEMPORAL_ADDRESS: expected host:port/);
  });

  it('stores keys only as digests, with tenant and scopes', () => {
    const { apiKey, entry } = createApiKey('ci', 'acme', ['workflows:start', 'workflows:read']);
    expect(apiKey).toMatch(/^chorus_[A-Za-z0-9_-]{43}$/);
    expect(entry).toEqual({ id: 'ci', tenant: 'acme', scopes: ['workflows:start', 'workflows:read'], sha256: keyDigest(apiKey) });
    expect(JSON.stringify(entry)).not.toContain(apiKey);
    const settings = loadApiSettings({ CHORUS_API_KEYS: JSON.stringify([entry]), CHORUS_RATE_LIMITS_BY_TENANT: '{"acme": 120}' });
    expect(settings.auth.apiKeys).toEqual([entry]);
    expect(settings.rateLimit).toEqual({ perMinute: 600, byTenant: { acme: 120 }, redisUrl: undefined });
  });

  it('carries CHORUS_STEP_RETRY_BUDGET into the runs the API starts, and nothing when it is unset', () => {
    const configured = loadApiSettings({ CHORUS_API_KEYS: keys, CHORUS_STEP_RETRY_BUDGET: '30m' });
    expect(configured.runDefaults).toEqual({ retryBudget: '30m' });
    expect(runDefaultsOf(configured)).toEqual({ defaults: { retryBudget: '30m' } });
    expect(runDefaultsOf(loadApiSettings({ CHORUS_API_KEYS: keys }))).toEqual({});
    expect(() => loadApiSettings({ CHORUS_API_KEYS: keys, CHORUS_STEP_RETRY_BUDGET: 'ten minutes' })).toThrow(/CHORUS_STEP_RETRY_BUDGET: expected a duration/);
  });

  it('reads encryption keys for rotation and refuses a short key', () => {
    const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');
    const settings = loadEncryptionSettings({ CHORUS_ENCRYPTION_KEYS: `new:${key(1)},old:${key(2)}` });
    expect(settings?.activeKeyId).toBe('new');
    expect([...(settings?.keys.keys() ?? [])]).toEqual(['new', 'old']);
    expect(loadEncryptionSettings({ CHORUS_ENCRYPTION_KEYS: `new:${key(1)},old:${key(2)}`, CHORUS_ENCRYPTION_KEY_ID: 'old' })?.activeKeyId).toBe('old');
    expect(() => loadEncryptionSettings({ CHORUS_ENCRYPTION_KEYS: `k:${Buffer.alloc(16).toString('base64')}` })).toThrow(/32-byte keys/);
    expect(loadEncryptionSettings({})).toBeUndefined();
  });

  it('sends a provider without an API key to the simulator, labelled simulated', () => {
    const { endpoints } = loadProviderSettings({ CHORUS_SIMULATOR_URL: 'http://127.0.0.1:9999' });
    expect(endpoints.openai).toMatchObject({ simulated: true, baseUrl: 'http://127.0.0.1:9999/openai/v1', apiKey: '' });
    expect(endpoints.gemini).toMatchObject({ simulated: true, baseUrl: 'http://127.0.0.1:9999/gemini' });
  });

  it('sends a provider with an API key to the real service', () => {
    const { endpoints } = loadProviderSettings({ COHERE_API_KEY: 'co-key', COHERE_MODEL: 'command-a-03-2025' });
    expect(endpoints.cohere).toEqual({
      provider: 'cohere',
      simulated: false,
      apiKey: 'co-key',
      baseUrl: 'https://api.cohere.com',
      defaultModel: 'command-a-03-2025',
      wire: 'cohere-v2',
      credential: { header: 'authorization', scheme: 'Bearer' },
      capabilities: { vision: ['command-a-vision', 'c4ai-aya-vision'], jsonSchema: true, streaming: true },
    });
    expect(endpoints.openai.simulated).toBe(true);
  });

  it('enables TLS when a Temporal API key is set', () => {
    expect(loadTemporalSettings({ TEMPORAL_API_KEY: 'tk' }).tls).toBeDefined();
    expect(loadTemporalSettings({}).tls).toBeUndefined();
  });

  it('rejects a malformed simulator fault specification, naming the variable', () => {
    expect(() => loadSimulatorOptions({ CHORUS_SIMULATOR_FAULTS: '503=2' })).toThrow(/CHORUS_SIMULATOR_FAULTS/);
    expect(loadSimulatorOptions({ CHORUS_SIMULATOR_URL: 'http://127.0.0.1:8555' })).toMatchObject({ host: '127.0.0.1', port: 8555 });
  });

  it("binds the simulator to CHORUS_BIND_HOST when set, as the API and the dev server do; else to its URL's host", () => {
    expect(loadSimulatorOptions({ CHORUS_BIND_HOST: '0.0.0.0', CHORUS_SIMULATOR_URL: 'http://simulator:8400' })).toMatchObject({ host: '0.0.0.0', port: 8400 });
    expect(loadSimulatorOptions({ CHORUS_SIMULATOR_URL: 'http://simulator:8400' })).toMatchObject({ host: 'simulator', port: 8400 });
  });
});
