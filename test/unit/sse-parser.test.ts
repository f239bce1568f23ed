import { ServerSentEventParser } from '../../activities/providers/sse';

/** The event-stream parser against the cases the WHATWG spec spells out. */
describe('server-sent event parser', () => {
  const parseAll = (...chunks: string[]) => {
    const parser = new ServerSentEventParser();
    return chunks.flatMap((chunk) => parser.push(chunk));
  };

  it('dispatches on a blank line, joins data lines with LF, names the event and keeps the last ID', () => {
    expect(parseAll('event: delta\ndata: one\ndata: two\nid: 7\n\ndata: three\n\n')).toEqual([
      { event: 'delta', data: 'one\ntwo', id: '7' },
      { event: 'message', data: 'three', id: '7' },
    ]);
  });

  it('takes CRLF, LF and CR line endings, also when a CRLF is split across chunks', () => {
    expect(parseAll('data: a\r', '\n\r', '\ndata: b\r\rdata: c\n\n')).toEqual([
      { event: 'message', data: 'a', id: '' },
      { event: 'message', data: 'b', id: '' },
      { event: 'message', data: 'c', id: '' },
    ]);
  });

  it('removes one space after the colon only, reads a field without a colon as empty, skips comments and unknown fields', () => {
    expect(parseAll(': keep-alive\ndata:  two spaces\nretry: 10\nfoo: bar\n\ndata\n\n')).toEqual([
      { event: 'message', data: ' two spaces', id: '' },
      { event: 'message', data: '', id: '' },
    ]);
  });

  it('dispatches nothing for an event without data, ignores an id with NUL, drops a leading BOM', () => {
    expect(parseAll('\uFEFFevent: ping\n\nid: 1\0\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x', id: '' }]);
  });

  it('discards an event the stream ends inside, and reads one split at any character', () => {
    const text = 'data: {"a":1}\n\ndata: unfinished';
    const parser = new ServerSentEventParser();
    const events = [...text].flatMap((char) => parser.push(char));
    expect(events).toEqual([{ event: 'message', data: '{"a":1}', id: '' }]);
  });
});
