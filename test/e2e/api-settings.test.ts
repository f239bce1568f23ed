import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileApi, startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { testTemporalSettings } from '../helpers/stack';
import { sleep, waitFor } from '../helpers/wait';

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

  it('keeps an idle keep-alive connection open past the 5 s of Node, so a client reusing it is answered', async () => {
    const { app } = await startApiApp(testTemporalSettings('api-settings'));
    let socket: Socket | undefined;
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as AddressInfo;
      socket = connect(port, '127.0.0.1');
      const answers: string[] = [];
      let closedAfterMs: number | undefined;
      const openedAt = Date.now();
      socket.on('data', (chunk) => answers.push(chunk.toString()));
      socket.on('close', () => (closedAfterMs = Date.now() - openedAt));
      const get = () => socket!.write('GET /healthz HTTP/1.1\r\nHost: chorus\r\n\r\n');
      get();
      await waitFor('the first answer', () => answers.length === 1, 5_000, 20);
      expect(answers[0]).toMatch(/^HTTP\/1\.1 200/);
      // What a client that honours the hint reads: the API announces the timeout it keeps.
      expect(answers[0]).toMatch(/\r\nKeep-Alive: timeout=65\r\n/i);
      // Node's default closes the socket 6 s after the answer (5 s + its 1 s buffer).
      await sleep(6_500);
      expect(closedAfterMs).toBeUndefined();
      get();
      await waitFor('the answer on the reused connection', () => answers.join('').match(/HTTP\/1\.1 200/g)?.length === 2, 5_000, 20);
    } finally {
      socket?.destroy();
      await app.close();
    }
  }, 20_000);

  it('does not start with a bad pipeline file, naming the file and the JSON path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-bad-pipelines-'));
    writeFileSync(join(dir, 'oops.yaml'), 'name: oops\nsteps:\n  - { id: a, provider: openai, task: classify, prompt: hi }\n');
    await expect(compileApi(testTemporalSettings('api-settings'), { pipelinesDir: dir })).rejects.toThrow(
      'oops.yaml: $.steps[0].labels: required when task is "classify"',
    );
  });
});
