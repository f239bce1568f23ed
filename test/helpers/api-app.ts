import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { configureApp } from '../../api/app';
import { AppModule } from '../../api/app.module';
import type { ApiSettings } from '../../src/config/api';
import type { TemporalSettings } from '../../src/config/temporal';
import { projectRoot } from '../../src/project-root';

export const TEST_API_KEY = 'e2e-test-key-0123456789';
export const SECOND_API_KEY = 'second-key-0123456789';

export function testApiSettings(overrides: Partial<ApiSettings> = {}): ApiSettings {
  return {
    host: '127.0.0.1',
    port: 0,
    apiKeys: [TEST_API_KEY, SECOND_API_KEY],
    maxWaitSeconds: 30,
    pipelinesDir: join(projectRoot(), 'pipelines'),
    allowAdhocPipelines: true,
    ...overrides,
  };
}

export function compileApi(temporal: TemporalSettings, overrides: Partial<ApiSettings> = {}) {
  return Test.createTestingModule({ imports: [AppModule.forRoot({ api: testApiSettings(overrides), temporal })] }).compile();
}

/** The Chorus API in-process (as main.ts configures it), served to supertest over real HTTP. */
export async function startApiApp(temporal: TemporalSettings, overrides: Partial<ApiSettings> = {}): Promise<{ app: INestApplication; http: ReturnType<typeof request> }> {
  const app = configureApp((await compileApi(temporal, overrides)).createNestApplication());
  await app.init();
  return { app, http: request(app.getHttpServer()) };
}
