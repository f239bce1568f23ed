import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { FailureType } from '../src/pipeline/failures';
import type { StepTask } from '../src/pipeline/types';

/** How each task is put to a model and how its answer is read. */
interface TaskSpec {
  system: string;
  json: boolean;
  /** Structured data from the model's text; throws InvalidModelOutput when the text does not fit. */
  parse?: (text: string) => unknown;
}

const SentimentAnswer = z.object({
  label: z.enum(['positive', 'negative', 'neutral']),
  score: z.number().min(0).max(1),
});

function parseJsonAnswer<T>(text: string, schema: z.ZodType<T>, task: StepTask): T {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  let value: unknown;
  try {
    value = JSON.parse((fenced ? fenced[1] : text).trim());
  } catch {
    throw invalidOutput(task, 'the answer is not JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidOutput(task, parsed.error.issues.map((issue) => `${issue.path.join('.') || 'answer'}: ${issue.message}`).join('; '));
  return parsed.data;
}

function invalidOutput(task: StepTask, reason: string): ApplicationFailure {
  // Retryable: models are not deterministic, the next answer may fit.
  return ApplicationFailure.create({ type: FailureType.InvalidModelOutput, message: `The ${task} answer does not fit its schema: ${reason}` });
}

export const TASKS: Record<StepTask, TaskSpec> = {
  generate: { system: 'You are a precise, helpful writer.', json: false },
  summarize: { system: 'You summarize texts faithfully and concisely, without adding facts.', json: false },
  sentiment: {
    system:
      'You judge the overall sentiment of a text. Respond only with a JSON object: ' +
      '{"label": "positive" | "negative" | "neutral", "score": confidence between 0 and 1}.',
    json: true,
    parse: (text) => parseJsonAnswer(text, SentimentAnswer, 'sentiment'),
  },
};
