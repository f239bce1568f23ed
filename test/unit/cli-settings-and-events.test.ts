import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEvents, type ServerSentEvent } from '../../cli/event-stream';
import { exitCodeOfStatus, ExitCode } from '../../cli/exit-codes';
import { loadCliSettings } from '../../src/config/cli';

const streamOf = (...chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });

async function all(stream: ReadableStream<Uint8Array>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of readEvents(stream)) events.push(event);
  return events;
}

describe('the CLI reads Server-Sent Events', () => {
  it('parses id, event and data, across chunk boundaries, skipping comments', async () => {
    const events = await all(
      streamOf('id: 5\nevent: st', 'ep\ndata: {"step":"draft"}\n\n: keep-alive\n\n', 'id: 9\r\nevent: run\r\ndata: {"status":', '"COMPLETED"}\r\n\r\n'),
    );
    expect(events).toEqual([
      { id: '5', event: 'step', data: '{"step":"draft"}' },
      { id: '9', event: 'run', data: '{"status":"COMPLETED"}' },
    ]);
  });

  it('joins several data lines and defaults the event name to message; an unterminated event is dropped', async () => {
    expect(await all(streamOf('data: a\ndata: b\n\nevent: error\ndata: {"message":"x"}\n\ndata: cut off'))).toEqual([
      { id: undefined, event: 'message', data: 'a\nb' },
      { id: undefined, event: 'error', data: '{"message":"x"}' },
    ]);
  });
});

describe('CLI settings: flags, then the environment, then the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-cli-config-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ apiUrl: 'http://file.test:3000/', apiKey: 'from-file' }));

  it('takes each setting from the first place that has it', () => {
    expect(loadCliSettings({ CHORUS_CONFIG: config })).toEqual({ apiUrl: 'http://file.test:3000', apiKey: 'from-file', configFile: config });
    expect(loadCliSettings({ CHORUS_CONFIG: config, CHORUS_API_KEY: 'from-env' })).toMatchObject({ apiUrl: 'http://file.test:3000', apiKey: 'from-env' });
    expect(loadCliSettings({ CHORUS_CONFIG: config, CHORUS_API_KEY: 'from-env', CHORUS_API_URL: 'http://env.test' }, { apiKey: 'from-flag' })).toMatchObject({
      apiUrl: 'http://env.test',
      apiKey: 'from-flag',
    });
  });

  it('rejects a CHORUS_CONFIG that does not exist, a file that is not the format, and a bad --api-url', () => {
    expect(() => loadCliSettings({ CHORUS_CONFIG: join(dir, 'missing.json') })).toThrow(/CHORUS_CONFIG: .*missing\.json does not exist/);
    const unknownField = join(dir, 'unknown.json');
    writeFileSync(unknownField, JSON.stringify({ apiKey: 'k', url: 'http://x' }));
    expect(() => loadCliSettings({ CHORUS_CONFIG: unknownField })).toThrow(/unknown\.json:\n {2}\(file\): Unrecognized key/);
    expect(() => loadCliSettings({ CHORUS_CONFIG: config }, { apiUrl: 'ftp://x' })).toThrow(/--api-url: expected an http\(s\) URL/);
  });
});

describe('CLI exit codes of HTTP statuses', () => {
  it.each([
    [401, ExitCode.Auth],
    [403, ExitCode.Auth],
    [404, ExitCode.NotFound],
    [429, ExitCode.Unavailable],
    [503, ExitCode.Unavailable],
    [400, ExitCode.Rejected],
    [409, ExitCode.Rejected],
    [413, ExitCode.Rejected],
  ])('%i → %i', (status, code) => expect(exitCodeOfStatus(status)).toBe(code));
});
