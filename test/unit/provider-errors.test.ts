import { ApplicationFailure } from '@temporalio/common';
import { AxiosError, AxiosHeaders, type AxiosResponse } from 'axios';
import { retryAfterMs, toProviderFailure } from '../../activities/errors';
import { FailureType } from '../../src/pipeline/failures';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const context = { provider: 'openai' as const, nowMs: NOW, maxRetryAfterMs: 120_000 };

function httpError(status: number, headers: Record<string, string> = {}, data: unknown = { error: { message: 'provider says no' } }): AxiosError {
  const response = { status, statusText: '', headers: new AxiosHeaders(headers), data, config: { headers: new AxiosHeaders() } } as AxiosResponse;
  return new AxiosError(`Request failed with status code ${status}`, 'ERR_BAD_RESPONSE', response.config, {}, response);
}

describe('provider failure classification', () => {
  it.each([
    [400, FailureType.ProviderRejectedRequest, false],
    [401, FailureType.ProviderAuthFailed, false],
    [403, FailureType.ProviderAuthFailed, false],
    [404, FailureType.ProviderRejectedRequest, false],
    [408, FailureType.ProviderUnavailable, true],
    [409, FailureType.ProviderUnavailable, true],
    [413, FailureType.ProviderRejectedRequest, false],
    [422, FailureType.ProviderRejectedRequest, false],
    [429, FailureType.ProviderRateLimited, true],
    [500, FailureType.ProviderUnavailable, true],
    [502, FailureType.ProviderUnavailable, true],
    [503, FailureType.ProviderUnavailable, true],
    [504, FailureType.ProviderUnavailable, true],
    [529, FailureType.ProviderUnavailable, true],
  ])('HTTP %i becomes %s (retryable: %s)', (status, type, retryable) => {
    const failure = toProviderFailure(httpError(status), context);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(!retryable);
    expect(failure.message).toContain(`HTTP ${status}`);
    expect(failure.message).toContain('provider says no');
  });

  it.each([
    ['ECONNABORTED', FailureType.ProviderTimeout],
    ['ETIMEDOUT', FailureType.ProviderTimeout],
    ['ECONNREFUSED', FailureType.ProviderNetworkError],
    ['ECONNRESET', FailureType.ProviderNetworkError],
    ['ENOTFOUND', FailureType.ProviderNetworkError],
    ['EAI_AGAIN', FailureType.ProviderNetworkError],
  ])('network error %s becomes retryable %s', (code, type) => {
    const failure = toProviderFailure(new AxiosError('socket trouble', code), context);
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(false);
  });

  it('reads Cohere-style error bodies ({ message })', () => {
    expect(toProviderFailure(httpError(400, {}, { id: 'x', message: 'invalid model' }), context).message).toContain('invalid model');
  });

  it('keeps headers, keys and the request out of failure details', () => {
    const error = httpError(429, { 'retry-after': '3', authorization: 'Bearer sk-secret-key' });
    error.config!.headers.set('authorization', 'Bearer sk-secret-key');
    const failure = toProviderFailure(error, context);
    expect(failure.details).toEqual([{ provider: 'openai', status: 429 }]);
    expect(JSON.stringify(failure.details) + failure.message).not.toContain('sk-secret-key');
  });

  it('turns a 429 Retry-After into nextRetryDelay', () => {
    expect(toProviderFailure(httpError(429, { 'retry-after': '7' }), context).nextRetryDelay).toBe(7000);
  });

  it('sets no nextRetryDelay on a non-retryable failure', () => {
    expect(toProviderFailure(httpError(401, { 'retry-after': '7' }), context).nextRetryDelay).toBeUndefined();
  });
});

describe('Retry-After parsing', () => {
  const headers = (values: Record<string, string>) => new AxiosHeaders(values);

  it('reads seconds', () => expect(retryAfterMs(headers({ 'retry-after': '2' }), NOW, 60_000)).toBe(2000));
  it('reads an HTTP date relative to now', () =>
    expect(retryAfterMs(headers({ 'retry-after': new Date(NOW + 30_000).toUTCString() }), NOW, 60_000)).toBe(30_000));
  it('treats a date in the past as no wait', () => expect(retryAfterMs(headers({ 'retry-after': new Date(NOW - 5_000).toUTCString() }), NOW, 60_000)).toBe(0));
  it('prefers retry-after-ms', () => expect(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), NOW, 60_000)).toBe(250));
  it('caps a huge value', () => expect(retryAfterMs(headers({ 'retry-after': '86400' }), NOW, 60_000)).toBe(60_000));
  it('ignores garbage', () => expect(retryAfterMs(headers({ 'retry-after': 'soon' }), NOW, 60_000)).toBeUndefined());
  it('is undefined without the header', () => expect(retryAfterMs(headers({}), NOW, 60_000)).toBeUndefined());
});
