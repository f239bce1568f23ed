import { z } from 'zod';
import type { TokenUsage } from '../../src/pipeline/types';
import { chatUserContent, credentialHeader, type AnswerFinish, type ProviderAdapter } from './provider';

const TokenCounts = z.object({ input_tokens: z.number().optional(), output_tokens: z.number().optional() });

/**
 * Cohere Chat v2: POST {base}/v2/chat. `message.content` and `usage` are optional in the spec. The
 * answer does not name the model, so the requested one is reported.
 */
const ChatResponse = z.object({
  finish_reason: z.string().optional(),
  message: z.object({ content: z.array(z.object({ type: z.string(), text: z.string().optional() })).optional() }),
  usage: z.object({ tokens: TokenCounts.optional(), billed_units: TokenCounts.optional() }).optional(),
});

const FINISH_OUTCOMES: Record<string, AnswerFinish['outcome']> = {
  COMPLETE: 'complete',
  STOP_SEQUENCE: 'complete',
  MAX_TOKENS: 'truncated',
  ERROR: 'failed',
  TIMEOUT: 'failed',
  // Tools are not offered, so a tool call leaves the step without its answer.
  TOOL_CALL: 'failed',
};

function tokenUsage(counts: z.infer<typeof TokenCounts> | undefined): TokenUsage | undefined {
  return counts?.input_tokens === undefined || counts.output_tokens === undefined
    ? undefined
    : { inputTokens: counts.input_tokens, outputTokens: counts.output_tokens };
}

export const cohereAdapter: ProviderAdapter = {
  wire: 'cohere-v2',
  toHttpRequest({ model, system, prompt, json, responseSchema, image, maxOutputTokens, temperature, stopSequences }, endpoint) {
    // Cohere's JSON mode takes the schema in the same object (json_schema), and holds the answer to it.
    const schema = responseSchema && endpoint.capabilities.jsonSchema ? { json_schema: responseSchema.schema } : {};
    return {
      url: `${endpoint.baseUrl}/v2/chat`,
      headers: credentialHeader(endpoint),
      body: {
        model,
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: chatUserContent(prompt, image) },
        ],
        ...(json ? { response_format: { type: 'json_object', ...schema } } : {}),
        ...(maxOutputTokens !== undefined ? { max_tokens: maxOutputTokens } : {}),
        ...(temperature !== undefined ? { temperature } : {}),
        ...(stopSequences?.length ? { stop_sequences: stopSequences } : {}),
      },
    };
  },
  parseAnswer(body, { model }) {
    const response = ChatResponse.parse(body);
    const tokens = tokenUsage(response.usage?.tokens);
    // billed_units is what Cohere charges for (it leaves out the tokens of its own prompt template).
    const billed = tokenUsage(response.usage?.billed_units);
    const reason = response.finish_reason ?? 'COMPLETE';
    return {
      finish: { outcome: FINISH_OUTCOMES[reason] ?? 'complete', reason: `finish_reason ${reason}` },
      // Thinking parts (reasoning models) carry `thinking`, not `text`: only the answer's text parts count.
      text: (response.message.content ?? [])
        .filter((part) => part.type === 'text')
        .map((part) => part.text ?? '')
        .join(''),
      model,
      usage: tokens ?? billed,
      billed: tokens && billed ? billed : undefined,
    };
  },
};
