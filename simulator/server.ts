import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROVIDER_CATALOG, WIRE_DEFAULTS, WIRE_KINDS, type ProviderName } from '../src/pipeline/providers';
import { parseDirectives, pickFault, seededRandom, type Directive, type FaultKind, type FaultRate } from './faults';
import { estimateTokens, simulateCompletion } from './model';
import { WIRES, WireFormatError, type Completion, type ProviderWire, type RateWindow, type StreamEvent, type WireAnswer } from './wire';

export interface SimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Base latency of every answer. @default 0 */
  latencyMs?: number;
  /** Extra latency drawn uniformly from [0, jitterMs). @default 0 */
  jitterMs?: number;
  /** Seed of the fault and jitter draws. @default 1 */
  seed?: number;
  faultRates?: FaultRate[];
  /** Delay injected 429s ask for, where each provider puts it (Retry-After header, Gemini RetryInfo). @default 1 */
  retryAfterSeconds?: number;
  /**
   * Answer a request without a credential (OpenAI/Cohere `Authorization: Bearer`, Gemini
   * `x-goog-api-key`) with the provider's own missing-key error, as the real APIs do. Off by default:
   * Chorus sends no key to the simulator. @default false
   */
  requireCredential?: boolean;
  /** Delay between two events of a streamed answer (the first comes after latencyMs). @default 0 */
  chunkDelayMs?: number;
}

/** One request as the simulator saw it; tests read these to check retries, rates and spacing. */
export interface SimulatorRequestRecord {
  provider: ProviderName;
  model?: string;
  /** Epoch ms when the request arrived. */
  receivedAt: number;
  /** Epoch ms when the answer was sent; absent while in flight or for a hang. */
  answeredAt?: number;
  /**
   * Epoch ms when a whole (not streamed) answer began to be written: no client can have it before.
   * `answeredAt` is stamped when Node reports it sent, which a busy event loop can delay by hundreds of ms.
   */
  sentAt?: number;
  /** Epoch ms when the client went away (aborted) before the answer was sent. */
  abandonedAt?: number;
  /** `cut`: the connection was cut before the answer ended (the `cut` fault); `hang`: no answer (`hang`, `stall`). */
  status: number | 'hang' | 'cut';
  fault?: string;
  /** Fingerprint of the body: the same request retried has the same fingerprint. */
  fingerprint: string;
  attempt: number;
  /** Whether the request carried a credential where its provider reads one (its value is never recorded). */
  credentialed: boolean;
  /** Tokens of the call (prompt, answer and thinking), for the token window of the rate-limit headers. */
  tokens?: number;
  /** The output-token limit the request set, as its wire carries it. */
  maxOutputTokens?: number;
}

export interface RunningSimulator {
  url: string;
  requests(): SimulatorRequestRecord[];
  clearRequests(): void;
  close(): Promise<void>;
}

const SIMULATED_HEADER = { 'x-chorus-simulated': 'true' };

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...SIMULATED_HEADER, ...headers });
  response.end(JSON.stringify(body));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits `ms` before an answer, or less when the response closes first: no timer outlives its request. */
const answerDelay = (ms: number, response: ServerResponse) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    response.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** A text as a model streams it: word by word, each with the whitespace that follows it; concatenated, the text. */
export function streamPieces(text: string | undefined): string[] {
  return text ? (text.match(/\s*\S+\s*/g) ?? [text]) : [];
}

/** Resolves once the event is handed to the socket, so a cut right after it still reaches the client. */
const writeEvent = (response: ServerResponse, { event, data }: StreamEvent) =>
  new Promise<void>((resolve) => response.write(`${event ? `event: ${event}\n` : ''}data: ${data}\n\n`, () => resolve()));

/** Where a configured instance is simulated: `/compat/<name>` then its wire kind's path, e.g. `/compat/local/openai/v1`. */
export const COMPAT_PREFIX = '/compat/';

function wireRoute(path: string, prefix: string, wire: ProviderWire): RegExpExecArray | undefined {
  return path.startsWith(`${prefix}/`) ? (wire.route.exec(path.slice(prefix.length)) ?? undefined) : undefined;
}

/** The provider and wire a path belongs to: a catalog provider's simulator path, or a configured instance's under /compat/<name>. */
function routeOf(path: string): { provider: ProviderName; wire: ProviderWire; match: RegExpExecArray } | undefined {
  for (const entry of PROVIDER_CATALOG) {
    const match = wireRoute(path, entry.simulatorPath, WIRES[entry.wire]);
    if (match) return { provider: entry.name, wire: WIRES[entry.wire], match };
  }
  const instance = /^\/compat\/([a-z][a-z0-9-]{0,31})(\/.*)$/.exec(path);
  if (!instance) return undefined;
  for (const kind of WIRE_KINDS) {
    const match = wireRoute(instance[2], WIRE_DEFAULTS[kind].simulatorPath, WIRES[kind]);
    if (match) return { provider: instance[1], wire: WIRES[kind], match };
  }
  return undefined;
}

function describeFault(fault: FaultKind): string {
  return fault.kind === 'status' ? String(fault.status) : fault.kind;
}

const FAULT_MESSAGES: Record<number, string> = {
  400: 'Invalid request (simulated).',
  401: 'Incorrect API key provided (simulated).',
  402: 'Payment required: the billing limit is reached (simulated).',
  403: 'Permission denied (simulated).',
  404: 'Model not found (simulated).',
  429: 'Rate limit reached for requests (simulated).',
  498: 'blocked input: please adjust your prompt and try again, as it may violate the usage guidelines (simulated).',
  500: 'The server had an error while processing your request (simulated).',
  502: 'Bad gateway (simulated).',
  503: 'The server is overloaded or not ready yet (simulated).',
  504: 'Gateway timeout (simulated).',
  529: 'Overloaded (simulated).',
};

/** OpenAI's answer where the others fail a generation inside a 200. */
const INVALID_CONTENT_MESSAGE = 'The model produced invalid content. Consider modifying your prompt if you are seeing this error persistently (simulated).';

const RATE_WINDOW_MS = 60_000;

/** The first half of a text's words: where an answer that hit its token limit stops. */
function cutAtTokenLimit(text: string): string {
  const words = text.split(' ');
  return words.slice(0, Math.max(1, Math.floor(words.length / 2))).join(' ');
}

/** Starts the provider simulator: every wire kind (OpenAI, Anthropic, Cohere, Gemini) on one HTTP server. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const random = seededRandom(options.seed ?? 1);
  const log: SimulatorRequestRecord[] = [];
  const attemptsByFingerprint = new Map<string, number>();

  const directiveFor = (directives: Directive[], provider: ProviderName) =>
    directives.filter((directive) => !directive.provider || directive.provider === provider);

  /** What this provider saw in the last minute, for the rate-limit headers it reports. */
  function rateWindow(provider: ProviderName, now: number): RateWindow {
    const recent = log.filter((record) => record.provider === provider && record.receivedAt > now - RATE_WINDOW_MS);
    const oldest = recent[0]?.receivedAt ?? now;
    return { requests: recent.length, tokens: recent.reduce((sum, record) => sum + (record.tokens ?? 0), 0), resetMs: oldest + RATE_WINDOW_MS - now };
  }

  async function handleProvider(request: IncomingMessage, response: ServerResponse, provider: ProviderName, wire: ProviderWire, match: RegExpExecArray) {
    const receivedAt = Date.now();
    const raw = await readBody(request);
    const fingerprint = createHash('sha256').update(`${provider}\n${request.url}\n${raw}`).digest('hex').slice(0, 16);
    const attempt = (attemptsByFingerprint.get(fingerprint) ?? 0) + 1;
    attemptsByFingerprint.set(fingerprint, attempt);
    const credentialed = wire.credential(request.headers) !== undefined;
    const record: SimulatorRequestRecord = { provider, receivedAt, status: 200, fingerprint, attempt, credentialed };
    log.push(record);
    response.once('finish', () => {
      record.answeredAt = Date.now();
    });
    response.once('close', () => {
      if (!response.writableFinished) record.abandonedAt = Date.now();
    });

    const answer = ({ status, body, headers }: WireAnswer) => {
      record.status = status;
      record.sentAt = Date.now();
      sendJson(response, status, body, headers);
    };

    // The real APIs check the key before they read the request.
    if (options.requireCredential && !credentialed) return answer(wire.renderCredentialError('missing'));

    let parsed;
    try {
      parsed = wire.parseRequest(JSON.parse(raw), match);
    } catch (error) {
      const status = error instanceof WireFormatError ? error.status : 400;
      return answer({ status, body: wire.renderError(status, error instanceof WireFormatError ? error.message : 'Request body is not valid JSON.') });
    }
    record.model = parsed.model;
    record.maxOutputTokens = parsed.maxOutputTokens;

    const directives = directiveFor(parseDirectives(`${parsed.system ?? ''}\n${parsed.prompt}`), provider);
    const scripted = directives.find((directive) => directive.fault && (directive.times === undefined || attempt <= directive.times));
    const fault = scripted?.fault ?? (directives.some((directive) => directive.fault) ? undefined : pickFault(options.faultRates ?? [], random));
    const setting = <K extends keyof Directive>(key: K): Directive[K] | undefined => directives.find((directive) => directive[key] !== undefined)?.[key];
    const jitter = options.jitterMs ? random() * options.jitterMs : 0;
    await answerDelay(setting('latencyMs') ?? (options.latencyMs ?? 0) + jitter, response);
    // The client went away while it waited (cancelled, timed out, or close()): there is nobody to answer.
    if (record.abandonedAt !== undefined) return;

    if (fault) record.fault = describeFault(fault);
    const retryAfter = setting('retryAfterSeconds') ?? options.retryAfterSeconds ?? 1;
    switch (fault?.kind) {
      case 'hang':
        record.status = 'hang';
        return; // the client's timeout or cancellation ends it; close() destroys the socket
      case 'cut':
      case 'stall':
        if (parsed.stream) break; // the stream starts, then stops halfway
        record.status = fault.kind === 'cut' ? 'cut' : 'hang';
        if (fault.kind === 'cut') request.socket.destroy();
        return;
      case 'status':
        if (fault.status === 429) return answer(wire.renderRateLimited(retryAfter, parsed.model));
        return answer({ status: fault.status, body: wire.renderError(fault.status, FAULT_MESSAGES[fault.status] ?? 'Simulated failure.') });
      case 'quota':
        return answer(wire.renderQuotaExhausted(parsed.model));
      case 'badkey':
        return answer(wire.renderCredentialError('invalid'));
      case 'malformed':
        response.writeHead(200, { 'content-type': 'application/json', ...SIMULATED_HEADER });
        return response.end('{"choices": [ this is not json');
      case 'refuse':
        if (wire.renderRefusal) return answer({ status: 200, body: wire.renderRefusal(parsed.model) });
        break;
      case 'generation-error':
        if (!wire.finishReasons.error) return answer({ status: 500, body: wire.renderError(500, INVALID_CONTENT_MESSAGE) });
        break;
    }
    const cannedText = { nonsense: 'Sure! Here is my answer, in my own words.', refuse: "I'm sorry, I can't help with that." } as Record<string, string>;
    const fullText = (fault && cannedText[fault.kind]) ?? simulateCompletion(parsed);
    const thinkingTokens = setting('thinkingTokens');
    // An answer longer than the request's limit stops at it, as a real model's does.
    const overLimit = parsed.maxOutputTokens !== undefined && estimateTokens(fullText) > parsed.maxOutputTokens;
    const ending = fault?.kind === 'truncate' || overLimit ? 'truncated' : fault?.kind === 'generation-error' ? 'error' : 'stop';
    // Failed, scripted empty, or truncated while thinking (the budget went on thoughts): no content at all.
    const withoutContent = fault?.kind === 'no-content' || ending === 'error' || (ending === 'truncated' && thinkingTokens !== undefined);
    const text = withoutContent ? undefined : ending === 'truncated' ? cutAtTokenLimit(fullText) : fullText;
    const completion: Completion = {
      model: parsed.model,
      text,
      inputTokens: estimateTokens(`${parsed.system ?? ''}${parsed.prompt}`),
      outputTokens: text === undefined ? 0 : estimateTokens(text),
      thinkingTokens,
      finishReason: setting('finishReason') ?? wire.finishReasons[ending]!,
      usage: fault?.kind !== 'no-usage',
      tool: parsed.tool,
    };
    record.tokens = completion.inputTokens + completion.outputTokens + (thinkingTokens ?? 0);
    const rateHeaders = wire.rateLimitHeaders?.(rateWindow(provider, Date.now()));
    if (!parsed.stream) return sendJson(response, 200, wire.renderCompletion(completion), rateHeaders);
    await streamAnswer(response, record, wire.renderStream(completion, streamPieces(text), parsed.stream), {
      headers: rateHeaders,
      chunkDelayMs: setting('chunkDelayMs') ?? options.chunkDelayMs ?? 0,
      stopHalfway: fault?.kind === 'cut' || fault?.kind === 'stall' ? fault.kind : undefined,
    });
  }

  /** Writes a streamed answer event by event; `cut` destroys the connection halfway, `stall` leaves it open without another byte. */
  async function streamAnswer(
    response: ServerResponse,
    record: SimulatorRequestRecord,
    events: StreamEvent[],
    how: { headers?: Record<string, string>; chunkDelayMs: number; stopHalfway?: 'cut' | 'stall' },
  ) {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...SIMULATED_HEADER, ...how.headers });
    const sent = how.stopHalfway ? Math.ceil(events.length / 2) : events.length;
    for (const [index, event] of events.slice(0, sent).entries()) {
      if (response.destroyed) return; // the client went away
      if (index > 0 && how.chunkDelayMs) await sleep(how.chunkDelayMs);
      await writeEvent(response, event);
    }
    if (how.stopHalfway === 'cut') {
      record.status = 'cut';
      response.destroy();
    } else if (how.stopHalfway === 'stall') {
      record.status = 'hang';
    } else {
      response.end();
    }
  }

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const route = request.method === 'POST' ? routeOf(path) : undefined;
    const done = route ? handleProvider(request, response, route.provider, route.wire, route.match) : Promise.resolve(handleControl(request, response, path));
    done.catch((error: Error) => {
      if (!response.headersSent) sendJson(response, 500, { error: { message: `simulator error: ${error.message}` } });
    });
  });

  function handleControl(request: IncomingMessage, response: ServerResponse, path: string): void {
    if (path === '/healthz') return sendJson(response, 200, { status: 'ok', simulated: true });
    if (path === '/_sim/requests' && request.method === 'GET') return sendJson(response, 200, log);
    if (path === '/_sim/requests' && request.method === 'DELETE') {
      log.length = 0;
      attemptsByFingerprint.clear();
      return sendJson(response, 200, { cleared: true });
    }
    sendJson(response, 404, { error: { message: `No simulated endpoint at ${request.method} ${path}` } });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    requests: () => [...log],
    clearRequests: () => {
      log.length = 0;
      attemptsByFingerprint.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
