import { applyDecorators, Param, ValidationPipe, type ArgumentMetadata, type PipeTransform, type ValidationError } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { registerDecorator, ValidateIf, type ValidationArguments } from 'class-validator';
import { WORKFLOW_ID_PATTERN } from '../src/contract/api';
import type { RunBudgetLimits } from '../src/pipeline/budget';
import { BudgetSchema } from '../src/pipeline/validate';
import { badRequest, type FieldProblem } from './errors/bad-request';

/** Workflow and schedule IDs are VARCHAR(255) in Temporal's SQL stores: no longer ID can name anything. */
const MAX_ID_CHARACTERS = 255;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why Temporal cannot store `text` as sent, or undefined: PostgreSQL text holds no NUL (the dev
 * server's SQLite does, so only a cluster would fail), and a lone surrogate has no UTF-8 form.
 */
export function temporalTextProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)';
  return undefined;
}

function problemsOf(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((reason) => ({ field, reason }));
    return [...own, ...problemsOf(error.children ?? [], field)];
  });
}

/** A request body's `budget` (a start request's cap, an approval's raised limits), checked like a definition's; a 400 names the field. */
export function budgetLimitsOf(budget: unknown): RunBudgetLimits {
  const parsed = BudgetSchema.safeParse(budget);
  if (!parsed.success) throw badRequest(parsed.error.issues.map((issue) => ({ field: ['budget', ...issue.path].join('.'), reason: issue.message })));
  return parsed.data;
}

/** Rejects unknown fields and wrong types with a 400 that names each field and why. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => badRequest(problemsOf(errors)),
  });
}

/** Every path parameter names a run, a schedule or a pipeline: one Temporal could never store is a 400, not a lookup. */
export class PathIdPipe implements PipeTransform {
  transform(value: unknown, { type, data }: ArgumentMetadata): unknown {
    if (type !== 'param' || typeof value !== 'string') return value;
    const reason = temporalTextProblem(value) ?? ([...value].length > MAX_ID_CHARACTERS ? `must be at most ${MAX_ID_CHARACTERS} characters` : undefined);
    if (reason) throw badRequest([{ field: data ?? 'path', reason }]);
    return value;
  }
}

/** A request text that Temporal stores as a string (a reason, a note, a comment): see temporalTextProblem. */
export function IsTemporalText(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isTemporalText',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || temporalTextProblem(value) === undefined,
        defaultMessage: ({ property, value }: ValidationArguments) => `${property} ${temporalTextProblem(value as string)}`,
      },
    });
}

/** A path parameter that must match `pattern`; anything else is a 400 naming the parameter, never a lookup. */
export class PatternPipe implements PipeTransform<string, string> {
  constructor(
    private readonly field: string,
    private readonly pattern: RegExp,
    private readonly reason: string,
  ) {}

  transform(value: string): string {
    if (!this.pattern.test(value)) throw badRequest([{ field: this.field, reason: this.reason }]);
    return value;
  }
}

/**
 * An optional field: absent is fine, but a JSON null is checked like any other value (and refused),
 * as the OpenAPI document says; class-validator's IsOptional would let null through.
 */
export const OptionalField = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header of the operations that start runs, documented once. */
export const IdempotencyKeyHeader = () =>
  applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description: 'Repeating a request with the same key (per API key) returns the first run (200) instead of starting another',
      schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
    }),
  );

/** The Idempotency-Key as sent, or a 400 naming it. */
export function checkedIdempotencyKey(key: string | undefined): string | undefined {
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) throw badRequest([{ field: 'Idempotency-Key', reason: 'must be 1-255 visible ASCII characters' }]);
  return key;
}

/** The `:id` of every route that names a run: a workflow ID Chorus could have made, else a 400 naming `id`. */
export const WorkflowId = () => Param('id', new PatternPipe('id', WORKFLOW_ID_PATTERN, 'must be at most 255 characters, without NUL'));
