import { HttpException } from '@nestjs/common';
import { StreamedAnswer } from '../../api/chat/chat-answer';
import { chatFieldOf, chatPipelineOf, parseChatRequest, promptOf, resolveChatTarget } from '../../api/chat/chat-request';

const problemsOf = (body: unknown) => {
  try {
    parseChatRequest(body);
  } catch (error) {
    return ((error as HttpException).getResponse() as { errors: { field: string; reason: string }[] }).errors;
  }
  throw new Error('accepted');
};

describe('chat requests: the OpenAI request as a Chorus run', () => {
  it('names each rejected field as the request spells it, unsupported OpenAI fields apart from unknown ones', () => {
    expect(problemsOf({ model: 'openai', messages: [{ role: 'tool', content: 'x' }], top_p: 1, foo: 1 })).toEqual([
      { field: 'messages[0].role', reason: expect.any(String) },
      { field: 'top_p', reason: 'is not supported by Chorus' },
      { field: 'foo', reason: 'is not a field of this request' },
    ]);
    expect(problemsOf({ model: 'openai', messages: [] })).toEqual([{ field: 'messages', reason: expect.stringMatching(/1/) }]);
    expect(problemsOf({ model: 'openai', messages: [{ role: 'user', content: 'a\u0000b' }] })).toEqual([
      { field: 'messages[0].content', reason: expect.stringContaining('NUL') },
    ]);
    expect(problemsOf(undefined)).toEqual([{ field: 'body', reason: expect.any(String) }]);
    // null is OpenAI's "not set" for its optional fields.
    expect(parseChatRequest({ model: 'openai', messages: [{ role: 'user', content: 'hi' }], temperature: null, stop: null }).temperature).toBeNull();
  });

  it('resolves provider/model, a bare provider and pipeline/<name>; anything else is a 404 on model', () => {
    const catalog: Record<string, string[]> = { openai: ['gpt-4o-mini', 'gpt-4o'], anthropic: ['claude-haiku-4-5'], local: ['gpt-4o'] };
    const known = {
      providers: Object.keys(catalog),
      providersOf: (model: string) => Object.keys(catalog).filter((provider) => catalog[provider].includes(model)),
      pipelineExists: (name: string) => name === 'classic',
    };
    expect(resolveChatTarget('anthropic/claude-haiku-4-5', known)).toEqual({ kind: 'provider', provider: 'anthropic', model: 'claude-haiku-4-5' });
    expect(resolveChatTarget('local/org/model-7b', known)).toEqual({ kind: 'provider', provider: 'local', model: 'org/model-7b' });
    expect(resolveChatTarget('openai', known)).toEqual({ kind: 'provider', provider: 'openai' });
    expect(resolveChatTarget('pipeline/classic', known)).toEqual({ kind: 'pipeline', name: 'classic' });
    // A bare model name, as an OpenAI client sends it, runs on the one provider that lists it.
    expect(resolveChatTarget('gpt-4o-mini', known)).toEqual({ kind: 'provider', provider: 'openai', model: 'gpt-4o-mini' });
    const rejected = ['pipeline/nope', 'mistral/large', 'openai/', 'gpt-5-unknown', 'gpt-4o'].map((model) => {
      try {
        resolveChatTarget(model, known);
      } catch (thrown) {
        const error = thrown as HttpException;
        return { model, status: error.getStatus(), body: error.getResponse() as { code: string; errors: { reason: string }[] } };
      }
      return { model, status: 200 };
    });
    for (const answer of rejected) expect(answer).toMatchObject({ status: 404, body: { code: 'model_not_found' } });
    // Two providers list gpt-4o: the 404 says which, so the caller can pick one.
    expect(rejected[4]).toMatchObject({ body: { errors: [{ reason: 'listed by openai and local: name it as <provider>/gpt-4o' }] } });
  });

  it('sends a lone user message as it is, and a conversation as instructions then speaker turns', () => {
    expect(promptOf([{ role: 'user', content: 'Hello' }])).toBe('Hello');
    expect(
      promptOf([
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hi ' },
            { type: 'text', text: 'there' },
          ],
        },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Why?' },
      ]),
    ).toBe('Instructions:\nBe brief.\n\nUser: Hi there\n\nAssistant: Hello.\n\nUser: Why?');
  });

  it('builds the one-step definition from the sampling fields; response_format picks extract with its schema', () => {
    const base = { model: 'openai/gpt-4o', messages: [{ role: 'user' as const, content: 'x' }] };
    expect(
      chatPipelineOf(
        { ...base, temperature: 0.3, max_tokens: 50, max_completion_tokens: 40, stop: 'END' },
        { kind: 'provider', provider: 'openai', model: 'gpt-4o' },
      ).steps,
    ).toEqual([
      {
        id: 'answer',
        provider: 'openai',
        model: 'gpt-4o',
        task: 'generate',
        prompt: '{{input.prompt}}',
        temperature: 0.3,
        maxOutputTokens: 40,
        allowTruncated: true,
        stopSequences: ['END'],
      },
    ]);
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const [step] = chatPipelineOf(
      { ...base, response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } },
      { kind: 'provider', provider: 'openai' },
    ).steps;
    expect(step).toMatchObject({ task: 'extract', schema });
    expect(step).not.toHaveProperty('allowTruncated');
    expect(chatFieldOf({ field: '$.steps[0].schema', reason: 'not a valid JSON Schema' })).toEqual({
      field: 'response_format',
      reason: 'not a valid JSON Schema',
    });
    expect(chatFieldOf({ field: '$.steps[0].model', reason: 'not allowed' }).field).toBe('model');
    expect(chatFieldOf({ field: 'input.documents', reason: 'required' }).field).toBe('model');
  });
});

describe('a streamed answer across attempts', () => {
  const token = (attempt: number, text: string, call = 'answer') => ({ kind: 'token' as const, step: 'answer', call, attempt, text });
  const attempt = (attempt: number, call = 'answer') => ({ kind: 'attempt' as const, step: 'answer', call, attempt });

  it('sends one attempt live; a retry after text went out sends nothing more, and the result adds only what follows the sent text', () => {
    const answer = new StreamedAnswer('answer');
    expect([attempt(1), token(1, 'Dur'), token(1, 'able ')].map((event) => answer.push(event))).toEqual(['', 'Dur', 'able ']);
    expect([attempt(2), token(2, 'Durable '), token(2, 'runs')].map((event) => answer.push(event))).toEqual(['', '', '']);
    expect(answer.rest('Durable runs')).toBe('runs');
    // A retry that wrote other text: the stream cannot take back what it sent.
    expect(answer.rest('Retried runs')).toBeUndefined();
  });

  it('a retry before any text is the attempt that streams; other steps’ tokens are not the answer', () => {
    const answer = new StreamedAnswer('answer');
    expect(answer.push(attempt(1))).toBe('');
    expect(answer.push({ ...token(2, 'other'), step: 'draft' })).toBe('');
    expect(answer.push(attempt(2, 'answer~anthropic'))).toBe('');
    expect(answer.push(token(2, 'Fallback', 'answer~anthropic'))).toBe('Fallback');
    expect(answer.rest('Fallback text')).toBe(' text');
  });
});
