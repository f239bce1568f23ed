import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_API_PORT, loadApiAddress } from '../../src/config/api';
import { ConfigError, DEFAULT_BIND_HOST } from '../../src/config/env';
import { launcherEnvironment, loadLauncherSettings } from '../../src/config/launcher';

describe('launcher configuration', () => {
  it.each([
    ['TEMPORAL_ADDRESS', 'no-port', /TEMPORAL_ADDRESS: expected host:port/],
    ['CHORUS_API_PORT', 'eighty', /CHORUS_API_PORT/],
    ['CHORUS_WORKER_METRICS_PORT', 'abc', /CHORUS_WORKER_METRICS_PORT/],
    ['CHORUS_WORKERS', '0', /CHORUS_WORKERS/],
    ['CHORUS_REDIS_URL', 'http://redis:6379', /CHORUS_REDIS_URL: expected redis:\/\/host:port/],
    ['CHORUS_CODEC_TRUST_LOOPBACK_UI', 'yes', /CHORUS_CODEC_TRUST_LOOPBACK_UI/],
    ['CHORUS_TEMPORAL_UI_PORT', '99999', /CHORUS_TEMPORAL_UI_PORT/],
    ['CHORUS_ENCRYPTION_KEYS', 'k:short', /CHORUS_ENCRYPTION_KEYS/],
    ['OPENAI_BASE_URL', 'not a url', /OPENAI_BASE_URL/],
  ])('stops on a malformed %s, naming it', (key, value, message) => {
    expect(() => loadLauncherSettings({ [key]: value })).toThrow(ConfigError);
    expect(() => loadLauncherSettings({ [key]: value })).toThrow(message);
  });

  it("finds the API where the API listens, with the API's own defaults", () => {
    const defaults = loadLauncherSettings({});
    expect(defaults.api).toEqual({ host: DEFAULT_BIND_HOST, port: DEFAULT_API_PORT });
    expect(defaults.api).toEqual(loadApiAddress({}));
    expect(loadLauncherSettings({ CHORUS_BIND_HOST: '0.0.0.0', CHORUS_API_PORT: '3100' }).api).toEqual({ host: '0.0.0.0', port: 3100 });
  });

  it('reads what it decides on: external Temporal, workers, credentials, the codec default', () => {
    const defaults = loadLauncherSettings({});
    expect(defaults).toMatchObject({
      temporalAddress: undefined,
      workerCount: 1,
      workerMetricsPort: 0,
      redisUrl: undefined,
      encryption: false,
      credentialsConfigured: false,
    });
    expect(defaults.codecTrustLoopbackUi).toBeUndefined();
    const key = Buffer.alloc(32, 7).toString('base64');
    const configured = loadLauncherSettings(
      {
        TEMPORAL_ADDRESS: 'temporal:7233',
        CHORUS_WORKERS: '2',
        CHORUS_JWT_JWKS_URL: 'https://issuer.example/jwks',
        CHORUS_ENCRYPTION_KEYS: `k1:${key}`,
        CHORUS_CODEC_TRUST_LOOPBACK_UI: 'false',
      },
      ['--workers', '3'],
    );
    expect(configured).toMatchObject({
      temporalAddress: 'temporal:7233',
      workerCount: 3,
      encryption: true,
      codecTrustLoopbackUi: false,
      credentialsConfigured: true,
    });
  });

  it('lets the real environment win over .env', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-dotenv-'));
    try {
      const file = join(dir, '.env');
      writeFileSync(file, 'CHORUS_API_PORT=3100\nCHORUS_WORKERS=2\n');
      expect(launcherEnvironment({ CHORUS_WORKERS: '4' }, file)).toEqual({ CHORUS_API_PORT: '3100', CHORUS_WORKERS: '4' });
      expect(launcherEnvironment({ CHORUS_WORKERS: '4' }, join(dir, 'missing'))).toEqual({ CHORUS_WORKERS: '4' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
