import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import Long from 'long';
import { startProcess, waitUntil, type ManagedProcess } from '../../src/process/child-process';
import { CHORUS_SEARCH_ATTRIBUTES } from '../../src/pipeline/search-attributes';
import { devServerArgs } from '../../src/temporal/dev-server';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { registerSearchAttributes } from '../../tools/register-search-attributes';
import { freePort } from '../helpers/reliability';
import { testTemporalAddress } from '../helpers/stack';

/** The dev server as `npm start` runs it, and the search attributes Chorus needs on a server that lacks them. */
describe('Temporal provisioning', () => {
  let server: ManagedProcess | undefined;
  afterEach(async () => server?.stop(5000));

  it('registers missing search attributes once, on a dev server started without them', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    const args = devServerArgs({ ip: '127.0.0.1', port, uiPort, dbFilename: join(mkdtempSync(join(tmpdir(), 'chorus-dev-')), 'temporal.db') });
    // The same server a database from an older Chorus gives: no Chorus search attributes at all.
    const withoutAttributes = args.filter((arg, index) => arg !== '--search-attribute' && args[index - 1] !== '--search-attribute');
    server = startProcess('temporal', process.env.CHORUS_TEST_TEMPORAL_CLI!, [...withoutAttributes, '--headless'], { PATH: process.env.PATH }, () => undefined);
    let connection: Connection | undefined;
    await waitUntil(
      'the dev server',
      async () => Boolean((connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1000 }))),
      30_000,
      300,
    );
    try {
      const names = CHORUS_SEARCH_ATTRIBUTES.map((key) => key.name);
      expect(await ensureSearchAttributes(connection!, 'default')).toEqual(names);
      const listed = await connection!.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(Object.keys(listed.customAttributes ?? {})).toEqual(expect.arrayContaining(names));
      expect(await ensureSearchAttributes(connection!, 'default')).toEqual([]);
    } finally {
      await connection?.close();
    }
  });

  it('the compose job registers them on a namespace created a moment ago, and then has nothing to add', async () => {
    const address = testTemporalAddress();
    const namespace = `chorus-provisioning-${randomUUID()}`;
    const connection = await Connection.connect({ address });
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(24 * 3600) } });
    } finally {
      await connection.close();
    }
    const settings = { address, namespace, taskQueue: 'unused' };
    expect(await registerSearchAttributes(settings, 30, () => undefined)).toEqual(CHORUS_SEARCH_ATTRIBUTES.map((key) => key.name));
    expect(await registerSearchAttributes(settings, 30, () => undefined)).toEqual([]);
  });

  it('starts the dev server with WAL and synchronous=NORMAL SQLite and Chorus search attributes', () => {
    const args = devServerArgs({ ip: '127.0.0.1', port: 1, uiPort: 2, dbFilename: join(tmpdir(), 'x', 'temporal.db') });
    expect(args).toEqual(
      expect.arrayContaining([
        '--db-filename',
        '--sqlite-pragma',
        'journal_mode=wal',
        'synchronous=NORMAL',
        '--search-attribute',
        'ChorusTenant=Keyword',
        'ChorusCostUsd=Double',
      ]),
    );
  });
});
