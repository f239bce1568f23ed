import { z } from 'zod';
import type { InlineImage } from '../images';
import { credentialHeader, type AnswerFinish, type ProviderAdapter } from './provider';

/** The API version Chorus's requests and answer schema follow; Anthropic requires the header. */
export const ANTHROPIC_VERSION = '2023-06-01';
/** max_tokens is required by the Messages API; this is what a step that sets no maxOutputTokens gets. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;
/** The tool a structured step forces: its input is the answer. */
export const ANSWER_TOOL = 'answer';

/** Anthropic Messages: POST {base}/v1/messages. The answer is a list of typed content blocks. */
const Message = z.object({
  model: z.string(),
  content: z.array(z.object({ type: z.string(), text: z.string().optional(), name: z.string().optional(), input: z.unknown().optional() })),
  stop_reason: z.string().nullish(),
  usage: z
    .object({
      input_tokens: z.number().nullish(),
      output_tokens: z.number(),
      output_tokens_details: z.object({ thinking_tokens: z.number().optional() }).nullish(),
    })
    .nullish(),
});

/** stop_reason → outcome (the SDK's StopReason). pause_turn belongs to server tools, which Chorus does not offer. */
const STOP_OUTCOMES: Record<string, AnswerFinish['outcome']> = {
  end_turn: 'complete',
  stop_sequence: 'complete',
  // The forced answer tool was called: that is the structured answer.
  tool_use: 'complete',
  max_tokens: 'truncated',
  // The conversation outgrew the model's context window mid-answer: cut like max_tokens.
  model_context_window_exceeded: 'truncated',
  refusal: 'blocked',
  pause_turn: 'failed',
};

function userContent(prompt: string, image?: InlineImage): string | unknown[] {
  if (!image) return prompt;
  return [
    { type: 'image', source: { type: 'base64', media_type: image.mimeType, data: image.base64 } },
    { type: 'text', text: prompt },
  ];
}

export const anthropicAdapter: ProviderAdapter = {
  wire: 'anthropic-messages',
  toHttpRequest({ model, system, prompt, responseSchema, image, maxOutputTokens, temperature, stopSequences }, endpoint) {
    // Structured output the Anthropic way: one tool whose input schema is the answer's, and the model made to call it.
    const tool =
      responseSchema && endpoint.capabilities.jsonSchema
        ? {
            tools: [{ name: ANSWER_TOOL, description: 'Give the answer in this structure.', input_schema: responseSchema.schema }],
            tool_choice: { type: 'tool', name: ANSWER_TOOL },
          }
        : {};
    return {
      url: `${endpoint.baseUrl}/v1/messages`,
      headers: { ...credentialHeader(endpoint), 'anthropic-version': ANTHROPIC_VERSION },
      body: {
        model,
        max_tokens: maxOutputTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
        system,
        messages: [{ role: 'user', content: userContent(prompt, image) }],
        ...tool,
        // Anthropic's range is 0 to 1; a step's 0 to 2 is capped rather than refused.
        ...(temperature !== undefined ? { temperature: Math.min(temperature, 1) } : {}),
        ...(stopSequences?.length ? { stop_sequences: stopSequences } : {}),
      },
    };
  },
  parseAnswer(body) {
    const message = Message.parse(body);
    const reason = message.stop_reason ?? 'end_turn';
    const thinkingTokens = message.usage?.output_tokens_details?.thinking_tokens;
    const toolAnswer = message.content.find((block) => block.type === 'tool_use' && block.name === ANSWER_TOOL);
    return {
      finish: { outcome: STOP_OUTCOMES[reason] ?? 'complete', reason: `stop_reason ${reason}` },
      // A forced tool call's input is the structured answer; otherwise only text blocks count (no thinking blocks).
      text: toolAnswer
        ? JSON.stringify(toolAnswer.input ?? {})
        : message.content
            .filter((block) => block.type === 'text')
            .map((block) => block.text ?? '')
            .join(''),
      model: message.model,
      // output_tokens already includes thinking; output_tokens_details says how much of it was.
      usage: message.usage
        ? { inputTokens: message.usage.input_tokens ?? 0, outputTokens: message.usage.output_tokens, ...(thinkingTokens ? { thinkingTokens } : {}) }
        : undefined,
    };
  },
};
