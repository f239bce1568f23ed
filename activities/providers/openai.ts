import { z } from 'zod';
import type { ProviderEndpoint } from '../../src/config/providers';
import { chatUserContent, credentialHeader, type AnswerFinish, type ProviderAdapter, type ProviderCall } from './provider';

/** OpenAI Chat Completions: POST {base}/chat/completions. `usage` is optional in the spec (compatible servers often leave it out). */
const ChatCompletion = z.object({
  model: z.string(),
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }), finish_reason: z.string().nullish() }))
    .min(1),
  usage: z
    .object({
      prompt_tokens: z.number(),
      completion_tokens: z.number(),
      completion_tokens_details: z.object({ reasoning_tokens: z.number().optional() }).nullish(),
    })
    .nullish(),
});

/** finish_reason → outcome; tool and function calls are not asked for, so one means the answer has no text for the step. */
const FINISH_OUTCOMES: Record<string, AnswerFinish['outcome']> = {
  stop: 'complete',
  length: 'truncated',
  content_filter: 'blocked',
  tool_calls: 'failed',
  function_call: 'failed',
};

/** Structured output: the schema itself where the endpoint holds answers to one, else JSON mode. */
function responseFormat({ json, responseSchema }: ProviderCall, endpoint: ProviderEndpoint) {
  if (responseSchema && endpoint.capabilities.jsonSchema) {
    return {
      response_format: { type: 'json_schema', json_schema: { name: responseSchema.name, schema: responseSchema.schema, strict: responseSchema.strict } },
    };
  }
  return json ? { response_format: { type: 'json_object' } } : {};
}

export const openaiAdapter: ProviderAdapter = {
  wire: 'openai-chat',
  toHttpRequest(call, endpoint) {
    const { model, system, prompt, image, maxOutputTokens, temperature, stopSequences } = call;
    // OpenAI replaced max_tokens by max_completion_tokens (its reasoning models refuse the old one); compatible servers read max_tokens.
    const maxTokensField = endpoint.provider === 'openai' ? 'max_completion_tokens' : 'max_tokens';
    return {
      url: `${endpoint.baseUrl}/chat/completions`,
      headers: credentialHeader(endpoint),
      body: {
        model,
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: chatUserContent(prompt, image) },
        ],
        ...responseFormat(call, endpoint),
        ...(maxOutputTokens !== undefined ? { [maxTokensField]: maxOutputTokens } : {}),
        ...(temperature !== undefined ? { temperature } : {}),
        ...(stopSequences?.length ? { stop: stopSequences } : {}),
      },
    };
  },
  parseAnswer(body) {
    const completion = ChatCompletion.parse(body);
    const { message, finish_reason: finishReason } = completion.choices[0];
    const reason = finishReason ?? 'stop';
    // A refusal comes instead of content (structured outputs), whatever the finish_reason says.
    const finish: AnswerFinish =
      message.refusal && !message.content
        ? { outcome: 'blocked', reason: `refusal: ${message.refusal}` }
        : { outcome: FINISH_OUTCOMES[reason] ?? 'complete', reason: `finish_reason ${reason}` };
    const usage = completion.usage;
    const thinkingTokens = usage?.completion_tokens_details?.reasoning_tokens;
    return {
      finish,
      text: message.content ?? '',
      model: completion.model,
      usage: usage ? { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens, ...(thinkingTokens ? { thinkingTokens } : {}) } : undefined,
    };
  },
};
