/**
 * Fault injection for the provider simulator. Faults come from two places:
 * - rates (`503=0.2,429=0.1,hang=0.05,malformed=0.02`), drawn from a seeded generator so a run
 *   with the same seed and request order sees the same faults;
 * - directives written into a prompt (`[[sim:503x2]]`, `[[sim:cohere:429x1,retry-after=2]]`), which
 *   tests use to script exactly which provider fails, how, and for how many attempts.
 */
/**
 * Faults besides a status, each answered in the provider's own format:
 * - `hang`: no answer; `malformed`: a body that is not JSON; `nonsense`: a well-formed answer whose
 *   text ignores the requested format; `refuse`: the content filter blocks the answer;
 * - `truncate`: the answer stops at the output-token limit (OpenAI `length`, Cohere/Gemini
 *   `MAX_TOKENS`), half its text; with `thinking=N`, thinking used the whole budget and no text comes;
 * - `generation-error`: generation fails inside an HTTP 200 (Cohere `ERROR`, Gemini `OTHER`; OpenAI,
 *   which has no such answer, sends its 500 "model produced invalid content");
 * - `no-usage`, `no-content`: an answer without its optional usage, or without its optional content;
 * - `quota`: the account is out of quota (OpenAI 429 `insufficient_quota`, Cohere 402, Gemini 429 per-day quota);
 * - `badkey`: the key is wrong (OpenAI/Cohere 401, Gemini 400 `API_KEY_INVALID`);
 * - `cut`, `stall`: a streamed answer stops halfway, its connection cut or left open without
 *   another byte (a request that does not stream: the connection is cut before any answer, or hangs).
 */
export const WORD_FAULTS = [
  'hang',
  'malformed',
  'nonsense',
  'refuse',
  'truncate',
  'generation-error',
  'no-usage',
  'no-content',
  'quota',
  'badkey',
  'cut',
  'stall',
] as const;
export type WordFault = (typeof WORD_FAULTS)[number];
export type FaultKind = { kind: 'status'; status: number } | { kind: WordFault };

export interface FaultRate {
  fault: FaultKind;
  rate: number;
}

export interface Directive {
  /** Only this provider obeys it; every provider when absent. */
  provider?: string;
  fault?: FaultKind;
  /** How many attempts of the same request get the fault; forever when absent. */
  times?: number;
  retryAfterSeconds?: number;
  latencyMs?: number;
  /** Thinking tokens the answer reports (Gemini `thoughtsTokenCount`, OpenAI `reasoning_tokens`). */
  thinkingTokens?: number;
  /** The finish reason written into the answer, in the provider's own words (`TIMEOUT`, `LANGUAGE`). */
  finishReason?: string;
  /** Delay between two events of a streamed answer. */
  chunkDelayMs?: number;
}

const FAULT_WORDS = `\\d{3}|${WORD_FAULTS.join('|')}`;
const FAULT_TOKEN = new RegExp(`^(${FAULT_WORDS})$`);

function parseFault(token: string): FaultKind {
  const word = WORD_FAULTS.find((candidate) => candidate === token);
  if (word) return { kind: word };
  const status = Number(token);
  if (!Number.isInteger(status) || status < 400 || status > 599)
    throw new Error(`"${token}" is not a fault (a 4xx/5xx status or one of ${WORD_FAULTS.join(', ')})`);
  return { kind: 'status', status };
}

/** Parses `503=0.2,429=0.1,hang=0.05`; rates must add up to at most 1. */
export function parseFaultRates(spec: string): FaultRate[] {
  const rates = spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [token, rateText] = part.split('=');
      const rate = Number(rateText);
      if (!FAULT_TOKEN.test(token ?? '') || !(rate >= 0 && rate <= 1)) throw new Error(`"${part}" is not FAULT=RATE (e.g. 503=0.1)`);
      return { fault: parseFault(token), rate };
    });
  if (rates.reduce((sum, { rate }) => sum + rate, 0) > 1) throw new Error(`fault rates in "${spec}" add up to more than 1`);
  return rates;
}

export function pickFault(rates: FaultRate[], random: () => number): FaultKind | undefined {
  let draw = random();
  for (const { fault, rate } of rates) {
    if (draw < rate) return fault;
    draw -= rate;
  }
  return undefined;
}

const DIRECTIVE = /\[\[sim:([^\]]*)\]\]/g;
const SCOPED_FAULT = new RegExp(`^(?:([a-z][a-z0-9-]*):)?(${FAULT_WORDS})(?:x(\\d+))?$`);

/** Directive tokens found in a text, kept verbatim so generated answers can carry them downstream. */
export function directiveTokens(text: string): string[] {
  return [...text.matchAll(DIRECTIVE)].map((match) => match[0]);
}

export function stripDirectives(text: string): string {
  return text
    .replace(DIRECTIVE, '')
    .replace(/[ \t]+\n/g, '\n')
    .trim();
}

/** `[[sim:cohere:503x2,retry-after=1,latency=300]]`, `[[sim:gemini:truncate,thinking=500]]`, `[[sim:cutx1,chunk-ms=20]]` → directive; malformed directives are ignored. */
export function parseDirectives(text: string): Directive[] {
  const directives: Directive[] = [];
  for (const [, body] of text.matchAll(DIRECTIVE)) {
    const directive: Directive = {};
    let valid = true;
    for (const option of body.split(',').map((part) => part.trim())) {
      const scoped = SCOPED_FAULT.exec(option);
      const setting = /^(retry-after|latency|thinking|chunk-ms)=(\d+)$/.exec(option);
      const finish = /^finish=([A-Za-z_]+)$/.exec(option);
      if (scoped) {
        directive.provider = scoped[1];
        directive.fault = parseFault(scoped[2]);
        directive.times = scoped[3] === undefined ? undefined : Number(scoped[3]);
      } else if (setting) {
        const key = ({ 'retry-after': 'retryAfterSeconds', latency: 'latencyMs', thinking: 'thinkingTokens', 'chunk-ms': 'chunkDelayMs' } as const)[
          setting[1] as 'retry-after' | 'latency' | 'thinking' | 'chunk-ms'
        ];
        directive[key] = Number(setting[2]);
      } else if (finish) {
        directive.finishReason = finish[1];
      } else if (/^[a-z][a-z0-9-]*$/.test(option)) {
        directive.provider = option;
      } else {
        valid = false;
      }
    }
    if (valid) directives.push(directive);
  }
  return directives;
}

/** mulberry32: tiny, fast, good enough for reproducible fault draws. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
