import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI, type GenerateContentParameters } from '@google/genai';
import { CohereClientV2, type Cohere } from 'cohere-ai';
import OpenAI from 'openai';
import { WIRE_ADAPTERS } from '../../activities/providers';
import { ANTHROPIC_VERSION } from '../../activities/providers/anthropic';
import type { ProviderCall } from '../../activities/providers/provider';
import { planTask } from '../../activities/tasks';
import { loadProviderSettings, type ProviderEndpoint } from '../../src/config/providers';
import { TINY_PNG } from '../helpers/images';

/**
 * The adapters' requests against the official SDKs' request types (issue 12, item 5). Each case is
 * written once as the SDK's own request parameters, typed with its type (`ChatCompletionCreateParams`,
 * `MessageCreateParams`, `V2ChatRequest`, `GenerateContentParameters`), so tsc rejects a field the
 * provider does not have or a value of the wrong type; then the SDK sends it to a capturing server,
 * and the body it put on the wire must be exactly the adapter's body, at the adapter's path.
 */

interface Captured {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A loopback server that keeps each request and answers the minimal success body of its provider, so the SDK call resolves. */
async function startCapture(): Promise<{ url: string; last(): Captured; close(): Promise<void> }> {
  const captured: Captured[] = [];
  const answers: [RegExp, unknown][] = [
    [
      /\/chat\/completions$/,
      {
        id: 'c',
        object: 'chat.completion',
        created: 0,
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      },
    ],
    [
      /\/v1\/messages$/,
      {
        id: 'm',
        type: 'message',
        role: 'assistant',
        model: 'm',
        content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 1, output_tokens: 1 },
      },
    ],
    [/\/v2\/chat$/, { id: 'c', finish_reason: 'COMPLETE', message: { role: 'assistant', content: [{ type: 'text', text: 'ok' }] } }],
    [/:generateContent$/, { candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP' }] }],
  ];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = (request.url ?? '').split('?')[0];
      captured.push({ path, headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') });
      const answer = answers.find(([pattern]) => pattern.test(path));
      response.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer?.[1] ?? { error: 'unknown path' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    last: () => captured.at(-1)!,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const PROMPT = 'Write about resilient pipelines.';
const DATA = TINY_PNG.toString('base64');
const DATA_URL = `data:image/png;base64,${DATA}`;
const generate = planTask('generate', {});
const classify = planTask('classify', { labels: ['billing', 'outage'] });
const extractSchema = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name'] };
const extract = planTask('extract', { schema: extractSchema });

const CASES = ['plain', 'settings', 'classify', 'extract', 'image'] as const;
type Case = (typeof CASES)[number];

/** The provider-neutral calls, as the activity builds them. */
const call = (model: string, kind: Case): ProviderCall => {
  const base = { model, prompt: PROMPT };
  switch (kind) {
    case 'plain':
      return { ...base, system: generate.system, json: false };
    case 'settings':
      return { ...base, system: generate.system, json: false, maxOutputTokens: 200, temperature: 0.7, stopSequences: ['END', 'STOP'] };
    case 'classify':
      return { ...base, system: classify.system, json: true, responseSchema: classify.responseSchema };
    case 'extract':
      return { ...base, system: extract.system, json: true, responseSchema: extract.responseSchema };
    case 'image':
      return { ...base, system: generate.system, json: false, image: { mimeType: 'image/png', base64: DATA } };
  }
};
const classifySchema = classify.responseSchema!;

/** OpenAI Chat Completions, as `openai`'s ChatCompletionCreateParams. */
const openaiParams = (model: string): Record<Case, OpenAI.ChatCompletionCreateParamsNonStreaming> => {
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'system', content: generate.system },
    { role: 'user', content: PROMPT },
  ];
  return {
    plain: { model, messages },
    settings: { model, messages, max_completion_tokens: 200, temperature: 0.7, stop: ['END', 'STOP'] },
    classify: {
      model,
      messages: [{ role: 'system', content: classify.system }, messages[1]],
      response_format: { type: 'json_schema', json_schema: { name: classifySchema.name, schema: classifySchema.schema, strict: true } },
    },
    extract: {
      model,
      messages: [{ role: 'system', content: extract.system }, messages[1]],
      // Not in OpenAI's strict subset (age is optional), so not strict.
      response_format: { type: 'json_schema', json_schema: { name: 'extracted', schema: extractSchema, strict: false } },
    },
    image: {
      model,
      messages: [
        messages[0],
        {
          role: 'user',
          content: [
            { type: 'text', text: PROMPT },
            { type: 'image_url', image_url: { url: DATA_URL } },
          ],
        },
      ],
    },
  };
};

/**
 * The Messages API at the version Chorus pins (anthropic-version 2023-06-01) takes `temperature`; the
 * SDK 1.x dropped sampling parameters from its types with API version 2026-10-21, which refuses them.
 * So this one field is typed by hand (a number, as the 2023-06-01 reference documents it).
 */
type AnthropicRequest = Anthropic.MessageCreateParamsNonStreaming & { temperature?: number };

/** Anthropic Messages, as `@anthropic-ai/sdk`'s MessageCreateParams. */
const anthropicParams = (model: string): Record<Case, AnthropicRequest> => {
  const user: Anthropic.MessageParam = { role: 'user', content: PROMPT };
  const tool = (schema: Record<string, unknown>): Pick<Anthropic.MessageCreateParamsNonStreaming, 'tools' | 'tool_choice'> => ({
    tools: [{ name: 'answer', description: 'Give the answer in this structure.', input_schema: schema as Anthropic.Tool.InputSchema }],
    tool_choice: { type: 'tool', name: 'answer' },
  });
  return {
    plain: { model, max_tokens: 4096, system: generate.system, messages: [user] },
    settings: { model, max_tokens: 200, system: generate.system, messages: [user], temperature: 0.7, stop_sequences: ['END', 'STOP'] },
    classify: { model, max_tokens: 4096, system: classify.system, messages: [user], ...tool(classifySchema.schema) },
    extract: { model, max_tokens: 4096, system: extract.system, messages: [user], ...tool(extractSchema) },
    image: {
      model,
      max_tokens: 4096,
      system: generate.system,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: DATA } },
            { type: 'text', text: PROMPT },
          ],
        },
      ],
    },
  };
};

/** Cohere Chat v2, as `cohere-ai`'s V2ChatRequest (camelCase: the SDK writes the wire's snake_case). */
const cohereParams = (model: string): Record<Case, Cohere.V2ChatRequest> => {
  const messages: Cohere.ChatMessages = [
    { role: 'system', content: generate.system },
    { role: 'user', content: PROMPT },
  ];
  return {
    plain: { model, messages },
    settings: { model, messages, maxTokens: 200, temperature: 0.7, stopSequences: ['END', 'STOP'] },
    classify: {
      model,
      messages: [{ role: 'system', content: classify.system }, messages[1]],
      responseFormat: { type: 'json_object', jsonSchema: classifySchema.schema },
    },
    extract: {
      model,
      messages: [{ role: 'system', content: extract.system }, messages[1]],
      responseFormat: { type: 'json_object', jsonSchema: extractSchema },
    },
    image: {
      model,
      messages: [
        messages[0],
        {
          role: 'user',
          content: [
            { type: 'text', text: PROMPT },
            { type: 'image_url', imageUrl: { url: DATA_URL } },
          ],
        },
      ],
    },
  };
};

/** Gemini generateContent, as `@google/genai`'s GenerateContentParameters (the SDK moves `config` into the body's fields). */
const geminiParams = (model: string): Record<Case, GenerateContentParameters> => {
  const contents = [{ role: 'user', parts: [{ text: PROMPT }] }];
  const system = (text: string) => ({ systemInstruction: { parts: [{ text }] } });
  return {
    plain: { model, contents, config: system(generate.system) },
    settings: { model, contents, config: { ...system(generate.system), maxOutputTokens: 200, temperature: 0.7, stopSequences: ['END', 'STOP'] } },
    classify: { model, contents, config: { ...system(classify.system), responseMimeType: 'application/json', responseJsonSchema: classifySchema.schema } },
    extract: { model, contents, config: { ...system(extract.system), responseMimeType: 'application/json', responseJsonSchema: extractSchema } },
    image: {
      model,
      contents: [{ role: 'user', parts: [{ text: PROMPT }, { inlineData: { mimeType: 'image/png', data: DATA } }] }],
      config: system(generate.system),
    },
  };
};

describe('adapter requests are what the official SDKs send for the same request', () => {
  let capture: Awaited<ReturnType<typeof startCapture>>;
  let endpoints: Record<string, ProviderEndpoint>;

  beforeAll(async () => {
    capture = await startCapture();
    endpoints = loadProviderSettings({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: `${capture.url}/openai/v1`,
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: `${capture.url}/anthropic`,
      COHERE_API_KEY: 'co-test',
      COHERE_BASE_URL: `${capture.url}/cohere`,
      GEMINI_API_KEY: 'gm-test',
      GEMINI_BASE_URL: `${capture.url}/gemini`,
    }).endpoints;
  });
  afterAll(() => capture.close());

  /** What the adapter would send for this case, beside what the SDK sent. */
  const compare = async (
    provider: string,
    model: string,
    kind: Case,
    send: () => Promise<unknown>,
    sdkDefaults: (body: Record<string, unknown>) => unknown = (body) => body,
  ) => {
    const endpoint = endpoints[provider];
    const request = WIRE_ADAPTERS[endpoint.wire].toHttpRequest(call(model, kind), endpoint);
    await send();
    const sent = capture.last();
    expect(`${capture.url}${sent.path}`).toBe(request.url);
    expect(sdkDefaults({ ...(sent.body as Record<string, unknown>) })).toEqual(request.body);
    return { sent, request };
  };
  /** The key travels in the header the SDK puts it in. */
  const sameCredential = ({ sent, request }: Awaited<ReturnType<typeof compare>>) => {
    for (const [header, value] of Object.entries(request.headers)) expect(sent.headers[header]).toBe(value);
  };

  it.each(CASES)('openai-chat: %s', async (kind) => {
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: endpoints.openai.baseUrl, maxRetries: 0 });
    sameCredential(await compare('openai', 'gpt-4o-mini', kind, () => client.chat.completions.create(openaiParams('gpt-4o-mini')[kind])));
  });

  it.each(CASES)('anthropic-messages: %s', async (kind) => {
    // The SDK sends 2026-10-21 by default; the body is compared at the version Chorus pins.
    const client = new Anthropic({
      apiKey: 'sk-ant-test',
      baseURL: endpoints.anthropic.baseUrl,
      maxRetries: 0,
      defaultHeaders: { 'anthropic-version': ANTHROPIC_VERSION },
    });
    const { sent, request } = await compare('anthropic', 'claude-haiku-4-5', kind, () => client.messages.create(anthropicParams('claude-haiku-4-5')[kind]));
    expect(sent.headers['anthropic-version']).toBe(request.headers['anthropic-version']);
    // SDK 1.x sends the key as a Bearer token; Chorus in x-api-key, the header Anthropic documents (and prefers when both come).
    expect(sent.headers.authorization).toBe('Bearer sk-ant-test');
    expect(request.headers['x-api-key']).toBe('sk-ant-test');
  });

  it.each(CASES)('cohere-v2: %s', async (kind) => {
    const client = new CohereClientV2({ token: 'co-test', environment: endpoints.cohere.baseUrl });
    // Images go to a vision model, as the activity requires.
    const model = kind === 'image' ? 'command-a-vision-07-2025' : 'command-r-08-2024';
    // The SDK always writes `stream: false`, the API's default, which Chorus leaves out.
    const withoutStream = ({ stream, ...body }: Record<string, unknown>) => (expect(stream).toBe(false), body);
    sameCredential(await compare('cohere', model, kind, () => client.chat(cohereParams(model)[kind]), withoutStream));
  });

  it.each(CASES)('gemini: %s', async (kind) => {
    const client = new GoogleGenAI({ apiKey: 'gm-test', httpOptions: { baseUrl: endpoints.gemini.baseUrl } });
    // The SDK writes an empty generationConfig when the config has no generation field; Chorus leaves it out (the same request).
    const withoutEmptyConfig = ({ generationConfig, ...body }: Record<string, unknown>) =>
      generationConfig && Object.keys(generationConfig).length ? { ...body, generationConfig } : body;
    sameCredential(
      await compare('gemini', 'gemini-2.0-flash', kind, () => client.models.generateContent(geminiParams('gemini-2.0-flash')[kind]), withoutEmptyConfig),
    );
  });
});
