import { AxiosError, AxiosHeaders, type AxiosResponse } from 'axios';
import { retryDelayMs, toProviderFailure, unfinishedAnswer } from '../../activities/errors';
import { PROVIDER_ADAPTERS } from '../../activities/providers';
import type { ProviderCall } from '../../activities/providers';
import { FailureType } from '../../src/pipeline/failures';
import type { ProviderName } from '../../src/pipeline/providers';
import { parseDirectives, parseFaultRates } from '../../simulator/faults';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const CAP = 120_000;

function httpError(provider: ProviderName, status: number, data: unknown, headers: Record<string, string> = {}) {
  const response = { status, statusText: '', headers: new AxiosHeaders(headers), data, config: { headers: new AxiosHeaders() } } as AxiosResponse;
  const error = new AxiosError(`Request failed with status code ${status}`, 'ERR_BAD_RESPONSE', response.config, {}, response);
  return toProviderFailure(error, { provider, nowMs: NOW, maxRetryAfterMs: CAP });
}

const googleError = (status: number, details: unknown[]) => ({ error: { code: status, message: 'no', status: 'X', details } });
const retryInfo = (retryDelay: string) => ({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay });
const quotaFailure = (quotaId: string) => ({ '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaId }] });

describe('classification of what error bodies say', () => {
  it.each([
    ['openai', 429, { error: { message: 'out', type: 'insufficient_quota', code: 'insufficient_quota' } }, FailureType.ProviderQuotaExhausted, false],
    ['openai', 429, { error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } }, FailureType.ProviderRateLimited, true],
    ['cohere', 402, { message: 'billing limit' }, FailureType.ProviderQuotaExhausted, false],
    ['cohere', 498, { message: 'blocked input' }, FailureType.ProviderContentFiltered, false],
    ['openai', 498, { error: { message: '?' } }, FailureType.ProviderRejectedRequest, false],
    // Client Closed Request: cancelled before it finished, not refused.
    ['cohere', 499, { message: 'request cancelled' }, FailureType.ProviderUnavailable, true],
    ['gemini', 499, { error: { code: 499, message: 'The operation was cancelled.', status: 'CANCELLED' } }, FailureType.ProviderUnavailable, true],
    ['gemini', 429, googleError(429, [quotaFailure('GenerateRequestsPerDayPerProjectPerModel-FreeTier')]), FailureType.ProviderQuotaExhausted, false],
    ['gemini', 429, googleError(429, [quotaFailure('GenerateRequestsPerMinutePerProjectPerModel-FreeTier')]), FailureType.ProviderRateLimited, true],
    [
      'gemini',
      400,
      googleError(400, [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }]),
      FailureType.ProviderAuthFailed,
      false,
    ],
    ['gemini', 400, googleError(400, [{ '@type': 'type.googleapis.com/google.rpc.BadRequest' }]), FailureType.ProviderRejectedRequest, false],
    [
      'openai',
      400,
      googleError(400, [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }]),
      FailureType.ProviderRejectedRequest,
      false,
    ],
  ] as const)('%s HTTP %i with %j is %s (retryable: %s)', (provider, status, body, type, retryable) => {
    const failure = httpError(provider, status, body);
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(!retryable);
  });

  it('names the provider’s error code in the details, and nothing else from the body', () => {
    expect(httpError('openai', 429, { error: { message: 'out', type: 'insufficient_quota', code: 'insufficient_quota' } }).details).toEqual([
      { provider: 'openai', status: 429, code: 'insufficient_quota' },
    ]);
  });
});

describe('retry delays, wherever the provider puts them', () => {
  const delay = (headers: Record<string, string>, data: unknown = {}) => retryDelayMs({ headers: new AxiosHeaders(headers), data }, NOW, CAP);

  it.each([
    ['37s', 37_000],
    ['0.250s', 250],
    ['86400s', CAP],
  ])('reads Gemini RetryInfo retryDelay %s', (text, ms) => expect(delay({}, googleError(429, [retryInfo(text)]))).toBe(ms));

  it('prefers a Retry-After header to the body', () => expect(delay({ 'retry-after': '2' }, googleError(429, [retryInfo('37s')]))).toBe(2000));

  it.each([
    [{ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6m0s' }, CAP], // 6 minutes, capped
    [{ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20ms' }, 20],
    [
      { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1m2.5s' },
      62_500,
    ],
    [{ 'x-ratelimit-remaining-requests': '12', 'x-ratelimit-reset-requests': '1s' }, undefined],
    [{ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': 'soon' }, undefined],
  ])('reads OpenAI x-ratelimit-reset-* of the exhausted limit: %j', (headers, ms) => expect(delay(headers)).toBe(ms));

  it('sets the Gemini body delay as nextRetryDelay of its 429', () => {
    expect(httpError('gemini', 429, googleError(429, [retryInfo('9s')])).nextRetryDelay).toBe(9000);
  });
});

describe('answers that did not finish', () => {
  it.each([
    ['truncated', FailureType.ProviderOutputTruncated, true],
    ['failed', FailureType.ProviderGenerationFailed, false],
    ['blocked', FailureType.ProviderContentFiltered, true],
  ] as const)('%s is %s (non-retryable: %s)', (outcome, type, nonRetryable) => {
    expect(unfinishedAnswer('openai', { outcome, reason: 'why' })).toMatchObject({
      type,
      nonRetryable,
      details: [{ provider: 'openai', finishReason: 'why' }],
    });
  });

  it('a complete answer is no failure', () => expect(unfinishedAnswer('openai', { outcome: 'complete', reason: 'stop' })).toBeUndefined());
});

describe('adapters read every documented answer', () => {
  const call: ProviderCall = { model: 'm', system: 's', prompt: 'p', json: false };
  const parse = (provider: ProviderName, body: unknown) => PROVIDER_ADAPTERS[provider].parseAnswer(body, call);
  const openai = (finish_reason: string | null, extra: Record<string, unknown> = {}) => ({
    model: 'gpt',
    choices: [{ message: { content: 'hi', refusal: null }, finish_reason }],
    usage: { prompt_tokens: 1, completion_tokens: 2 },
    ...extra,
  });

  it.each([
    ['stop', 'complete'],
    ['length', 'truncated'],
    ['content_filter', 'blocked'],
    ['tool_calls', 'failed'],
    ['a_reason_from_the_future', 'complete'],
  ])('OpenAI finish_reason %s → %s', (reason, outcome) => expect(parse('openai', openai(reason)).finish.outcome).toBe(outcome));

  it('OpenAI: a refusal instead of content is blocked whatever the finish_reason', () => {
    expect(parse('openai', { model: 'gpt', choices: [{ message: { content: null, refusal: 'no' }, finish_reason: 'stop' }] }).finish).toEqual({
      outcome: 'blocked',
      reason: 'refusal: no',
    });
  });

  it('Cohere: only text parts are the answer; thinking parts are not', () => {
    const answer = parse('cohere', {
      finish_reason: 'COMPLETE',
      message: {
        content: [
          { type: 'thinking', thinking: 'hmm' },
          { type: 'text', text: 'answer' },
        ],
      },
      usage: { tokens: { input_tokens: 9, output_tokens: 4 }, billed_units: { input_tokens: 3, output_tokens: 4 } },
    });
    expect(answer).toMatchObject({ text: 'answer', usage: { inputTokens: 9, outputTokens: 4 }, billed: { inputTokens: 3, outputTokens: 4 } });
  });

  it('Cohere: billed_units alone serves as usage, with nothing billed apart', () => {
    expect(parse('cohere', { finish_reason: 'COMPLETE', message: {}, usage: { billed_units: { input_tokens: 3, output_tokens: 4 } } })).toMatchObject({
      text: '',
      usage: { inputTokens: 3, outputTokens: 4 },
      billed: undefined,
    });
  });

  it('Gemini: thought parts are not the answer; thinking tokens count as output', () => {
    const answer = parse('gemini', {
      candidates: [{ content: { parts: [{ text: 'thinking…', thought: true }, { text: 'answer' }] }, finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 2, thoughtsTokenCount: 40 },
    });
    expect(answer).toMatchObject({ text: 'answer', usage: { inputTokens: 5, outputTokens: 42, thinkingTokens: 40 }, finish: { outcome: 'complete' } });
  });

  it('Gemini: a prompt block without candidates is blocked', () => {
    expect(parse('gemini', { promptFeedback: { blockReason: 'SAFETY' } }).finish).toEqual({ outcome: 'blocked', reason: 'block reason SAFETY' });
  });

  it.each([
    ['gemini-2.5-pro', '/v1beta/models/gemini-2.5-pro:generateContent'],
    ['models/gemini-2.5-pro', '/v1beta/models/gemini-2.5-pro:generateContent'],
    ['tunedModels/my-model', '/v1beta/tunedModels/my-model:generateContent'],
    ['odd name?', '/v1beta/models/odd%20name%3F:generateContent'],
  ])('Gemini model %s is requested at %s', (model, path) => {
    const request = PROVIDER_ADAPTERS.gemini.toHttpRequest(
      { ...call, model },
      {
        provider: 'gemini',
        wire: 'gemini',
        baseUrl: 'https://g.example',
        apiKey: 'k',
        credential: { header: 'x-goog-api-key' },
        defaultModel: 'x',
        capabilities: { vision: true, jsonSchema: true, streaming: true },
        simulated: false,
      },
    );
    expect(request.url).toBe(`https://g.example${path}`);
  });
});

describe('simulator faults for the documented answers', () => {
  it('draws the new faults by rate', () => {
    expect(parseFaultRates('truncate=0.1,generation-error=0.05,no-usage=0.02,no-content=0.01,quota=0.01,badkey=0.01').map(({ fault }) => fault.kind)).toEqual([
      'truncate',
      'generation-error',
      'no-usage',
      'no-content',
      'quota',
      'badkey',
    ]);
  });

  it('scripts them per provider and attempt, with thinking tokens and a finish reason', () => {
    expect(parseDirectives('[[sim:gemini:truncate,thinking=800]] [[sim:cohere:generation-errorx1,finish=TIMEOUT]] [[sim:openai:quota]]')).toEqual([
      { provider: 'gemini', fault: { kind: 'truncate' }, thinkingTokens: 800 },
      { provider: 'cohere', fault: { kind: 'generation-error' }, times: 1, finishReason: 'TIMEOUT' },
      { provider: 'openai', fault: { kind: 'quota' } },
    ]);
  });
});
