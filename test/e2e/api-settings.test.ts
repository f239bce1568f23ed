import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { configureApp } from '../../api/app';
import { AppModule } from '../../api/app.module';
import type { ApiSettings } from '../../src/config/api';
import { projectRoot } from '../../src/project-root';
import { testTemporalSettings } from '../helpers/stack';

const KEY = 'settings-test-key-0123456789';
const settings = (overrides: Partial<ApiSettings>): ApiSettings => ({
  host: '127.0.0.1',
  port: 0,
  apiKeys: [KEY],
  maxWaitSeconds: 30,
  pipelinesDir: join(projectRoot(), 'pipelines'),
  allowAdhocPipelines: true,
  ...overrides,
});
const compile = (api: ApiSettings) => Test.createTestingModule({ imports: [AppModule.forRoot({ api, temporal: testTemporalSettings('api-settings') })] }).compile();

describe('API settings', () => {
  it('refuses inline definitions with 403 when CHORUS_ADHOC_PIPELINES is off', async () => {
    const app = configureApp((await compile(settings({ allowAdhocPipelines: false }))).createNestApplication());
    await app.init();
    try {
      const definition = { name: 'x', steps: [{ id: 'a', provider: 'openai', task: 'generate', prompt: 'hi' }] };
      const response = await request(app.getHttpServer()).post('/v1/workflows').set('x-api-key', KEY).send({ definition, input: {} }).expect(403);
      expect(response.body.message).toMatch(/CHORUS_ADHOC_PIPELINES/);
    } finally {
      await app.close();
    }
  });

  it('does not start with a bad pipeline file, naming the file and the JSON path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-bad-pipelines-'));
    writeFileSync(join(dir, 'oops.yaml'), 'name: oops\nsteps:\n  - { id: a, provider: openai, task: classify, prompt: hi }\n');
    await expect(compile(settings({ pipelinesDir: dir }))).rejects.toThrow('oops.yaml: $.steps[0].labels: required when task is "classify"');
  });
});
