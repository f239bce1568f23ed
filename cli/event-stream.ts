/** One Server-Sent Event: `event` defaults to "message", as in the EventSource specification. */
export interface ServerSentEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * The events of a text/event-stream body, as they arrive: `id:`, `event:` and (possibly several)
 * `data:` lines up to a blank line; comment lines (`: keep-alive`) are skipped.
 */
export async function* readEvents(stream: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffered = '';
  let current: { id?: string; event?: string; data: string[] } = { data: [] };
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lines = buffered.split(/\r\n|\r|\n/);
      buffered = done ? '' : (lines.pop() ?? '');
      for (const line of lines) {
        if (line === '') {
          if (current.data.length || current.event) yield { id: current.id, event: current.event ?? 'message', data: current.data.join('\n') };
          current = { data: [] };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') current.data.push(value);
        else if (field === 'event') current.event = value;
        else if (field === 'id') current.id = value;
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
