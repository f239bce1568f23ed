import { z } from 'zod';
import { credentialHeader, type ProviderAdapter } from './provider';

// finishReason values that mean Gemini's safety system withheld the answer.
const BLOCKING_FINISH_REASONS = new Set(['SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII', 'RECITATION', 'IMAGE_SAFETY']);

/** Gemini: POST {base}/v1beta/models/{model}:generateContent, key in x-goog-api-key. */
const GenerateContentResponse = z.object({
  candidates: z
    .array(z.object({ content: z.object({ parts: z.array(z.object({ text: z.string().optional() })) }).optional(), finishReason: z.string().optional() }))
    .optional(),
  promptFeedback: z.object({ blockReason: z.string().optional() }).optional(),
  usageMetadata: z.object({ promptTokenCount: z.number().optional(), candidatesTokenCount: z.number().optional() }).optional(),
  modelVersion: z.string().optional(),
});

export const geminiAdapter: ProviderAdapter = {
  name: 'gemini',
  toHttpRequest({ model, system, prompt, json, image }, { baseUrl, apiKey }) {
    return {
      url: `${baseUrl}/v1beta/models/${encodeURIComponent(model)}:generateContent`,
      headers: credentialHeader('x-goog-api-key', apiKey),
      body: {
        systemInstruction: { parts: [{ text: system }] },
        contents: [{ role: 'user', parts: [{ text: prompt }, ...(image ? [{ inlineData: { mimeType: image.mimeType, data: image.base64 } }] : [])] }],
        ...(json ? { generationConfig: { responseMimeType: 'application/json' } } : {}),
      },
    };
  },
  parseAnswer(body, { model }) {
    const response = GenerateContentResponse.parse(body);
    const candidate = response.candidates?.[0];
    const blockReason = response.promptFeedback?.blockReason ?? (candidate?.finishReason && BLOCKING_FINISH_REASONS.has(candidate.finishReason) ? candidate.finishReason : undefined);
    if (!candidate && !blockReason) throw new z.ZodError([{ code: 'custom', path: ['candidates'], message: 'no candidates and no block reason', input: body }]);
    return {
      blockedBy: blockReason ? `block reason ${blockReason}` : undefined,
      text: (candidate?.content?.parts ?? []).map((part) => part.text ?? '').join(''),
      model: response.modelVersion ?? model,
      usage: { inputTokens: response.usageMetadata?.promptTokenCount ?? 0, outputTokens: response.usageMetadata?.candidatesTokenCount ?? 0 },
    };
  },
};
