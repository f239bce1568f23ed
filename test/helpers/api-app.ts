import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { configureApp } from '../../api/app';
import { AppModule } from '../../api/app.module';
import type { ApiSettings } from '../../src/config/api';
import { keyDigest, SCOPES, type Scope } from '../../src/config/auth';
import type { EncryptionSettings } from '../../src/config/encryption';
import type { TemporalSettings } from '../../src/config/temporal';
import { projectRoot } from '../../src/project-root';

/** Tenant "acme", every scope. */
export const TEST_API_KEY = 'chorus_e2e-test-key-0123456789';
/** Tenant "globex", every scope. */
export const SECOND_API_KEY = 'chorus_second-key-0123456789';
/** Tenant "acme", read-only. */
export const READ_ONLY_KEY = 'chorus_read-only-key-0123456789';

export const keyEntry = (id: string, apiKey: string, tenant: string, scopes: readonly Scope[] = SCOPES) => ({
  id,
  tenant,
  scopes: [...scopes],
  sha256: keyDigest(apiKey),
});

export function testApiSettings(overrides: Partial<ApiSettings> = {}): ApiSettings {
  return {
    host: '127.0.0.1',
    port: 0,
    auth: {
      apiKeys: [
        keyEntry('e2e', TEST_API_KEY, 'acme'),
        keyEntry('second', SECOND_API_KEY, 'globex'),
        keyEntry('reader', READ_ONLY_KEY, 'acme', ['workflows:read']),
      ],
    },
    rateLimit: { perMinute: 10_000, byTenant: {} },
    maxBodyBytes: 1_000_000,
    maxInputBytes: 256_000,
    maxWaitSeconds: 30,
    pipelinesDir: join(projectRoot(), 'pipelines'),
    allowAdhocPipelines: true,
    maxSchedulesPerTenant: 100,
    corsOrigins: [],
    codec: { uiOrigins: ['http://127.0.0.1:8233'], trustLoopbackUi: false },
    runDefaults: {},
    ...overrides,
  };
}

export async function compileApi(temporal: TemporalSettings, overrides: Partial<ApiSettings> = {}, encryption?: EncryptionSettings) {
  return Test.createTestingModule({ imports: [AppModule.forRoot({ api: testApiSettings(overrides), temporal, encryption })] }).compile();
}

/** The Chorus API in-process (as main.ts configures it), served to supertest over real HTTP. */
export async function startApiApp(
  temporal: TemporalSettings,
  overrides: Partial<ApiSettings> = {},
  encryption?: EncryptionSettings,
): Promise<{ app: INestApplication; http: ReturnType<typeof request> }> {
  const app = configureApp((await compileApi(temporal, overrides, encryption)).createNestApplication(), testApiSettings(overrides));
  await app.init();
  return { app, http: request(app.getHttpServer()) };
}
