import { ApplicationFailure } from '@temporalio/activity';
import { isAxiosError, type AxiosResponse } from 'axios';
import { FailureType } from '../src/pipeline/failures';
import { catalogEntry, type ProviderName, type WireKind } from '../src/pipeline/providers';
import type { AnswerFinish } from './providers/provider';

/** How Chorus treats one kind of provider failure: the only place retry decisions are made. */
interface Classification {
  type: FailureType;
  retryable: boolean;
}

const RATE_LIMITED: Classification = { type: FailureType.ProviderRateLimited, retryable: true };
// Quota or credit used up: only someone topping it up helps, and a retry costs a step's whole budget.
const QUOTA_EXHAUSTED: Classification = { type: FailureType.ProviderQuotaExhausted, retryable: false };
const AUTH_FAILED: Classification = { type: FailureType.ProviderAuthFailed, retryable: false };
// 408 Request Timeout and 409 Conflict describe the provider's state, not a bad request.
const UNAVAILABLE: Classification = { type: FailureType.ProviderUnavailable, retryable: true };
const REJECTED: Classification = { type: FailureType.ProviderRejectedRequest, retryable: false };
const CONTENT_FILTERED: Classification = { type: FailureType.ProviderContentFiltered, retryable: false };

const STATUS_CLASSES: Record<number, Classification> = {
  401: AUTH_FAILED,
  403: AUTH_FAILED,
  // Payment Required: Cohere's billing limit reached.
  402: QUOTA_EXHAUSTED,
  408: UNAVAILABLE,
  409: UNAVAILABLE,
  429: RATE_LIMITED,
  // Client Closed Request: Cohere's "request cancelled", Gemini's CANCELLED, a proxy's "client closed".
  // The request never finished on the provider's side; it says nothing against the request, and a new attempt usually completes.
  499: UNAVAILABLE,
};

/** Statuses only one wire kind gives a meaning of its own. */
const WIRE_STATUS_CLASSES: Partial<Record<WireKind, Record<number, Classification>>> = {
  // Cohere's "blocked input or output": its safety check refused the prompt or the answer.
  'cohere-v2': { 498: CONTENT_FILTERED },
  // Anthropic's overloaded_error: the API is busy for everyone; it passes, like a 503.
  'anthropic-messages': { 529: UNAVAILABLE },
};

/** What an error body says beyond its status: OpenAI `error.code`/`type`, Gemini `error.status` and `details[]`. */
interface ErrorBody {
  codes: string[];
  /** Gemini ErrorInfo reasons, e.g. API_KEY_INVALID. */
  reasons: string[];
  /** Gemini QuotaFailure violations' quota IDs, e.g. GenerateRequestsPerDayPerProjectPerModel-FreeTier. */
  quotaIds: string[];
  /** Gemini RetryInfo `retryDelay`, a protobuf Duration such as "37s". */
  retryDelay?: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const strings = (...values: unknown[]) => values.filter((value): value is string => typeof value === 'string');

function readErrorBody(data: unknown): ErrorBody {
  const error = isRecord(data) && isRecord(data.error) ? data.error : {};
  const details = Array.isArray(error.details) ? error.details.filter(isRecord) : [];
  const ofType = (suffix: string) => details.filter((detail) => typeof detail['@type'] === 'string' && detail['@type'].endsWith(suffix));
  return {
    codes: strings(error.code, error.type, error.status),
    reasons: strings(...ofType('google.rpc.ErrorInfo').map((detail) => detail.reason)),
    quotaIds: strings(
      ...ofType('google.rpc.QuotaFailure').flatMap((detail) =>
        Array.isArray(detail.violations) ? detail.violations.filter(isRecord).map((violation) => violation.quotaId) : [],
      ),
    ),
    retryDelay: strings(...ofType('google.rpc.RetryInfo').map((detail) => detail.retryDelay))[0],
  };
}

/** Answers whose body tells more than their status; the first rule that matches wins over the status tables. */
const BODY_RULES: { status: number; wire?: WireKind; matches: (body: ErrorBody) => boolean; is: Classification }[] = [
  // OpenAI (and compatible servers): out of credit or over the budget; it sends no Retry-After, as waiting does not help.
  { status: 429, matches: (body) => body.codes.includes('insufficient_quota'), is: QUOTA_EXHAUSTED },
  // Gemini: a per-day quota resets at midnight Pacific time, long after a step's retries.
  { status: 429, wire: 'gemini', matches: (body) => body.quotaIds.some((id) => id.includes('PerDay')), is: QUOTA_EXHAUSTED },
  // Gemini answers a wrong key with 400 INVALID_ARGUMENT and the reason API_KEY_INVALID.
  { status: 400, wire: 'gemini', matches: (body) => body.reasons.includes('API_KEY_INVALID'), is: AUTH_FAILED },
];

function classifyAnswer(wire: WireKind | undefined, status: number, body: ErrorBody): Classification {
  const rule = BODY_RULES.find((candidate) => candidate.status === status && (!candidate.wire || candidate.wire === wire) && candidate.matches(body));
  return rule?.is ?? (wire && WIRE_STATUS_CLASSES[wire]?.[status]) ?? STATUS_CLASSES[status] ?? (status >= 500 ? UNAVAILABLE : REJECTED);
}

const NETWORK_CODES: Record<string, Classification> = {
  ECONNABORTED: { type: FailureType.ProviderTimeout, retryable: true },
  ETIMEDOUT: { type: FailureType.ProviderTimeout, retryable: true },
  ECONNREFUSED: { type: FailureType.ProviderNetworkError, retryable: true },
  ECONNRESET: { type: FailureType.ProviderNetworkError, retryable: true },
  EPIPE: { type: FailureType.ProviderNetworkError, retryable: true },
  ENOTFOUND: { type: FailureType.ProviderNetworkError, retryable: true },
  EAI_AGAIN: { type: FailureType.ProviderNetworkError, retryable: true },
  ERR_SOCKET_CONNECTION_TIMEOUT: { type: FailureType.ProviderTimeout, retryable: true },
};
const UNKNOWN_NETWORK_FAILURE: Classification = { type: FailureType.ProviderNetworkError, retryable: true };

/**
 * Delay a provider asked for, in ms: `retry-after-ms`, else `Retry-After` as seconds or an HTTP date.
 * Capped so one header cannot park a step for hours; undefined when absent or unreadable.
 */
export function retryAfterMs(headers: AxiosResponse['headers'] | undefined, nowMs: number, capMs: number): number | undefined {
  const precise = header(headers, 'retry-after-ms');
  let delay: number | undefined;
  if (precise && /^\d+(\.\d+)?$/.test(precise)) delay = Number(precise);
  const retryAfter = header(headers, 'retry-after');
  if (delay === undefined && retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) delay = Number(retryAfter) * 1000;
    else if (!Number.isNaN(Date.parse(retryAfter))) delay = Math.max(0, Date.parse(retryAfter) - nowMs);
  }
  return delay === undefined ? undefined : Math.min(delay, capMs);
}

function header(headers: AxiosResponse['headers'] | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value).trim() : undefined;
}

/** A protobuf Duration as JSON ("37s", "0.250s"), in ms. */
function durationMs(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^(\d+(?:\.\d+)?)s$/.exec(text.trim());
  return match ? Number(match[1]) * 1000 : undefined;
}

/** OpenAI's x-ratelimit-reset-* durations ("1s", "6m0s", "20ms", "1h2m3.5s"), in ms. */
function resetDurationMs(text: string | undefined): number | undefined {
  const match = text ? /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/.exec(text) : null;
  if (!match || match.slice(1).every((part) => part === undefined)) return undefined;
  const [hours, minutes, seconds, millis] = match.slice(1).map((part) => Number(part ?? 0));
  return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis;
}

/** OpenAI's x-ratelimit-* headers: when the request or token limit is used up, how long until it resets. */
function rateLimitResetMs(headers: AxiosResponse['headers'] | undefined): number | undefined {
  const resets = (['requests', 'tokens'] as const)
    .filter((limit) => header(headers, `x-ratelimit-remaining-${limit}`) === '0')
    .map((limit) => resetDurationMs(header(headers, `x-ratelimit-reset-${limit}`)))
    .filter((delay): delay is number => delay !== undefined);
  return resets.length ? Math.max(...resets) : undefined;
}

/**
 * Delay a provider asked for, wherever it puts it: Retry-After headers, Gemini's RetryInfo in the
 * body, OpenAI's x-ratelimit-reset-* of the exhausted limit. Capped like retryAfterMs.
 */
export function retryDelayMs(response: Pick<AxiosResponse, 'headers' | 'data'>, nowMs: number, capMs: number): number | undefined {
  const delay = retryAfterMs(response.headers, nowMs, capMs) ?? durationMs(readErrorBody(response.data).retryDelay) ?? rateLimitResetMs(response.headers);
  return delay === undefined ? undefined : Math.min(delay, capMs);
}

/** The provider's own error text (OpenAI/Gemini `error.message`, Cohere `message`), shortened. */
function providerMessage(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return typeof data === 'string' && data ? data.slice(0, 300) : undefined;
  const body = data as { error?: { message?: unknown }; message?: unknown };
  const message = body.error?.message ?? body.message;
  return typeof message === 'string' ? message.slice(0, 300) : undefined;
}

export interface FailureContext {
  provider: ProviderName;
  /** The provider's wire kind, whose error dialect the answer is in. @default the catalog's for a built-in provider */
  wire?: WireKind;
  nowMs: number;
  maxRetryAfterMs: number;
}

/**
 * Turns whatever a provider call threw into a typed ApplicationFailure. Details carry only the
 * provider, status and error code: never headers, keys or the request.
 */
export function toProviderFailure(
  error: unknown,
  { provider, wire = catalogEntry(provider)?.wire, nowMs, maxRetryAfterMs }: FailureContext,
): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  if (isAxiosError(error) && error.response) {
    const { status, data } = error.response;
    const body = readErrorBody(data);
    const { type, retryable } = classifyAnswer(wire, status, body);
    const delay = retryable ? retryDelayMs(error.response, nowMs, maxRetryAfterMs) : undefined;
    const code = body.codes[0];
    return ApplicationFailure.create({
      type,
      message: `${provider} answered HTTP ${status}${providerMessage(data) ? `: ${providerMessage(data)}` : ''}`,
      nonRetryable: !retryable,
      nextRetryDelay: delay,
      details: [code ? { provider, status, code } : { provider, status }],
    });
  }
  if (isAxiosError(error)) {
    const code = error.code ?? 'UNKNOWN';
    const { type, retryable } = NETWORK_CODES[code] ?? UNKNOWN_NETWORK_FAILURE;
    return ApplicationFailure.create({
      type,
      message: `${provider} could not be reached (${code}): ${error.message}`,
      nonRetryable: !retryable,
      details: [{ provider, code }],
    });
  }
  return ApplicationFailure.create({
    type: FailureType.ProviderNetworkError,
    message: `${provider} call failed: ${error instanceof Error ? error.message : String(error)}`,
    details: [{ provider }],
  });
}

export function malformedResponse(provider: ProviderName, reason: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.ProviderMalformedResponse,
    message: `${provider} answered with a body Chorus cannot read: ${reason}`,
    details: [{ provider }],
  });
}

/** A 2xx answer that did not end in a usable answer, by how it ended. */
const UNFINISHED: Record<Exclude<AnswerFinish['outcome'], 'complete'>, Classification & { says: string }> = {
  // The same request stops at the same limit; a bigger limit or a shorter prompt is needed.
  truncated: { type: FailureType.ProviderOutputTruncated, retryable: false, says: 'stopped at the output token limit' },
  // Cohere ERROR/TIMEOUT, Gemini OTHER: the provider's own hiccup, which a new attempt usually gets past.
  failed: { type: FailureType.ProviderGenerationFailed, retryable: true, says: 'answered, but the generation failed' },
  blocked: { type: FailureType.ProviderContentFiltered, retryable: false, says: 'content filter blocked the answer' },
};

/** The failure an answer that did not finish stands for; undefined for a complete one. */
export function unfinishedAnswer(provider: ProviderName, finish: AnswerFinish): ApplicationFailure | undefined {
  if (finish.outcome === 'complete') return undefined;
  const { type, retryable, says } = UNFINISHED[finish.outcome];
  return ApplicationFailure.create({
    type,
    message: `${provider} ${says} (${finish.reason})`,
    nonRetryable: !retryable,
    details: [{ provider, finishReason: finish.reason }],
  });
}

/** The step asks a model for input it does not take; nothing was sent. */
export function modelLacksCapability(provider: ProviderName, model: string, reason: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.ModelLacksCapability,
    message: `${provider} model ${model} ${reason}`,
    nonRetryable: true,
    details: [{ provider, model }],
  });
}

/** A request Chorus will not send because the provider would refuse it (e.g. a model name that is not a path). */
export function rejectedBeforeSending(provider: ProviderName, reason: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: REJECTED.type,
    message: `${provider} request not sent: ${reason}`,
    nonRetryable: !REJECTED.retryable,
    details: [{ provider }],
  });
}

/** A step names a provider this worker has no settings for (its configuration lacks the instance the API has). */
export function unknownProvider(provider: ProviderName, known: string[]): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.ProviderNotConfigured,
    message: `provider "${provider}" is not configured on this worker; configured: ${known.join(', ')}`,
    nonRetryable: true,
    details: [{ provider }],
  });
}

/** The step names a model the provider's configuration does not list; nothing was sent. */
export function modelNotAllowed(provider: ProviderName, model: string, allowed: readonly string[]): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.ModelNotAllowed,
    message: `${provider} does not allow model "${model}"; allowed: ${allowed.join(', ')}`,
    nonRetryable: true,
    details: [{ provider, model }],
  });
}

/** The provider's breaker is open: the call is not sent, so the step moves on to its fallback at once. */
export function providerUnhealthy(provider: ProviderName): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.ProviderUnhealthy,
    message: `${provider} not called: most of its recent calls failed, its circuit breaker is open`,
    nonRetryable: true,
    details: [{ provider }],
  });
}
