import { z } from 'zod';
import { chatUserContent, credentialHeader, type ProviderAdapter } from './provider';

/** Cohere Chat v2: POST {base}/v2/chat. The answer does not name the model, so the requested one is reported. */
const ChatResponse = z.object({
  message: z.object({ content: z.array(z.object({ type: z.string(), text: z.string().optional() })) }),
  usage: z.object({
    tokens: z.object({ input_tokens: z.number(), output_tokens: z.number() }).optional(),
    billed_units: z.object({ input_tokens: z.number(), output_tokens: z.number() }).optional(),
  }),
});

export const cohereAdapter: ProviderAdapter = {
  name: 'cohere',
  toHttpRequest({ model, system, prompt, json, image }, { baseUrl, apiKey }) {
    return {
      url: `${baseUrl}/v2/chat`,
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
  parseAnswer(body, { model }) {
    const response = ChatResponse.parse(body);
    const tokens = response.usage.tokens ?? response.usage.billed_units ?? { input_tokens: 0, output_tokens: 0 };
    return {
      text: response.message.content.map((part) => part.text ?? '').join(''),
      model,
      usage: { inputTokens: tokens.input_tokens, outputTokens: tokens.output_tokens },
    };
  },
};
