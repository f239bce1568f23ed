/** One dispatched server-sent event (WHATWG HTML, "Interpreting an event stream"). */
export interface ServerSentEvent {
  /** `message` when the stream names none. */
  event: string;
  data: string;
  /** The last event ID as of this event (it persists across events until a new `id:` line sets it). */
  id: string;
}

/**
 * Incremental event-stream parser, exact to the spec: lines end in CRLF, LF or CR (also across
 * chunk boundaries), a leading BOM is dropped, `:` lines are comments, one space after the colon is
 * removed, `data` lines join with LF, an `id` containing NUL is ignored, a blank line dispatches
 * (nothing when no data came), and an event the stream ends inside is discarded.
 */
export class ServerSentEventParser {
  private buffer = '';
  private started = false;
  /** The previous chunk ended in CR: an LF starting this one belongs to that line ending. */
  private afterCr = false;
  private eventType = '';
  private data: string[] = [];
  private lastEventId = '';

  /** Feeds decoded text; returns the events it completes, in order. */
  push(text: string): ServerSentEvent[] {
    let chunk = text;
    if (!this.started && chunk.length) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.afterCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.afterCr = false;
    this.buffer += chunk;
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (let index = 0; index < this.buffer.length; index += 1) {
      const char = this.buffer[index];
      if (char !== '\n' && char !== '\r') continue;
      const event = this.line(this.buffer.slice(start, index));
      if (event) events.push(event);
      if (char === '\r') {
        if (index + 1 === this.buffer.length) this.afterCr = true;
        else if (this.buffer[index + 1] === '\n') index += 1;
      }
      start = index + 1;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventType = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    // `retry` only concerns reconnecting clients; other fields are ignored, as the spec says.
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const event = this.data.length ? { event: this.eventType || 'message', data: this.data.join('\n'), id: this.lastEventId } : undefined;
    this.eventType = '';
    this.data = [];
    return event;
  }
}
