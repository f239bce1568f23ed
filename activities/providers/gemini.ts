import { z } from 'zod';
import { rejectedBeforeSending } from '../errors';
import { credentialHeader, type AnswerFinish, type ProviderAdapter } from './provider';

/**
 * finishReason → outcome (the @google/genai FinishReason enum). SAFETY and its kin mean Gemini's
 * safety system withheld the answer; LANGUAGE is one of its blocking codes too (unsupported language).
 */
const FINISH_OUTCOMES: Record<string, AnswerFinish['outcome']> = {
  STOP: 'complete',
  MAX_TOKENS: 'truncated',
  CONTINUATION: 'truncated',
  SAFETY: 'blocked',
  RECITATION: 'blocked',
  LANGUAGE: 'blocked',
  BLOCKLIST: 'blocked',
  PROHIBITED_CONTENT: 'blocked',
  SPII: 'blocked',
  IMAGE_SAFETY: 'blocked',
  IMAGE_PROHIBITED_CONTENT: 'blocked',
  IMAGE_RECITATION: 'blocked',
  OTHER: 'failed',
  FINISH_REASON_UNSPECIFIED: 'failed',
  MALFORMED_FUNCTION_CALL: 'failed',
  UNEXPECTED_TOOL_CALL: 'failed',
  TOO_MANY_TOOL_CALLS: 'failed',
  NO_IMAGE: 'failed',
  IMAGE_OTHER: 'failed',
};

/** Gemini: POST {base}/v1beta/{models/…}:generateContent, key in x-goog-api-key. A candidate's `parts` and every token count are optional. */
const GenerateContentResponse = z.object({
  candidates: z
    .array(
      z.object({
        content: z.object({ parts: z.array(z.object({ text: z.string().optional(), thought: z.boolean().optional() })).optional() }).optional(),
        finishReason: z.string().optional(),
      }),
    )
    .optional(),
  promptFeedback: z.object({ blockReason: z.string().optional() }).optional(),
  usageMetadata: z
    .object({ promptTokenCount: z.number().optional(), candidatesTokenCount: z.number().optional(), thoughtsTokenCount: z.number().optional() })
    .optional(),
  modelVersion: z.string().optional(),
});

/**
 * The model's resource name as @google/genai builds it: `models/{model}` unless the name already is
 * one (`models/…`, `tunedModels/…`). Its `/` stays a path separator; each segment is escaped.
 */
function modelPath(model: string, provider: string): string {
  const name = model.startsWith('models/') || model.startsWith('tunedModels/') ? model : `models/${model}`;
  const segments = name.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..'))
    throw rejectedBeforeSending(provider, `model "${model}" is not a model resource name`);
  return segments.map(encodeURIComponent).join('/');
}

export const geminiAdapter: ProviderAdapter = {
  wire: 'gemini',
  toHttpRequest({ model, system, prompt, json, responseSchema, image, maxOutputTokens, temperature, stopSequences }, endpoint) {
    const generationConfig = {
      ...(json ? { responseMimeType: 'application/json' } : {}),
      // responseJsonSchema takes JSON Schema as written; responseSchema would need Gemini's OpenAPI subset.
      ...(json && responseSchema && endpoint.capabilities.jsonSchema ? { responseJsonSchema: responseSchema.schema } : {}),
      ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(stopSequences?.length ? { stopSequences } : {}),
    };
    return {
      url: `${endpoint.baseUrl}/v1beta/${modelPath(model, endpoint.provider)}:generateContent`,
      headers: credentialHeader(endpoint),
      body: {
        systemInstruction: { parts: [{ text: system }] },
        contents: [{ role: 'user', parts: [{ text: prompt }, ...(image ? [{ inlineData: { mimeType: image.mimeType, data: image.base64 } }] : [])] }],
        ...(Object.keys(generationConfig).length ? { generationConfig } : {}),
      },
    };
  },
  parseAnswer(body, { model }) {
    const response = GenerateContentResponse.parse(body);
    const candidate = response.candidates?.[0];
    const blockReason = response.promptFeedback?.blockReason;
    if (!candidate && !blockReason) throw new z.ZodError([{ code: 'custom', path: ['candidates'], message: 'no candidates and no block reason', input: body }]);
    const reason = candidate?.finishReason ?? 'STOP';
    const usage = response.usageMetadata;
    const thinkingTokens = usage?.thoughtsTokenCount ?? 0;
    return {
      finish: blockReason
        ? { outcome: 'blocked', reason: `block reason ${blockReason}` }
        : { outcome: FINISH_OUTCOMES[reason] ?? 'complete', reason: `finishReason ${reason}` },
      // Thought summaries (parts marked `thought`) are the model's thinking, not its answer.
      text: (candidate?.content?.parts ?? [])
        .filter((part) => !part.thought)
        .map((part) => part.text ?? '')
        .join(''),
      model: response.modelVersion ?? model,
      // Gemini bills thinking as output: candidatesTokenCount leaves it out, so it is added.
      usage: usage
        ? {
            inputTokens: usage.promptTokenCount ?? 0,
            outputTokens: (usage.candidatesTokenCount ?? 0) + thinkingTokens,
            ...(thinkingTokens ? { thinkingTokens } : {}),
          }
        : undefined,
    };
  },
};
