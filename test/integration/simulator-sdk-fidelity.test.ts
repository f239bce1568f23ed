import { GoogleGenAI } from '@google/genai';
import { CohereClientV2 } from 'cohere-ai';
import OpenAI from 'openai';
import { simulatedProviders } from '../helpers/stack';
import { startSimulator, type RunningSimulator } from '../../simulator/server';

/**
 * The simulator is only worth testing against if real clients accept it: each provider's official
 * SDK (retries off) talks to it and must parse its answers and its errors.
 */
describe('provider simulator speaks the official SDKs', () => {
  let simulator: RunningSimulator;
  let baseUrl: (provider: 'openai' | 'cohere' | 'gemini') => string;

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 3 });
    const { endpoints } = simulatedProviders(simulator.url);
    baseUrl = (provider) => endpoints[provider].baseUrl;
  });
  afterAll(() => simulator.close());

  it('OpenAI SDK: chat.completions.create parses text, usage and model', async () => {
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: baseUrl('openai'), maxRetries: 0 });
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a writer.' },
        { role: 'user', content: 'Write about reliable queues.' },
      ],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4o-mini');
    expect(completion.choices[0].message.content).toContain('reliable queues');
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0));
  });

  it('OpenAI SDK: JSON mode answers parseable JSON', async () => {
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: baseUrl('openai'), maxRetries: 0 });
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      response_format: { type: 'json_object' },
      messages: [{ role: 'user', content: 'Sentiment of: a great success' }],
    });
    expect(JSON.parse(completion.choices[0].message.content ?? '')).toEqual({ label: 'positive', score: 1 });
  });

  it('OpenAI SDK: an injected 429 surfaces as RateLimitError with Retry-After', async () => {
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: baseUrl('openai'), maxRetries: 0 });
    const call = openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi [[sim:429,retry-after=4]]' }] });
    await expect(call).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const error = (await call.catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.status).toBe(429);
    expect(error.headers?.get('retry-after')).toBe('4');
    expect((error.error as { code?: string }).code).toBe('rate_limit_exceeded');
  });

  it('OpenAI SDK: a content-filter refusal parses with finish_reason content_filter', async () => {
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: baseUrl('openai'), maxRetries: 0 });
    const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x [[sim:refuse]]' }] });
    expect(completion.choices[0].finish_reason).toBe('content_filter');
    expect(completion.choices[0].message.refusal).toMatch(/can't help/);
  });

  it('Cohere SDK: v2 chat parses message content and usage', async () => {
    const cohere = new CohereClientV2({ token: 'co-test', environment: baseUrl('cohere') });
    const response = await cohere.chat(
      { model: 'command-r-08-2024', messages: [{ role: 'user', content: 'Summarize the following text.\n\nFirst point. Second point. Third.' }] },
      { maxRetries: 0 },
    );
    expect(response.finishReason).toBe('COMPLETE');
    const content = response.message?.content?.[0];
    expect(content?.type).toBe('text');
    expect(content && 'text' in content ? content.text : undefined).toBe('First point. Second point.');
    expect(response.usage?.tokens?.outputTokens).toBeGreaterThan(0);
  });

  it('Cohere SDK: an injected 401 surfaces as UnauthorizedError', async () => {
    const cohere = new CohereClientV2({ token: 'co-test', environment: baseUrl('cohere') });
    const call = cohere.chat({ model: 'command-r-08-2024', messages: [{ role: 'user', content: 'hi [[sim:401]]' }] }, { maxRetries: 0 });
    await expect(call).rejects.toMatchObject({ statusCode: 401 });
  });

  it('Google Gen AI SDK: generateContent parses text, usage and model version', async () => {
    const ai = new GoogleGenAI({ apiKey: 'gm-test', httpOptions: { baseUrl: baseUrl('gemini') } });
    const response = await ai.models.generateContent({
      model: 'gemini-2.0-flash',
      contents: 'Sentiment of: a sad, terrible loss',
      config: { responseMimeType: 'application/json', systemInstruction: 'Judge sentiment.' },
    });
    expect(JSON.parse(response.text ?? '')).toEqual({ label: 'negative', score: 1 });
    expect(response.usageMetadata?.totalTokenCount).toBeGreaterThan(0);
    expect(response.modelVersion).toBe('gemini-2.0-flash');
    expect(simulator.requests().at(-1)).toMatchObject({ provider: 'gemini', model: 'gemini-2.0-flash', status: 200 });
  });

  it('Google Gen AI SDK: a blocked prompt parses with promptFeedback.blockReason', async () => {
    const ai = new GoogleGenAI({ apiKey: 'gm-test', httpOptions: { baseUrl: baseUrl('gemini') } });
    const response = await ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'x [[sim:refuse]]' });
    expect(response.promptFeedback?.blockReason).toBe('SAFETY');
    expect(response.text).toBeUndefined();
  });

  it('Google Gen AI SDK: an injected 503 surfaces as an ApiError with status 503', async () => {
    const ai = new GoogleGenAI({ apiKey: 'gm-test', httpOptions: { baseUrl: baseUrl('gemini') } });
    const call = ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'hi [[sim:503]]' });
    await expect(call).rejects.toMatchObject({ status: 503 });
  });
});
