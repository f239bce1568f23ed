import { ServerSentEventParser, type ServerSentEvent } from '../../activities/providers/sse';

export interface ReceivedEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/**
 * Reads a Server-Sent Events response event by event, as a browser's EventSource does; stops at the
 * end of the stream or when `until` says so (then the connection is dropped, like a client going away).
 */
export async function readServerSentEvents(
  url: string,
  headers: Record<string, string>,
  until: (events: ReceivedEvent[]) => boolean = () => false,
  timeoutMs = 60_000,
): Promise<{ events: ReceivedEvent[]; ended: boolean; status: number }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no end of the event stream within ${timeoutMs} ms`)), timeoutMs);
  const response = await fetch(url, { headers, signal: abort.signal });
  const events: ReceivedEvent[] = [];
  const parser = new ServerSentEventParser();
  const decoder = new TextDecoder();
  const take = (parsed: ServerSentEvent[]) => {
    for (const event of parsed) {
      // The `tokens` notice has no id: line of its own (the parser keeps the previous ID for it).
      events.push({ id: event.event === 'tokens' ? '' : event.id, event: event.event, data: JSON.parse(event.data) as Record<string, unknown> });
    }
  };
  try {
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { events, ended: true, status: response.status };
      take(parser.push(decoder.decode(value, { stream: true })));
      if (until(events)) {
        abort.abort();
        return { events, ended: false, status: response.status };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
