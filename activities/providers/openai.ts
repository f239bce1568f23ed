import { z } from 'zod';
import { chatUserContent, credentialHeader, type ProviderAdapter } from './provider';

/** OpenAI Chat Completions: POST {base}/chat/completions. */
const ChatCompletion = z.object({
  model: z.string(),
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullable(), refusal: z.string().nullish() }), finish_reason: z.string().nullish() }))
    .min(1),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }),
});

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
    const refused = finishReason === 'content_filter' || (message.content === null && Boolean(message.refusal));
    return {
      blockedBy: refused ? `finish_reason ${finishReason ?? 'refusal'}${message.refusal ? `: ${message.refusal}` : ''}` : undefined,
      text: message.content ?? '',
      model: completion.model,
      usage: { inputTokens: completion.usage.prompt_tokens, outputTokens: completion.usage.completion_tokens },
    };
  },
};
