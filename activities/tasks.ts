import { ApplicationFailure } from '@temporalio/activity';
import Ajv from 'ajv';
import { FailureType } from '../src/pipeline/failures';
import type { LabelAnswer, StepTask } from '../src/pipeline/types';
import type { ResponseSchema } from './providers';

/** How a task is put to a model and how its answer is read. */
export interface TaskPlan {
  system: string;
  json: boolean;
  /** The answer's JSON Schema, for providers that hold answers to one natively. */
  responseSchema?: ResponseSchema;
  /** Structured data from the model's text; throws InvalidModelOutput when the text does not fit. */
  parse?: (text: string) => unknown;
}

export interface TaskOptions {
  labels?: string[];
  schema?: Record<string, unknown>;
}

const SENTIMENT_LABELS = ['positive', 'negative', 'neutral'];
const ajv = new Ajv({ allErrors: true, strict: false });

function invalidOutput(task: StepTask, reason: string): ApplicationFailure {
  // Retryable: models are not deterministic, the next answer may fit.
  return ApplicationFailure.create({ type: FailureType.InvalidModelOutput, message: `The ${task} answer does not fit: ${reason}` });
}

function parseJson(text: string, task: StepTask): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  try {
    return JSON.parse((fenced ? fenced[1] : text).trim());
  } catch {
    throw invalidOutput(task, 'the answer is not JSON');
  }
}

/**
 * Whether a schema fits OpenAI's strict structured outputs: every object lists its properties, all
 * of them required, and no others allowed. A schema that does not is still sent, without strict.
 */
export function isStrictSchema(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(isStrictSchema);
  if (typeof schema !== 'object' || schema === null) return true;
  const node = schema as Record<string, unknown>;
  if (node.type === 'object' || node.properties) {
    const properties = (node.properties ?? {}) as Record<string, unknown>;
    const required = Array.isArray(node.required) ? node.required : [];
    if (node.additionalProperties !== false || Object.keys(properties).some((key) => !required.includes(key))) return false;
  }
  return Object.values(node).every(isStrictSchema);
}

function labelSchema(labels: string[]): ResponseSchema {
  return {
    name: 'label_answer',
    schema: {
      type: 'object',
      properties: { label: { type: 'string', enum: labels }, score: { type: 'number' } },
      required: ['label', 'score'],
      additionalProperties: false,
    },
    strict: true,
  };
}

function labelTask(task: StepTask, labels: string[], instruction: string): TaskPlan {
  return {
    responseSchema: labelSchema(labels),
    system:
      `${instruction} Respond only with a JSON object {"label": <one of the allowed labels>, "score": <confidence from 0 to 1>}.\n` +
      `Allowed labels: ${JSON.stringify(labels)}`,
    json: true,
    parse: (text): LabelAnswer => {
      const answer = parseJson(text, task) as Partial<LabelAnswer> | null;
      if (typeof answer?.label !== 'string' || !labels.includes(answer.label)) throw invalidOutput(task, `label must be one of ${labels.join(', ')}`);
      if (typeof answer.score !== 'number' || answer.score < 0 || answer.score > 1) throw invalidOutput(task, 'score must be a number from 0 to 1');
      return { label: answer.label, score: answer.score };
    },
  };
}

/** The instructions and answer parser for a step's task. */
export function planTask(task: StepTask, { labels, schema }: TaskOptions): TaskPlan {
  switch (task) {
    case 'generate':
      return { system: 'You are a precise, helpful writer.', json: false };
    case 'summarize':
      return { system: 'You summarize texts faithfully and concisely, without adding facts.', json: false };
    case 'analyze-image':
      return { system: 'You describe and analyze images accurately, without guessing beyond what is visible.', json: false };
    case 'sentiment':
      return labelTask(task, SENTIMENT_LABELS, 'You judge the overall sentiment of a text.');
    case 'classify':
      return labelTask(task, labels ?? [], 'You classify the text into exactly one of the allowed labels.');
    case 'extract': {
      const validate = ajv.compile(schema ?? {});
      return {
        system: `You extract information from the text. Respond only with a JSON object that satisfies this JSON Schema: ${JSON.stringify(schema ?? {})}`,
        json: true,
        responseSchema: { name: 'extracted', schema: schema ?? {}, strict: isStrictSchema(schema ?? {}) },
        parse: (text) => {
          const value = parseJson(text, task);
          if (!validate(value)) throw invalidOutput(task, ajv.errorsText(validate.errors, { dataVar: 'answer' }));
          return value;
        },
      };
    }
  }
}
