import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileApi, startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { testTemporalSettings } from '../helpers/stack';

describe('API settings', () => {
  it('refuses inline definitions with 403 when CHORUS_ADHOC_PIPELINES is off', async () => {
    const { app, http } = await startApiApp(testTemporalSettings('api-settings'), { allowAdhocPipelines: false });
    try {
      const definition = { name: 'x', steps: [{ id: 'a', provider: 'openai', task: 'generate', prompt: 'hi' }] };
      const response = await http.post('/v1/workflows').set('x-api-key', TEST_API_KEY).send({ definition, input: {} }).expect(403);
      expect(response.body.detail).toMatch(/CHORUS_ADHOC_PIPELINES/);
    } finally {
      await app.close();
    }
  });

  it('does not start with a bad pipeline file, naming the file and the JSON path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-bad-pipelines-'));
    writeFileSync(join(dir, 'oops.yaml'), 'name: oops\nsteps:\n  - { id: a, provider: openai, task: classify, prompt: hi }\n');
    await expect(compileApi(testTemporalSettings('api-settings'), { pipelinesDir: dir })).rejects.toThrow(
      'oops.yaml: $.steps[0].labels: required when task is "classify"',
    );
  });
});
