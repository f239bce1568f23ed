import { loadApiSettings } from '../../src/config/api';
import { ConfigError } from '../../src/config/env';
import { loadProviderSettings } from '../../src/config/providers';
import { loadTemporalSettings } from '../../src/config/temporal';
import { loadSimulatorOptions } from '../../src/simulator/main';

describe('configuration', () => {
  it('stops with the name of a missing variable', () => {
    expect(() => loadApiSettings({})).toThrow(/CHORUS_API_KEYS/);
  });

  it('stops with the name and reason of a malformed variable', () => {
    expect(() => loadApiSettings({ CHORUS_API_KEYS: 'a-long-enough-test-key', CHORUS_API_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadApiSettings({ CHORUS_API_KEYS: 'a-long-enough-test-key', CHORUS_API_PORT: 'eighty' })).toThrow(/CHORUS_API_PORT/);
    expect(() => loadApiSettings({ CHORUS_API_KEYS: 'short' })).toThrow(/at least 16 characters/);
    expect(() => loadTemporalSettings({ TEMPORAL_ADDRESS: 'no-port' })).toThrow(/TEMPORAL_ADDRESS: expected host:port/);
  });

  it('accepts several API keys', () => {
    expect(loadApiSettings({ CHORUS_API_KEYS: 'first-key-0123456789, second-key-0123456789' }).apiKeys).toEqual([
      'first-key-0123456789',
      'second-key-0123456789',
    ]);
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
});
