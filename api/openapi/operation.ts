import { applyDecorators, HttpCode, type Type } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiProduces, ApiResponse } from '@nestjs/swagger';
import type { Scope } from '../../src/config/auth';
import { RequireScopes } from '../auth/principal';
import { PROBLEM_MEDIA_TYPE, PROBLEMS, type ProblemStatus } from '../errors/problems';

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A success answer of an operation: its schema by component name, or a media type of its own (the event stream). */
export interface Answer {
  description: string;
  schema?: string;
  /** The body's media type; defaults to application/json. */
  mediaType?: string;
  /** A 202's Location: where the run's status is read. */
  location?: boolean;
  example?: unknown;
  /** A schema given inline (the event stream's events). */
  inlineSchema?: Record<string, unknown>;
  /** Headers of the answer besides Location. */
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
  /** The same answer in other media types (a chat completion as JSON, or streamed). */
  alternatives?: Omit<Answer, 'description' | 'location' | 'alternatives' | 'headers'>[];
}

type Body = Omit<Answer, 'description' | 'location' | 'alternatives' | 'headers'>;
const contentOf = (body: Body) => ({
  [body.mediaType ?? 'application/json']: {
    schema: body.schema ? schemaRef(body.schema) : (body.inlineSchema ?? { type: 'string' }),
    ...(body.example === undefined ? {} : { example: body.example }),
  },
});

export interface OperationContract {
  /** The operation's ID in the document: what generated clients name the method. */
  id: string;
  summary: string;
  description?: string;
  /** The scope the route needs: documented, and required of the caller (RequireScopes). */
  scope?: Scope;
  /** A body whose every field is optional, so the body itself is too. */
  optionalBody?: Type<unknown>;
  /** A route with one success status answers with it (HttpCode); one with several sets it itself. */
  answers: Partial<Record<200 | 201 | 202 | 204, Answer>>;
  /** The error statuses this operation can answer besides those every authenticated route can (401, 403, 429). */
  problems?: ProblemStatus[];
  /** True for routes that need no credentials (health). */
  public?: boolean;
  /** The error body: RFC 9457 problem details, or OpenAI's `{error}` (the OpenAI-compatible operations). @default 'problem' */
  errorBody?: 'problem' | 'openai';
}

const LOCATION_HEADER = { Location: { description: 'Where the run (or the schedule) is read', schema: { type: 'string' } } };
const RATE_LIMIT_HEADERS = {
  'Retry-After': { description: 'Seconds until the next request is allowed', schema: { type: 'integer' } },
  'RateLimit-Limit': { description: 'Requests allowed per minute', schema: { type: 'integer' } },
};
const AUTHENTICATE_HEADER = { 'WWW-Authenticate': { description: 'The credentials the API accepts', schema: { type: 'string' } } };

const ERROR_BODIES = {
  problem: { mediaType: PROBLEM_MEDIA_TYPE, schema: 'Problem' },
  openai: { mediaType: 'application/json', schema: 'OpenAiError' },
} as const;

function problemResponse(status: ProblemStatus, body: keyof typeof ERROR_BODIES) {
  const { title, description } = PROBLEMS[status];
  const headers = status === 429 ? RATE_LIMIT_HEADERS : status === 401 ? AUTHENTICATE_HEADER : undefined;
  return ApiResponse({
    status,
    description: `${title}: ${description}`,
    content: { [ERROR_BODIES[body].mediaType]: { schema: schemaRef(ERROR_BODIES[body].schema) } },
    ...(headers ? { headers } : {}),
  });
}

/**
 * Declares one operation completely: its ID, every answer it gives with its schema, and every
 * problem; and applies what the contract states: the scope required, the success status, an optional body.
 */
export function Operation(contract: OperationContract): MethodDecorator {
  const problems = new Set<ProblemStatus>(contract.public ? [] : [401, 403, 429]);
  for (const status of contract.problems ?? []) problems.add(status);
  const scopeNote = contract.scope ? `Needs the scope \`${contract.scope}\`.` : undefined;
  const description = [contract.description, scopeNote].filter(Boolean).join('\n\n') || undefined;
  const answers = Object.entries(contract.answers).map(([status, answer]) =>
    ApiResponse({
      status: Number(status),
      description: answer.description,
      ...(answer.location || answer.headers ? { headers: { ...(answer.location ? LOCATION_HEADER : {}), ...answer.headers } as typeof LOCATION_HEADER } : {}),
      ...(answer.schema || answer.mediaType || answer.inlineSchema
        ? { content: Object.assign(contentOf(answer), ...(answer.alternatives ?? []).map(contentOf)) as ReturnType<typeof contentOf> }
        : {}),
    }),
  );
  const errorBody = contract.errorBody ?? 'problem';
  const mediaTypes = [
    ...new Set([
      ...Object.values(contract.answers).flatMap((answer) => [answer, ...(answer.alternatives ?? [])].map((body) => body.mediaType ?? 'application/json')),
      ERROR_BODIES[errorBody].mediaType,
    ]),
  ];
  const successStatuses = Object.keys(contract.answers).map(Number);
  return applyDecorators(
    ...(contract.scope ? [RequireScopes(contract.scope)] : []),
    ...(successStatuses.length === 1 ? [HttpCode(successStatuses[0])] : []),
    ...(contract.optionalBody ? [ApiBody({ type: contract.optionalBody, required: false })] : []),
    ApiOperation({ operationId: contract.id, summary: contract.summary, ...(description ? { description } : {}) }),
    ApiProduces(...mediaTypes),
    ...answers,
    ...[...problems].sort().map((status) => problemResponse(status, errorBody)),
  );
}

/** A path parameter with the pattern the route checks (a value outside it is a 400 naming the parameter). */
export const PathId = (name: string, pattern: RegExp, description: string, example: string) =>
  ApiParam({ name, description, schema: { type: 'string', pattern: pattern.source }, example });
