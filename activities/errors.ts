import { ApplicationFailure } from '@temporalio/activity';
import { isAxiosError, type AxiosResponse } from 'axios';
import { FailureType } from '../src/pipeline/failures';
import type { ProviderName } from '../src/pipeline/providers';

/** How Chorus treats one kind of provider failure: the only place retry decisions are made. */
interface Classification {
  type: FailureType;
  retryable: boolean;
}

function classifyStatus(status: number): Classification {
  if (status === 401 || status === 403) return { type: FailureType.ProviderAuthFailed, retryable: false };
  if (status === 429) return { type: FailureType.ProviderRateLimited, retryable: true };
  // 408 Request Timeout and 409 Conflict describe the provider's state, not a bad request.
  if (status === 408 || status === 409 || status >= 500) return { type: FailureType.ProviderUnavailable, retryable: true };
  return { type: FailureType.ProviderRejectedRequest, retryable: false };
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
  const header = (name: string): string | undefined => {
    const value = headers?.[name];
    return typeof value === 'string' || typeof value === 'number' ? String(value).trim() : undefined;
  };
  const precise = header('retry-after-ms');
  let delay: number | undefined;
  if (precise && /^\d+(\.\d+)?$/.test(precise)) delay = Number(precise);
  const retryAfter = header('retry-after');
  if (delay === undefined && retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) delay = Number(retryAfter) * 1000;
    else if (!Number.isNaN(Date.parse(retryAfter))) delay = Math.max(0, Date.parse(retryAfter) - nowMs);
  }
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
  nowMs: number;
  maxRetryAfterMs: number;
}

/**
 * Turns whatever a provider call threw into a typed ApplicationFailure. Details carry only the
 * provider, status and error code: never headers, keys or the request.
 */
export function toProviderFailure(error: unknown, { provider, nowMs, maxRetryAfterMs }: FailureContext): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  if (isAxiosError(error) && error.response) {
    const { status, headers, data } = error.response;
    const { type, retryable } = classifyStatus(status);
    const delay = retryable ? retryAfterMs(headers, nowMs, maxRetryAfterMs) : undefined;
    return ApplicationFailure.create({
      type,
      message: `${provider} answered HTTP ${status}${providerMessage(data) ? `: ${providerMessage(data)}` : ''}`,
      nonRetryable: !retryable,
      nextRetryDelay: delay,
      details: [{ provider, status }],
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
