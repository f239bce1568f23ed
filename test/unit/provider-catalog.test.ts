import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WIRE_ADAPTERS } from '../../activities/providers';
import { ANTHROPIC_DEFAULT_MAX_TOKENS } from '../../activities/providers/anthropic';
import type { ProviderCall } from '../../activities/providers/provider';
import { isStrictSchema, planTask } from '../../activities/tasks';
import { DEFAULT_PRICES, priceOf } from '../../src/config/prices';
import { configuredProviderModels, configuredProviderNames, loadProviderSettings, type ProviderEndpoint } from '../../src/config/providers';
import { loadWorkerSettings } from '../../src/config/worker';
import { REDACTED_PATHS } from '../../src/observability/logger';
import { PROVIDER_CATALOG, PROVIDER_NAMES, WIRE_KINDS } from '../../src/pipeline/providers';
import { validatePipeline } from '../../src/pipeline/validate';
import { projectRoot } from '../../src/project-root';
import { WIRES } from '../../simulator/wire';

const LOCAL = { CHORUS_PROVIDERS: 'local-vllm', LOCAL_VLLM_BASE_URL: 'http://10.0.0.7:8000/v1/', LOCAL_VLLM_MODEL: 'qwen2.5-7b' };

describe('provider catalog', () => {
  it('lists every built-in provider once, each with a wire kind that has an adapter and a simulator wire', () => {
    expect(PROVIDER_NAMES).toEqual(['openai', 'cohere', 'gemini', 'anthropic']);
    for (const entry of PROVIDER_CATALOG) {
      expect(WIRE_KINDS).toContain(entry.wire);
      expect(WIRE_ADAPTERS[entry.wire].wire).toBe(entry.wire);
      expect(WIRES[entry.wire].wire).toBe(entry.wire);
      expect(entry.prices.takenOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect((entry.prices.models as Record<string, unknown>)[entry.defaultModel]).toBeDefined();
    }
  });

  it('derives prices, settings, worker queues, redaction and the schema from it', () => {
    expect(Object.keys(DEFAULT_PRICES)).toEqual(PROVIDER_NAMES);
    expect(priceOf(DEFAULT_PRICES, 'anthropic', 'claude-haiku-4-5-20251001')).toEqual({ input: 1, output: 5 });
    const { endpoints } = loadProviderSettings({ CHORUS_SIMULATOR_URL: 'http://127.0.0.1:9999' });
    expect(endpoints.anthropic).toMatchObject({
      wire: 'anthropic-messages',
      simulated: true,
      baseUrl: 'http://127.0.0.1:9999/anthropic',
      credential: { header: 'x-api-key' },
    });
    expect(loadProviderSettings({ ANTHROPIC_API_KEY: 'sk-ant' }).endpoints.anthropic).toMatchObject({
      simulated: false,
      apiKey: 'sk-ant',
      baseUrl: 'https://api.anthropic.com',
    });
    expect(REDACTED_PATHS).toEqual(
      expect.arrayContaining(['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'headers["x-api-key"]', 'headers["x-goog-api-key"]', '*.headers["api-key"]']),
    );
    expect(validatePipeline({ name: 'p', steps: [{ id: 'a', provider: 'anthropic', task: 'generate', prompt: 'x' }] }).problems).toEqual([]);
  });
});

describe('deployment files follow the catalog', () => {
  const file = (name: string) => readFileSync(join(projectRoot(), name), 'utf8');

  it.each(PROVIDER_CATALOG.map((entry) => [entry.name, entry]))(
    '%s: .env.example documents its key, base URL, model and limits; both compose files pass its key',
    (_name, entry) => {
      const prefix = entry.name.toUpperCase();
      for (const variable of [
        entry.credential.variable,
        `${prefix}_BASE_URL=${entry.baseUrl}`,
        `${prefix}_MODEL=${entry.defaultModel}`,
        `CHORUS_${prefix}_MAX_RPS=`,
        `CHORUS_${prefix}_MAX_CONCURRENCY=`,
      ]) {
        expect(file('.env.example')).toContain(variable);
      }
      for (const compose of ['docker-compose.yml', 'docker-compose.dev.yml'])
        expect(file(compose)).toContain(`${entry.credential.variable}: \${${entry.credential.variable}:-}`);
      expect(file('docker-compose.yml')).toContain(`CHORUS_${prefix}_MAX_RPS: \${CHORUS_${prefix}_MAX_RPS:-}`);
    },
  );

  it('.env.example and the compose file carry CHORUS_PROVIDERS', () => {
    expect(file('.env.example')).toMatch(/^# CHORUS_PROVIDERS=$/m);
    expect(file('docker-compose.yml')).toContain('CHORUS_PROVIDERS: ${CHORUS_PROVIDERS:-}');
  });
});

describe('configured instances', () => {
  it('adds an OpenAI-compatible instance from configuration alone: endpoint, queue, limits, schema', () => {
    const settings = loadProviderSettings({ ...LOCAL, LOCAL_VLLM_PRICES: '{"qwen2.5-7b": {"input": 0.1, "output": 0.2}}' });
    expect(settings.endpoints['local-vllm']).toEqual({
      provider: 'local-vllm',
      wire: 'openai-chat',
      baseUrl: 'http://10.0.0.7:8000/v1',
      apiKey: '',
      credential: { header: 'authorization', scheme: 'Bearer' },
      defaultModel: 'qwen2.5-7b',
      capabilities: { vision: false, jsonSchema: false, streaming: false },
      simulated: false,
    });
    expect(priceOf(settings.prices, 'local-vllm', 'qwen2.5-7b')).toEqual({ input: 0.1, output: 0.2 });
    expect(configuredProviderNames(LOCAL)).toEqual([...PROVIDER_NAMES, 'local-vllm']);
    const worker = loadWorkerSettings({ ...LOCAL, CHORUS_LOCAL_VLLM_MAX_RPS: '4', CHORUS_LOCAL_VLLM_MAX_CONCURRENCY: '2' });
    expect(worker.queues).toEqual(['workflows', ...PROVIDER_NAMES, 'local-vllm']);
    expect(worker.providerLimits?.['local-vllm']).toEqual({ maxRps: 4, maxConcurrency: 2 });
    expect(loadWorkerSettings({ ...LOCAL, CHORUS_WORKER_QUEUES: 'local-vllm' }).queues).toEqual(['local-vllm']);
    const step = { name: 'p', steps: [{ id: 'a', provider: 'local-vllm', task: 'generate', prompt: 'x' }] };
    expect(validatePipeline(step, configuredProviderNames(LOCAL)).problems).toEqual([]);
    expect(validatePipeline(step).problems).toEqual([{ field: '$.steps[0].provider', reason: expect.stringContaining('openai, cohere, gemini, anthropic') }]);
  });

  it('lists the models an instance allows (<NAME>_MODELS), and the definition check holds steps and fallbacks to them', () => {
    const env = { ...LOCAL, LOCAL_VLLM_MODELS: 'qwen2.5-7b, llama-3.1-8b' };
    expect(loadProviderSettings(env).endpoints['local-vllm'].models).toEqual(['qwen2.5-7b', 'llama-3.1-8b']);
    expect(loadProviderSettings(LOCAL).endpoints['local-vllm'].models).toBeUndefined();
    const allowed = configuredProviderModels(env);
    expect(allowed).toEqual({ 'local-vllm': ['qwen2.5-7b', 'llama-3.1-8b'] });
    const providers = configuredProviderNames(env);
    const step = (extra: Record<string, unknown>) => ({ name: 'p', steps: [{ id: 'a', provider: 'local-vllm', task: 'generate', prompt: 'x', ...extra }] });
    expect(validatePipeline(step({ model: 'llama-3.1-8b' }), providers, allowed).problems).toEqual([]);
    expect(validatePipeline(step({}), providers, allowed).problems).toEqual([]);
    expect(validatePipeline(step({ model: 'gpt-4o' }), providers, allowed).problems).toEqual([
      { field: '$.steps[0].model', reason: 'model "gpt-4o" is not allowed on provider "local-vllm"; allowed: qwen2.5-7b, llama-3.1-8b' },
    ]);
    const mapped = {
      name: 'p',
      steps: [
        {
          id: 'm',
          map: {
            over: 'input.docs',
            step: { provider: 'openai', model: 'gpt-4o', task: 'summarize', prompt: '{{item}}', fallback: [{ provider: 'local-vllm', model: 'big' }] },
          },
        },
      ],
    };
    expect(validatePipeline(mapped, providers, allowed).problems).toEqual([
      { field: '$.steps[0].map.step.fallback[0].model', reason: expect.stringContaining('"big"') },
    ]);
    // Without the allow-list (a validator not given it), any model passes.
    expect(validatePipeline(step({ model: 'gpt-4o' }), providers).problems).toEqual([]);
  });

  it('takes its own key header (Azure api-key, sent bare), wire kind and capabilities', () => {
    const azure = loadProviderSettings({
      CHORUS_PROVIDERS: 'azure',
      AZURE_BASE_URL: 'https://acme.openai.azure.com/openai/v1',
      AZURE_MODEL: 'gpt-4o',
      AZURE_API_KEY: 'az-key',
      AZURE_KEY_HEADER: 'api-key',
      AZURE_VISION: 'true',
      AZURE_JSON_SCHEMA: 'true',
    }).endpoints.azure;
    expect(azure).toMatchObject({ credential: { header: 'api-key' }, capabilities: { vision: true, jsonSchema: true } });
    const request = WIRE_ADAPTERS[azure.wire].toHttpRequest({ model: 'gpt-4o', system: 's', prompt: 'p', json: false }, azure);
    expect(request.headers).toEqual({ 'api-key': 'az-key' });
    const claudeProxy = loadProviderSettings({
      CHORUS_PROVIDERS: 'gateway',
      GATEWAY_BASE_URL: 'https://llm.example',
      GATEWAY_MODEL: 'claude-haiku-4-5',
      GATEWAY_WIRE: 'anthropic-messages',
    }).endpoints.gateway;
    expect(claudeProxy).toMatchObject({ wire: 'anthropic-messages', credential: { header: 'x-api-key' } });
  });

  it.each([
    [{ CHORUS_PROVIDERS: 'local-vllm' }, /LOCAL_VLLM_BASE_URL/],
    [{ CHORUS_PROVIDERS: 'local-vllm', LOCAL_VLLM_BASE_URL: 'http://h/v1' }, /LOCAL_VLLM_MODEL/],
    [{ ...LOCAL, LOCAL_VLLM_WIRE: 'soap' }, /LOCAL_VLLM_WIRE/],
    [{ ...LOCAL, LOCAL_VLLM_PRICES: 'cheap' }, /LOCAL_VLLM_PRICES: expected JSON/],
    [{ ...LOCAL, LOCAL_VLLM_PRICES: '{"qwen": {"input": "low"}}' }, /LOCAL_VLLM_PRICES/],
    [{ CHORUS_PROVIDERS: 'Local' }, /CHORUS_PROVIDERS.*lower-case/],
    [{ CHORUS_PROVIDERS: 'openai' }, /CHORUS_PROVIDERS.*built-in provider/],
    [{ CHORUS_PROVIDERS: 'a,a', A_BASE_URL: 'http://h', A_MODEL: 'm' }, /CHORUS_PROVIDERS: names a provider twice/],
    [{ ...LOCAL, LOCAL_VLLM_MODELS: 'llama-3.1-8b,mistral-7b' }, /LOCAL_VLLM_MODEL: "qwen2.5-7b" is not one of LOCAL_VLLM_MODELS \(llama-3.1-8b, mistral-7b\)/],
    [{ ...LOCAL, LOCAL_VLLM_MODELS: ',,' }, /LOCAL_VLLM_MODELS: expected a comma-separated list/],
  ])('stops at boot naming the key: %j', (env, message) => {
    expect(() => loadProviderSettings(env)).toThrow(message);
  });
});

describe('what a step asks of its model, on each wire', () => {
  const base: ProviderCall = { model: 'm', system: 's', prompt: 'p', json: false, maxOutputTokens: 200, temperature: 1.4, stopSequences: ['END'] };
  const endpoint = (provider: string): ProviderEndpoint => loadProviderSettings({ CHORUS_SIMULATOR_URL: 'http://sim' }).endpoints[provider];
  const body = (provider: string, call: ProviderCall = base) =>
    WIRE_ADAPTERS[endpoint(provider).wire].toHttpRequest(call, endpoint(provider)).body as Record<string, unknown>;

  it('sends max tokens, temperature and stop sequences in each wire kind own fields', () => {
    expect(body('openai')).toMatchObject({ max_completion_tokens: 200, temperature: 1.4, stop: ['END'] });
    expect(body('cohere')).toMatchObject({ max_tokens: 200, temperature: 1.4, stop_sequences: ['END'] });
    expect(body('gemini')).toMatchObject({ generationConfig: { maxOutputTokens: 200, temperature: 1.4, stopSequences: ['END'] } });
    expect(body('anthropic')).toMatchObject({ max_tokens: 200, temperature: 1, stop_sequences: ['END'] });
    const local = loadProviderSettings(LOCAL).endpoints['local-vllm'];
    expect(WIRE_ADAPTERS['openai-chat'].toHttpRequest(base, local).body).toMatchObject({ max_tokens: 200 });
  });

  it('leaves them out when the step does not set them (Anthropic, which requires max_tokens, gets its default)', () => {
    const plain: ProviderCall = { model: 'm', system: 's', prompt: 'p', json: false };
    for (const provider of ['openai', 'cohere']) expect(Object.keys(body(provider, plain)).sort()).toEqual(['messages', 'model']);
    expect(body('gemini', plain).generationConfig).toBeUndefined();
    expect(body('anthropic', plain)).toEqual({ model: 'm', max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS, system: 's', messages: [{ role: 'user', content: 'p' }] });
  });

  it('sends a structured task its JSON Schema natively: OpenAI json_schema, Cohere json_schema, Gemini responseJsonSchema, Anthropic a forced tool', () => {
    const task = planTask('classify', { labels: ['a', 'b'] });
    const call: ProviderCall = { model: 'm', system: task.system, prompt: 'p', json: task.json, responseSchema: task.responseSchema };
    const schema = task.responseSchema!.schema;
    expect(body('openai', call).response_format).toEqual({ type: 'json_schema', json_schema: { name: 'label_answer', schema, strict: true } });
    expect(body('cohere', call).response_format).toEqual({ type: 'json_object', json_schema: schema });
    expect(body('gemini', call).generationConfig).toEqual({ responseMimeType: 'application/json', responseJsonSchema: schema });
    expect(body('anthropic', call)).toMatchObject({ tools: [{ name: 'answer', input_schema: schema }], tool_choice: { type: 'tool', name: 'answer' } });
    // An instance that has not declared schema support gets JSON mode only.
    expect(WIRE_ADAPTERS['openai-chat'].toHttpRequest(call, loadProviderSettings(LOCAL).endpoints['local-vllm']).body).toMatchObject({
      response_format: { type: 'json_object' },
    });
  });

  it('marks an extract schema strict only when it fits OpenAI strict subset', () => {
    expect(isStrictSchema({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false })).toBe(true);
    expect(isStrictSchema({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] })).toBe(false);
    expect(isStrictSchema({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, required: ['a'], additionalProperties: false })).toBe(
      false,
    );
    expect(
      isStrictSchema({
        type: 'object',
        properties: { list: { type: 'array', items: { type: 'object', properties: { x: {} } } } },
        required: ['list'],
        additionalProperties: false,
      }),
    ).toBe(false);
    expect(planTask('extract', { schema: { type: 'object', properties: { a: { type: 'string' } } } }).responseSchema?.strict).toBe(false);
  });

  it('validates the step fields: ranges, counts, types', () => {
    const withFields = (fields: Record<string, unknown>) =>
      validatePipeline({ name: 'p', steps: [{ id: 'a', provider: 'openai', task: 'generate', prompt: 'x', ...fields }] }).problems;
    expect(withFields({ maxOutputTokens: 500, temperature: 0, stopSequences: ['\n\n'] })).toEqual([]);
    expect(withFields({ maxOutputTokens: 0 })).toEqual([{ field: '$.steps[0].maxOutputTokens', reason: expect.any(String) }]);
    expect(withFields({ maxOutputTokens: 1.5 })).toEqual([{ field: '$.steps[0].maxOutputTokens', reason: expect.any(String) }]);
    expect(withFields({ temperature: 2.5 })).toEqual([{ field: '$.steps[0].temperature', reason: expect.any(String) }]);
    expect(withFields({ stopSequences: ['a', 'b', 'c', 'd', 'e'] })).toEqual([{ field: '$.steps[0].stopSequences', reason: expect.any(String) }]);
    expect(withFields({ stopSequences: [''] })).toEqual([{ field: '$.steps[0].stopSequences[0]', reason: expect.any(String) }]);
  });
});
