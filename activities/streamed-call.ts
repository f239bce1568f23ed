import type { Readable } from 'node:stream';
import { AxiosError, isAxiosError, type AxiosInstance } from 'axios';
import { ZodError } from 'zod';
import type { ProviderHttpRequest } from './providers/provider';
import { ServerSentEventParser } from './providers/sse';
import type { WireStream } from './providers/streams';

export interface StreamedCallOptions {
  /** The whole answer must have come within this, as for an unstreamed call (CHORUS_PROVIDER_TIMEOUT_MS). */
  timeoutMs: number;
  /** Cancellation of the attempt. */
  signal: AbortSignal;
  /** Each piece of the answer's text, as it arrives. */
  onText: (text: string) => void;
}

/** An error body is small; more than this of it is not read. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

async function readText(stream: Readable, maxBytes = Number.POSITIVE_INFINITY): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    chunks.push(buffer);
    size += buffer.length;
    if (size >= maxBytes) {
      stream.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

const parsedJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

/** A connection that broke or went silent mid-answer: the same AxiosErrors an unstreamed call gets, so activities/errors.ts types them alike. */
const connectionDropped = (reason: string) => new AxiosError(`stream broke off: ${reason}`, 'ECONNRESET');
const timedOut = (timeoutMs: number) => new AxiosError(`timeout of ${timeoutMs}ms exceeded`, AxiosError.ECONNABORTED);

/**
 * Posts the stream form of a provider request and reads the answer as it comes: every text piece
 * goes to `onText`, and the events fold into the body the unstreamed answer would have had, which
 * is returned. A 4xx/5xx comes back as the AxiosError with its JSON body read, a server that
 * answers JSON instead of a stream is read as that answer, and a stream that breaks off, stalls
 * past the timeout or ends before its last event fails like a dropped connection or a timeout.
 */
export async function postStreamed(http: AxiosInstance, request: ProviderHttpRequest, wire: WireStream, options: StreamedCallOptions): Promise<unknown> {
  const streamed = wire.toStreamRequest(request);
  const abort = new AbortController();
  let expired = false;
  const deadline = setTimeout(() => {
    expired = true;
    abort.abort(timedOut(options.timeoutMs));
  }, options.timeoutMs);
  const onCancel = () => abort.abort(options.signal.reason);
  if (options.signal.aborted) onCancel();
  else options.signal.addEventListener('abort', onCancel, { once: true });
  let body: Readable | undefined;
  const destroyBody = () => body?.destroy();
  abort.signal.addEventListener('abort', destroyBody, { once: true });
  try {
    let response;
    try {
      response = await http.post<Readable>(streamed.url, streamed.body, { headers: streamed.headers, signal: abort.signal, responseType: 'stream' });
    } catch (error) {
      if (expired) throw timedOut(options.timeoutMs);
      if (isAxiosError(error) && error.response && typeof (error.response.data as Readable | undefined)?.pipe === 'function') {
        error.response.data = parsedJson(await readText(error.response.data as Readable, MAX_ERROR_BODY_BYTES));
      }
      throw error;
    }
    body = response.data;
    if (abort.signal.aborted) body.destroy();
    const contentType = String(response.headers['content-type'] ?? '');
    if (!contentType.includes('text/event-stream')) return parsedJson(await readText(body));

    const assembly = wire.assemble();
    const parser = new ServerSentEventParser();
    const decoder = new TextDecoder('utf-8');
    try {
      for await (const chunk of body) {
        for (const event of parser.push(decoder.decode(chunk as Buffer, { stream: true }))) {
          const text = assembly.push(event);
          if (text) options.onText(text);
        }
      }
      for (const event of parser.push(decoder.decode())) {
        const text = assembly.push(event);
        if (text) options.onText(text);
      }
    } catch (error) {
      if (expired) throw timedOut(options.timeoutMs);
      // An event whose data is not JSON: the answer is malformed, as an unreadable unstreamed body is.
      if (error instanceof SyntaxError) throw new ZodError([{ code: 'custom', path: ['stream'], message: `an event's data is not JSON`, input: undefined }]);
      if (options.signal.aborted || isAxiosError(error)) throw error;
      throw connectionDropped((error as Error).message);
    }
    if (expired) throw timedOut(options.timeoutMs);
    if (!assembly.ended) throw connectionDropped('the stream ended before its last event');
    return assembly.body();
  } finally {
    clearTimeout(deadline);
    options.signal.removeEventListener('abort', onCancel);
    abort.signal.removeEventListener('abort', destroyBody);
  }
}
