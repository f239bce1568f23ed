import { ApiError, FinishReason, GoogleGenAI } from '@google/genai';
import { Cohere, CohereClientV2, CohereError } from 'cohere-ai';
import OpenAI from 'openai';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { TINY_PNG_DATA_URL } from '../helpers/images';
import { simulatedProviders } from '../helpers/stack';

/**
 * The simulator's answers beyond the happy path (truncation, HTTP-200 errors, missing optional
 * fields, quota, body retry delays, bad and missing keys, rate-limit headers), parsed by each
 * provider's official SDK with its retries off: answers parse, errors raise the SDK's own types.
 */
describe('provider simulator answers every case the official SDKs know', () => {
  let simulator: RunningSimulator;
  let baseUrl: (provider: 'openai' | 'cohere' | 'gemini') => string;

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 5, requireCredential: true });
    const { endpoints } = simulatedProviders(simulator.url);
    baseUrl = (provider) => endpoints[provider].baseUrl;
  });
  afterAll(() => simulator.close());

  const caught = async <T>(call: Promise<unknown>): Promise<T> =>
    (await call.then(
      () => undefined,
      (error: unknown) => error,
    )) as T;

  describe('OpenAI SDK', () => {
    const openai = () => new OpenAI({ apiKey: 'sk-test', baseURL: baseUrl('openai'), maxRetries: 0 });
    const complete = (content: string) => openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

    it('a truncated answer parses with finish_reason length and partial text', async () => {
      const completion = await complete('Write about durable queues. [[sim:truncate]]');
      expect(completion.choices[0].finish_reason).toBe('length');
      expect(completion.choices[0].message.content?.length).toBeGreaterThan(0);
    });

    it('an answer without usage or content parses: usage undefined, content null', async () => {
      expect((await complete('Write about queues. [[sim:no-usage]]')).usage).toBeUndefined();
      expect((await complete('Write about queues. [[sim:no-content]]')).choices[0].message.content).toBeNull();
    });

    it('reasoning tokens parse inside usage.completion_tokens_details', async () => {
      const { usage } = await complete('Write about queues. [[sim:thinking=64]]');
      expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(64);
      expect(usage?.completion_tokens).toBeGreaterThan(64);
    });

    it('every answer carries the x-ratelimit-* headers', async () => {
      const { response } = await openai()
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Write about headers.' }] })
        .withResponse();
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('10000');
      expect(Number(response.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(10_000);
      expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?(ms|s)$/);
      expect(response.headers.get('x-ratelimit-remaining-tokens')).toMatch(/^\d+$/);
    });

    it('an exhausted quota raises RateLimitError with code insufficient_quota and no Retry-After', async () => {
      const error = await caught<InstanceType<typeof OpenAI.RateLimitError>>(complete('hi [[sim:quota]]'));
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error.status).toBe(429);
      expect(error.code).toBe('insufficient_quota');
      expect(error.headers?.get('retry-after')).toBeNull();
    });

    it('a rate limit raises RateLimitError with Retry-After and the exhausted x-ratelimit-* headers', async () => {
      const error = await caught<InstanceType<typeof OpenAI.RateLimitError>>(complete('hi [[sim:429,retry-after=6]]'));
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error.headers?.get('retry-after')).toBe('6');
      expect(error.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(error.headers?.get('x-ratelimit-reset-requests')).toBe('6s');
    });

    it('a wrong key raises AuthenticationError with code invalid_api_key', async () => {
      const error = await caught<InstanceType<typeof OpenAI.AuthenticationError>>(complete('hi [[sim:badkey]]'));
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(error.status).toBe(401);
      expect(error.code).toBe('invalid_api_key');
    });

    it('a failed generation raises InternalServerError (OpenAI has no 200 for it)', async () => {
      const error = await caught<InstanceType<typeof OpenAI.InternalServerError>>(complete('hi [[sim:generation-error]]'));
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect(error.status).toBe(500);
    });
  });

  describe('Cohere SDK', () => {
    const cohere = () => new CohereClientV2({ token: 'co-test', environment: baseUrl('cohere') });
    const chat = (content: Cohere.UserMessageV2['content'], model = 'command-r-08-2024') =>
      cohere().chat({ model, messages: [{ role: 'user', content }] }, { maxRetries: 0 });

    it.each([
      ['[[sim:truncate]]', 'MAX_TOKENS'],
      ['[[sim:generation-error]]', 'ERROR'],
      ['[[sim:generation-error,finish=TIMEOUT]]', 'TIMEOUT'],
    ])('%s parses with finishReason %s', async (directive, finishReason) => {
      expect((await chat(`Write about queues. ${directive}`)).finishReason).toBe(finishReason);
    });

    it('an answer without usage or content parses with both undefined', async () => {
      expect((await chat('Write about queues. [[sim:no-usage]]')).usage).toBeUndefined();
      expect((await chat('Write about queues. [[sim:no-content]]')).message.content).toBeUndefined();
    });

    it('billed units are fewer than the tokens processed', async () => {
      const { usage } = await chat('Write about queues.');
      expect(usage?.tokens?.inputTokens).toBe((usage?.billedUnits?.inputTokens ?? 0) + 66);
      expect(usage?.billedUnits?.outputTokens).toBe(usage?.tokens?.outputTokens);
    });

    it('a 498 raises InvalidTokenError with statusCode 498 and Cohere’s blocked-input message', async () => {
      const error = await caught<Cohere.InvalidTokenError>(chat('hi [[sim:498]]'));
      expect(error).toBeInstanceOf(Cohere.InvalidTokenError);
      expect(error.statusCode).toBe(498);
      expect((error.body as { message: string }).message).toMatch(/^blocked input/);
    });

    it('an exhausted quota raises a CohereError with statusCode 402', async () => {
      const error = await caught<CohereError>(chat('hi [[sim:quota]]'));
      expect(error).toBeInstanceOf(CohereError);
      expect(error.statusCode).toBe(402);
    });

    it('a wrong key raises UnauthorizedError', async () => {
      const error = await caught<Cohere.UnauthorizedError>(chat('hi [[sim:badkey]]'));
      expect(error).toBeInstanceOf(Cohere.UnauthorizedError);
      expect((error.body as { message: string }).message).toBe('invalid api token');
    });

    it('an image for a text-only model raises BadRequestError; a vision model answers it', async () => {
      const content: Cohere.UserMessageV2['content'] = [
        { type: 'text', text: 'What is in this picture?' },
        { type: 'image_url', imageUrl: { url: TINY_PNG_DATA_URL } },
      ];
      expect(await caught(chat(content))).toBeInstanceOf(Cohere.BadRequestError);
      const answered = (await chat(content, 'command-a-vision-07-2025')).message.content?.[0];
      expect(answered && 'text' in answered ? answered.text : '').toContain('1x1 PNG');
    });
  });

  describe('Google Gen AI SDK', () => {
    const ai = (apiKey = 'gm-test') => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: baseUrl('gemini') } });
    const generate = (contents: string, model = 'gemini-2.5-flash') => ai().models.generateContent({ model, contents });

    it('a truncated answer parses with MAX_TOKENS and partial text', async () => {
      const response = await generate('Write about queues. [[sim:truncate]]');
      expect(response.candidates?.[0].finishReason).toBe(FinishReason.MAX_TOKENS);
      expect(response.text?.length).toBeGreaterThan(0);
    });

    it('truncated while thinking: a candidate without parts, thoughtsTokenCount in usage', async () => {
      const response = await generate('Write about queues. [[sim:truncate,thinking=900]]');
      expect(response.candidates?.[0].finishReason).toBe(FinishReason.MAX_TOKENS);
      expect(response.candidates?.[0].content?.parts).toBeUndefined();
      expect(response.text).toBeUndefined();
      expect(response.usageMetadata?.thoughtsTokenCount).toBe(900);
    });

    it.each([
      ['[[sim:generation-error]]', FinishReason.OTHER],
      ['[[sim:finish=LANGUAGE]]', FinishReason.LANGUAGE],
    ])('%s parses with finishReason %s', async (directive, finishReason) => {
      expect((await generate(`Write about queues. ${directive}`)).candidates?.[0].finishReason).toBe(finishReason);
    });

    it('an answer without usageMetadata parses', async () => {
      const response = await generate('Write about queues. [[sim:no-usage]]');
      expect(response.usageMetadata).toBeUndefined();
      expect(response.text).toContain('queues');
    });

    it('a 429 raises ApiError 429 whose body says when to retry (RetryInfo), with no Retry-After header', async () => {
      const error = await caught<ApiError>(generate('hi [[sim:429,retry-after=37]]'));
      expect(error).toBeInstanceOf(ApiError);
      expect(error.status).toBe(429);
      expect(error.message).toContain('"retryDelay":"37s"');
      expect(error.message).toContain('RESOURCE_EXHAUSTED');
      const raw = await fetch(`${baseUrl('gemini')}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': 'gm-test' },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'hi [[sim:429,retry-after=37]]' }] }] }),
      });
      expect(raw.status).toBe(429);
      expect(raw.headers.get('retry-after')).toBeNull();
    });

    it('a wrong key raises ApiError 400 with reason API_KEY_INVALID', async () => {
      const error = await caught<ApiError>(generate('hi [[sim:badkey]]'));
      expect(error).toBeInstanceOf(ApiError);
      expect(error.status).toBe(400);
      expect(error.message).toContain('API_KEY_INVALID');
    });

    it('a per-day quota raises ApiError 429 naming the per-day quota', async () => {
      const error = await caught<ApiError>(generate('hi [[sim:quota]]'));
      expect(error.status).toBe(429);
      expect(error.message).toContain('PerDay');
    });

    it.each(['models/gemini-2.5-pro', 'tunedModels/support-replies-7'])('the SDK’s path for %s is answered', async (model) => {
      expect((await generate('Write about names.', model)).text).toContain('names');
    });

    it('a request without a key gets Gemini’s 403 PERMISSION_DENIED', async () => {
      const response = await fetch(`${baseUrl('gemini')}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
      });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: { status: string } }).error.status).toBe('PERMISSION_DENIED');
    });
  });

  it('each SDK sent its key where its provider reads it', () => {
    const sdkCalls = simulator.requests().filter((record) => record.status !== 403);
    expect(sdkCalls.length).toBeGreaterThan(20);
    expect(sdkCalls.every((record) => record.credentialed)).toBe(true);
  });
});
