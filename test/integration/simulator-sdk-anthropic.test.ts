import Anthropic from '@anthropic-ai/sdk';
import { ANSWER_TOOL, anthropicAdapter } from '../../activities/providers/anthropic';
import { planTask } from '../../activities/tasks';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { TINY_PNG } from '../helpers/images';
import { simulatedProviders } from '../helpers/stack';

/**
 * The simulator's Anthropic wire, parsed by the official @anthropic-ai/sdk with its retries off:
 * answers parse into its Message type, errors raise its own error classes, and the request Chorus's
 * adapter builds is one the SDK sends as is.
 */
describe('provider simulator speaks the Anthropic Messages API as @anthropic-ai/sdk reads it', () => {
  let simulator: RunningSimulator;
  let client: Anthropic;

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 7, requireCredential: true });
    client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: simulatedProviders(simulator.url).endpoints.anthropic.baseUrl, maxRetries: 0 });
  });
  afterAll(() => simulator.close());

  const ask = (content: string, extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {}) =>
    client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 256,
      system: 'You are a precise, helpful writer.',
      messages: [{ role: 'user', content }],
      ...extra,
    });
  const caught = async <T>(call: Promise<unknown>): Promise<T> =>
    (await call.then(
      () => undefined,
      (error: unknown) => error,
    )) as T;

  it('answers with a text block, stop_reason end_turn, the model and usage', async () => {
    const message = await ask('Write about durable execution.');
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.model).toBe('claude-haiku-4-5');
    expect(message.stop_reason).toBe('end_turn');
    expect(message.content).toHaveLength(1);
    expect(message.content[0]).toMatchObject({ type: 'text', text: expect.stringContaining('durable execution') });
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(simulator.requests().at(-1)).toMatchObject({ provider: 'anthropic', status: 200, credentialed: true });
  });

  it('a truncated answer stops with max_tokens, a refusal with refusal and no content', async () => {
    expect((await ask('Write about queues. [[sim:truncate]]')).stop_reason).toBe('max_tokens');
    const refused = await ask('Write about queues. [[sim:refuse]]');
    expect(refused.stop_reason).toBe('refusal');
    expect(refused.content).toEqual([]);
  });

  it('thinking tokens count inside output_tokens and apart in output_tokens_details; a refusal carries stop_details', async () => {
    const { usage } = await ask('Write about queues. [[sim:thinking=64]]');
    expect(usage.output_tokens_details?.thinking_tokens).toBe(64);
    expect(usage.output_tokens).toBeGreaterThan(64);
    expect((await ask('Write about queues. [[sim:refuse]]')).stop_details).toEqual({ type: 'refusal', category: null, explanation: null });
  });

  it('a forced tool call answers with a tool_use block whose input is the structured answer', async () => {
    const message = await ask('Classify: I love this product, it is wonderful.', {
      system:
        'You judge the overall sentiment of a text. Respond only with a JSON object {"label": <one of the allowed labels>, "score": <confidence from 0 to 1>}.\nAllowed labels: ["positive","negative","neutral"]',
      tools: [
        {
          name: ANSWER_TOOL,
          input_schema: { type: 'object', properties: { label: { type: 'string' }, score: { type: 'number' } }, required: ['label', 'score'] },
        },
      ],
      tool_choice: { type: 'tool', name: ANSWER_TOOL },
    });
    expect(message.stop_reason).toBe('tool_use');
    const block = message.content[0] as Anthropic.ToolUseBlock;
    expect(block).toMatchObject({ type: 'tool_use', name: ANSWER_TOOL, id: expect.stringMatching(/^toolu_/) });
    expect(block.input).toEqual({ label: 'positive', score: expect.any(Number) });
  });

  it('reads an image content block with a base64 source', async () => {
    const message = await ask('', {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: TINY_PNG.toString('base64') } },
            { type: 'text', text: 'Describe the image.' },
          ],
        },
      ],
    });
    expect((message.content[0] as Anthropic.TextBlock).text).toMatch(/png/i);
  });

  it('a rate limit raises RateLimitError with retry-after; overloaded raises a 529 overloaded_error', async () => {
    const limited = await caught<InstanceType<typeof Anthropic.RateLimitError>>(ask('hi [[sim:429,retry-after=3]]'));
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.headers?.get('retry-after')).toBe('3');
    expect(limited.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    const overloaded = await caught<InstanceType<typeof Anthropic.InternalServerError>>(ask('hi [[sim:anthropic:529]]'));
    expect(overloaded).toBeInstanceOf(Anthropic.InternalServerError);
    expect(overloaded.status).toBe(529);
    expect(overloaded.error).toMatchObject({ error: { type: 'overloaded_error' } });
  });

  it('a bad key raises AuthenticationError, a used-up credit a 402 billing_error, a missing max_tokens BadRequestError', async () => {
    expect(await caught(ask('hi [[sim:badkey]]'))).toBeInstanceOf(Anthropic.AuthenticationError);
    const billing = await caught<InstanceType<typeof Anthropic.APIError>>(ask('hi [[sim:quota]]'));
    expect(billing.status).toBe(402);
    expect(billing.error).toMatchObject({ error: { type: 'billing_error' } });
    const invalid = await caught(
      client.messages.create({
        model: 'claude-haiku-4-5',
        messages: [{ role: 'user', content: 'hi' }],
      } as unknown as Anthropic.MessageCreateParamsNonStreaming),
    );
    expect(invalid).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it("the adapter's request (structured, image, limits, stop sequences) is one the SDK sends, and the adapter reads the SDK-typed answer", async () => {
    const endpoint = simulatedProviders(simulator.url).endpoints.anthropic;
    const task = planTask('classify', { labels: ['billing', 'bug'] });
    const call = {
      model: 'claude-haiku-4-5',
      system: task.system,
      prompt: 'The invoice was charged twice.',
      json: task.json,
      responseSchema: task.responseSchema,
      image: { mimeType: 'image/png', base64: TINY_PNG.toString('base64') },
      maxOutputTokens: 300,
      temperature: 1.5,
      stopSequences: ['END'],
    };
    const request = anthropicAdapter.toHttpRequest(call, endpoint);
    expect(request.headers).toEqual({ 'anthropic-version': '2023-06-01' });
    const params = request.body as Anthropic.MessageCreateParamsNonStreaming;
    expect(params).toMatchObject({ max_tokens: 300, temperature: 1, stop_sequences: ['END'], tool_choice: { type: 'tool', name: ANSWER_TOOL } });
    const message = await client.messages.create(params);
    const answer = anthropicAdapter.parseAnswer(message, call);
    expect(answer.finish).toEqual({ outcome: 'complete', reason: 'stop_reason tool_use' });
    expect(task.parse!(answer.text)).toEqual({ label: expect.stringMatching(/^(billing|bug)$/), score: expect.any(Number) });
    expect(answer.usage).toEqual({ inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens });
  });
});
