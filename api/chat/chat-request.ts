import { NotFoundException } from '@nestjs/common';
import type { z } from 'zod';
import { ChatCompletionRequestSchema, type ChatCompletionRequest, type ChatMessage } from '../../src/contract/api';
import type { FieldProblem } from '../../src/pipeline/validate';
import type { PipelineDefinition, ProviderStep, StepTask } from '../../src/pipeline/types';
import { badRequest } from '../errors/bad-request';
import { temporalTextProblem } from '../validation';

/** The definition a provider-model chat request runs: one step, this ID, named so. */
export const CHAT_PIPELINE = 'chat';
export const CHAT_STEP = 'answer';
export const PIPELINE_MODEL_PREFIX = 'pipeline/';

/** What a chat request's `model` names: a provider (and model, else the provider's default), or a named pipeline. */
export type ChatTarget = { kind: 'provider'; provider: string; model?: string } | { kind: 'pipeline'; name: string };

/** OpenAI request fields Chorus does not carry out: a 400 names them, rather than an answer that ignored them. */
const UNSUPPORTED_FIELDS = new Set([
  'tools',
  'tool_choice',
  'functions',
  'function_call',
  'parallel_tool_calls',
  'top_p',
  'frequency_penalty',
  'presence_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'seed',
  'audio',
  'modalities',
  'prediction',
  'reasoning_effort',
  'service_tier',
  'store',
  'metadata',
  'web_search_options',
]);

/** A zod path as the field names of a 400: `messages[0].content`. */
function fieldOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((field, key) => (typeof key === 'number' ? `${field}[${key}]` : field ? `${field}.${String(key)}` : String(key)), '') || 'body';
}

function problemsOf(issues: z.core.$ZodIssue[]): FieldProblem[] {
  return issues.flatMap((issue): FieldProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: fieldOf([...issue.path, key]),
        reason: issue.path.length === 0 && UNSUPPORTED_FIELDS.has(key) ? 'is not supported by Chorus' : 'is not a field of this request',
      }));
    }
    return [{ field: fieldOf(issue.path), reason: issue.message }];
  });
}

/** The request, checked: a 400 names every rejected field and why. */
export function parseChatRequest(body: unknown): ChatCompletionRequest {
  const parsed = ChatCompletionRequestSchema.safeParse(body);
  if (!parsed.success) throw badRequest(problemsOf(parsed.error.issues));
  const request = parsed.data;
  // Temporal stores the conversation in the run's history: text it cannot store is refused here.
  const problems = request.messages.flatMap((message, index) =>
    textsOf(message).flatMap(({ text, field }) => {
      const reason = temporalTextProblem(text);
      return reason ? [{ field: `messages[${index}].${field}`, reason }] : [];
    }),
  );
  if (problems.length) throw badRequest(problems);
  return request;
}

const textsOf = (message: ChatMessage) =>
  typeof message.content === 'string'
    ? [{ text: message.content, field: 'content' }]
    : message.content.map((part, index) => ({ text: part.text, field: `content[${index}].text` }));

const contentOf = (message: ChatMessage) => (typeof message.content === 'string' ? message.content : message.content.map((part) => part.text).join(''));

/** A 404 as OpenAI answers an unknown model: code model_not_found, param model. */
export function modelNotFound(model: string, reason = 'unknown model; GET /v1/models lists what can be called'): NotFoundException {
  return new NotFoundException({
    message: `The model "${model}" does not exist or you do not have access to it; GET /v1/models lists what can be called`,
    errors: [{ field: 'model', reason }],
    code: 'model_not_found',
  });
}

/** What this deployment may be asked for: its providers, the providers that list each model, its named pipelines. */
export interface ChatModels {
  providers: readonly string[];
  /** The providers whose catalog (or allow-list) has this model: what GET /v1/models lists as `<provider>/<model>`. */
  providersOf(model: string): readonly string[];
  pipelineExists(name: string): boolean;
}

/**
 * What `model` names; else a 404. A bare model name (`gpt-4o-mini`, what an OpenAI client sends
 * unchanged) runs on the one provider that lists it; a name two providers list must say which.
 */
export function resolveChatTarget(model: string, known: ChatModels): ChatTarget {
  if (model.startsWith(PIPELINE_MODEL_PREFIX)) {
    const name = model.slice(PIPELINE_MODEL_PREFIX.length);
    if (known.pipelineExists(name)) return { kind: 'pipeline', name };
    throw modelNotFound(model);
  }
  const slash = model.indexOf('/');
  if (slash < 0 && !known.providers.includes(model)) {
    const owners = known.providersOf(model);
    if (owners.length === 1) return { kind: 'provider', provider: owners[0], model };
    if (owners.length > 1) throw modelNotFound(model, `listed by ${owners.join(' and ')}: name it as <provider>/${model}`);
    throw modelNotFound(model);
  }
  const provider = slash < 0 ? model : model.slice(0, slash);
  const named = slash < 0 ? undefined : model.slice(slash + 1);
  if (!known.providers.includes(provider) || named === '') throw modelNotFound(model);
  return { kind: 'provider', provider, ...(named === undefined ? {} : { model: named }) };
}

/**
 * The conversation as the one prompt a Chorus step sends: a lone user message as it is; otherwise
 * the system and developer messages first, as instructions, then each turn with its speaker.
 */
export function promptOf(messages: readonly ChatMessage[]): string {
  if (messages.length === 1 && messages[0].role === 'user') return contentOf(messages[0]);
  const instructions = messages.filter((message) => message.role === 'system' || message.role === 'developer').map(contentOf);
  const turns = messages
    .filter((message) => message.role === 'user' || message.role === 'assistant')
    .map((message) => `${message.role === 'user' ? 'User' : 'Assistant'}: ${contentOf(message)}`);
  return [...(instructions.length ? [`Instructions:\n${instructions.join('\n\n')}`] : []), ...turns].join('\n\n');
}

/** The one-step definition a provider-model request runs: its sampling fields become the step's. */
export function chatPipelineOf(request: ChatCompletionRequest, target: Extract<ChatTarget, { kind: 'provider' }>): PipelineDefinition {
  const format = request.response_format ?? { type: 'text' as const };
  const task: StepTask = format.type === 'text' ? 'generate' : 'extract';
  const schema =
    format.type === 'json_schema' ? (format.json_schema.schema ?? { type: 'object' }) : format.type === 'json_object' ? { type: 'object' } : undefined;
  const maxOutputTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const stop = request.stop ?? undefined;
  const step: ProviderStep = {
    id: CHAT_STEP,
    provider: target.provider,
    ...(target.model ? { model: target.model } : {}),
    task,
    prompt: '{{input.prompt}}',
    ...(schema ? { schema } : {}),
    ...(request.temperature === null || request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(maxOutputTokens ? { maxOutputTokens } : {}),
    // OpenAI answers a cut text with finish_reason "length"; a cut JSON answer cannot be parsed and fails.
    ...(task === 'generate' ? { allowTruncated: true } : {}),
    ...(stop === undefined ? {} : { stopSequences: typeof stop === 'string' ? [stop] : stop }),
  };
  return { name: CHAT_PIPELINE, description: 'POST /v1/chat/completions', steps: [step] };
}

/** A named pipeline's steps set their own sampling: a request that sets it too is refused, not silently overridden. */
export function pipelineRequestProblems(request: ChatCompletionRequest): FieldProblem[] {
  const fields = ['temperature', 'max_tokens', 'max_completion_tokens', 'response_format', 'stop'] as const;
  return fields
    .filter((field) => request[field] !== undefined && request[field] !== null)
    .map((field) => ({ field, reason: "is set by the pipeline's definition when model is pipeline/<name>" }));
}

/** A definition problem as the chat request's field: the step's model is the request's `model`. */
export function chatFieldOf(problem: FieldProblem): FieldProblem {
  if (problem.field.startsWith('input.prompt')) return { field: 'messages', reason: problem.reason };
  if (/^\$\.steps\[0\]\.(model|provider)/.test(problem.field)) return { field: 'model', reason: problem.reason };
  if (problem.field.startsWith('input.'))
    return { field: 'model', reason: `the pipeline needs ${problem.field} (${problem.reason}); a chat request gives only input.prompt` };
  const sampling: Record<string, string> = {
    temperature: 'temperature',
    maxOutputTokens: 'max_completion_tokens',
    stopSequences: 'stop',
    schema: 'response_format',
  };
  const field = /^\$\.steps\[0\]\.([A-Za-z]+)/.exec(problem.field)?.[1];
  return { field: (field && sampling[field]) ?? problem.field, reason: problem.reason };
}

/** The request as it names its run, for the Idempotency-Key's hash: how it is delivered (stream) is not part of it. */
export function idempotentPartOf({ stream: _stream, stream_options: _options, user: _user, ...run }: ChatCompletionRequest): unknown {
  return { chat: run };
}
