import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { CohereClientV2 } from 'cohere-ai';
import OpenAI from 'openai';
import { startSimulator, streamPieces, type RunningSimulator } from '../../simulator/server';
import { simulatedProviders } from '../helpers/stack';

/**
 * The simulator's streamed answers, read by each provider's official SDK with its retries off: the
 * streamed pieces add up to the very text the same request gets without streaming, the finish
 * reason and usage arrive at the end, and the mid-stream faults (`cut`, `stall`) end a stream the
 * way a broken connection does — an error, or silence until the client gives up.
 */
describe('provider simulator streams every wire as the official SDKs read it', () => {
  let simulator: RunningSimulator;
  let endpoints: ReturnType<typeof simulatedProviders>['endpoints'];

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 9, requireCredential: true });
    endpoints = simulatedProviders(simulator.url).endpoints;
  });
  afterAll(() => simulator.close());

  const PROMPT = 'Summarize why durable workflows matter for teams that chain AI providers.';

  const caught = async (call: Promise<unknown>): Promise<unknown> =>
    call.then(
      () => undefined,
      (error: unknown) => error,
    );

  /** undici's error for a body cut short; it comes from Node's own realm, so it is no `Error` of the test's. */
  const expectCutShort = (error: unknown) => expect(error).toMatchObject({ name: 'TypeError', message: 'terminated' });

  /** Collects a stream's text pieces, counting them; stops at the first error and returns it. */
  async function collect<T>(stream: AsyncIterable<T>, pieceOf: (event: T) => string | undefined) {
    const pieces: string[] = [];
    const events: T[] = [];
    let error: unknown;
    try {
      for await (const event of stream) {
        events.push(event);
        const piece = pieceOf(event);
        if (piece) pieces.push(piece);
      }
    } catch (caughtError) {
      error = caughtError;
    }
    return { text: pieces.join(''), pieces, events, error };
  }

  describe('OpenAI SDK', () => {
    const openai = () => new OpenAI({ apiKey: 'sk-test', baseURL: endpoints.openai.baseUrl, maxRetries: 0 });

    it('streams chat.completion.chunk pieces adding up to the unstreamed text, then finish_reason and the usage chunk', async () => {
      const whole = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] });
      const stream = await openai().chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: PROMPT }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const { text, pieces, events, error } = await collect(stream, (chunk) => chunk.choices[0]?.delta.content ?? undefined);
      expect(error).toBeUndefined();
      expect(text).toBe(whole.choices[0].message.content);
      expect(pieces).toHaveLength(streamPieces(text).length);
      expect(pieces.length).toBeGreaterThan(5);
      expect(events.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === events[0].id)).toBe(true);
      expect(events.filter((chunk) => chunk.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
      expect(events.at(-1)?.choices).toEqual([]);
      expect(events.at(-1)?.usage).toEqual(whole.usage);
    });

    it('without include_usage no chunk carries usage; a truncated stream ends with finish_reason length', async () => {
      const stream = await openai().chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `${PROMPT} [[sim:truncate]]` }],
        stream: true,
      });
      const { events, error } = await collect(stream, (chunk) => chunk.choices[0]?.delta.content ?? undefined);
      expect(error).toBeUndefined();
      expect(events.filter((chunk) => chunk.usage)).toHaveLength(0);
      expect(events.at(-1)?.choices[0].finish_reason).toBe('length');
    });

    it('errors come before the stream, as the SDK error type: a 429 is RateLimitError with its Retry-After', async () => {
      const error = (await caught(
        openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi [[sim:429,retry-after=4]]' }], stream: true }),
      )) as InstanceType<typeof OpenAI.RateLimitError>;
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error.headers?.get('retry-after')).toBe('4');
    });

    it('a cut stream raises an error after some pieces, and the simulator records it as cut', async () => {
      const stream = await openai().chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `${PROMPT} [[sim:cut]]` }],
        stream: true,
      });
      const { pieces, events, error } = await collect(stream, (chunk) => chunk.choices[0]?.delta.content ?? undefined);
      expectCutShort(error);
      expect(pieces.length).toBeGreaterThan(0);
      expect(events.some((chunk) => chunk.choices[0]?.finish_reason)).toBe(false);
      expect(simulator.requests().at(-1)).toMatchObject({ provider: 'openai', status: 'cut', fault: 'cut' });
    });

    it('a stalled stream sends half its pieces, then nothing until the client gives up', async () => {
      const controller = new AbortController();
      const stream = await openai().chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${PROMPT} [[sim:stall]]` }], stream: true },
        { signal: controller.signal },
      );
      const giveUp = setTimeout(() => controller.abort(), 500);
      // The SDK ends the iteration quietly when its own signal aborts it.
      const { pieces, events } = await collect(stream, (chunk) => chunk.choices[0]?.delta.content ?? undefined).finally(() => clearTimeout(giveUp));
      expect(controller.signal.aborted).toBe(true);
      expect(pieces.length).toBeGreaterThan(0);
      expect(events.some((chunk) => chunk.choices[0]?.finish_reason)).toBe(false);
      expect(simulator.requests().at(-1)).toMatchObject({ provider: 'openai', status: 'hang', fault: 'stall' });
    });

    it('a request that does not stream is cut before any answer: a connection error', async () => {
      const error = await caught(openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi [[sim:cut]]' }] }));
      expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    });
  });

  describe('Anthropic SDK', () => {
    const anthropic = () => new Anthropic({ apiKey: 'sk-ant-test', baseURL: endpoints.anthropic.baseUrl, maxRetries: 0 });

    it('streams text deltas adding up to the unstreamed text; finalMessage has the stop reason and usage', async () => {
      const whole = await anthropic().messages.create({ model: 'claude-haiku-4-5', max_tokens: 512, messages: [{ role: 'user', content: PROMPT }] });
      const stream = anthropic().messages.stream({ model: 'claude-haiku-4-5', max_tokens: 512, messages: [{ role: 'user', content: PROMPT }] });
      const deltas: string[] = [];
      stream.on('text', (delta) => deltas.push(delta));
      const message = await stream.finalMessage();
      const wholeText = (whole.content[0] as Anthropic.TextBlock).text;
      expect(deltas.join('')).toBe(wholeText);
      expect(deltas).toHaveLength(streamPieces(wholeText).length);
      expect((message.content[0] as Anthropic.TextBlock).text).toBe(wholeText);
      expect(message.stop_reason).toBe('end_turn');
      expect(message.usage.input_tokens).toBe(whole.usage.input_tokens);
      expect(message.usage.output_tokens).toBe(whole.usage.output_tokens);
    });

    it('a forced tool streams its input as JSON fragments the SDK assembles into the tool_use input', async () => {
      const request = {
        model: 'claude-haiku-4-5',
        max_tokens: 512,
        messages: [{ role: 'user' as const, content: 'Classify the sentiment of: "I love how reliable this is."' }],
        tools: [{ name: 'answer', description: 'The answer', input_schema: { type: 'object' as const, properties: {} } }],
        tool_choice: { type: 'tool' as const, name: 'answer' },
      };
      const whole = await anthropic().messages.create(request);
      const message = await anthropic().messages.stream(request).finalMessage();
      expect(message.stop_reason).toBe('tool_use');
      expect(message.content[0]).toMatchObject({ type: 'tool_use', name: 'answer', input: (whole.content[0] as Anthropic.ToolUseBlock).input });
    });

    it('a cut stream rejects finalMessage', async () => {
      const error = await caught(
        anthropic()
          .messages.stream({ model: 'claude-haiku-4-5', max_tokens: 512, messages: [{ role: 'user', content: `${PROMPT} [[sim:cut]]` }] })
          .finalMessage(),
      );
      expect(error).toBeInstanceOf(Error);
      expect(simulator.requests().at(-1)).toMatchObject({ provider: 'anthropic', status: 'cut' });
    });
  });

  describe('Cohere SDK', () => {
    const cohere = () => new CohereClientV2({ token: 'co-test', environment: endpoints.cohere.baseUrl });

    it('streams content-delta events adding up to the unstreamed text; message-end has the finish reason and billed usage', async () => {
      const whole = await cohere().chat({ model: 'command-r-08-2024', messages: [{ role: 'user', content: PROMPT }] }, { maxRetries: 0 });
      const stream = await cohere().chatStream({ model: 'command-r-08-2024', messages: [{ role: 'user', content: PROMPT }] }, { maxRetries: 0 });
      const { text, events, error } = await collect(stream, (event) => (event.type === 'content-delta' ? event.delta?.message?.content?.text : undefined));
      expect(error).toBeUndefined();
      const wholeText = (whole.message.content?.[0] as { text: string }).text;
      expect(text).toBe(wholeText);
      expect(events.map((event) => event.type).filter((type) => type !== 'content-delta')).toEqual([
        'message-start',
        'content-start',
        'content-end',
        'message-end',
      ]);
      const end = events.at(-1) as { type: 'message-end'; delta?: { finishReason?: string; usage?: { billedUnits?: { outputTokens?: number } } } };
      expect(end.delta?.finishReason).toBe('COMPLETE');
      expect(end.delta?.usage?.billedUnits?.outputTokens).toBe(whole.usage?.billedUnits?.outputTokens);
    });

    it('a generation error inside the stream ends with finish_reason ERROR and no content', async () => {
      const stream = await cohere().chatStream(
        { model: 'command-r-08-2024', messages: [{ role: 'user', content: 'hi [[sim:generation-error]]' }] },
        { maxRetries: 0 },
      );
      const { pieces, events } = await collect(stream, (event) => (event.type === 'content-delta' ? event.delta?.message?.content?.text : undefined));
      expect(pieces).toHaveLength(0);
      expect((events.at(-1) as { delta?: { finishReason?: string } }).delta?.finishReason).toBe('ERROR');
    });
  });

  describe('Google Gen AI SDK', () => {
    const ai = () => new GoogleGenAI({ apiKey: 'g-test', httpOptions: { baseUrl: endpoints.gemini.baseUrl } });

    it('generateContentStream yields responses whose texts add up to the unstreamed text; the last has finishReason and usage', async () => {
      const whole = await ai().models.generateContent({ model: 'gemini-2.5-flash', contents: PROMPT });
      const stream = await ai().models.generateContentStream({ model: 'gemini-2.5-flash', contents: PROMPT });
      const { text, events, error } = await collect(stream, (response) => response.text);
      expect(error).toBeUndefined();
      expect(text).toBe(whole.text);
      expect(events).toHaveLength(streamPieces(whole.text).length);
      expect(events.at(-1)?.candidates?.[0].finishReason).toBe('STOP');
      expect(events.at(-1)?.usageMetadata?.candidatesTokenCount).toBe(whole.usageMetadata?.candidatesTokenCount);
      expect(events.slice(0, -1).every((response) => response.usageMetadata === undefined)).toBe(true);
      expect(simulator.requests().at(-1)).toMatchObject({ provider: 'gemini', status: 200 });
    });

    it('a cut stream raises an error after some responses', async () => {
      const stream = await ai().models.generateContentStream({ model: 'gemini-2.5-flash', contents: `${PROMPT} [[sim:cut]]` });
      const { pieces, error } = await collect(stream, (response) => response.text);
      expectCutShort(error);
      expect(pieces.length).toBeGreaterThan(0);
    });
  });
});
