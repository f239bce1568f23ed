import { z } from 'zod';
import { chatUserContent, credentialHeader, type AnswerFinish, type ProviderAdapter } from './provider';

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

export const openaiAdapter: ProviderAdapter = {
  name: 'openai',
  toHttpRequest({ model, system, prompt, json, image }, { baseUrl, apiKey }) {
    return {
      url: `${baseUrl}/chat/completions`,
      headers: credentialHeader('authorization', apiKey && `Bearer ${apiKey}`),
      body: {
        model,
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: chatUserContent(prompt, image) },
        ],
        ...(json ? { response_format: { type: 'json_object' } } : {}),
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
