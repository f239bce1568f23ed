import { status } from '@grpc/grpc-js';
import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { isGrpcServiceError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Request, Response } from 'express';
import type { FieldProblem, OpenAiError, Problem } from '../../src/contract/api';
import { PROBLEM_MEDIA_TYPE, problemTitle, problemType } from './problems';

// gRPC status codes Temporal answers with, mapped to what an HTTP client should see.
const GRPC_TO_HTTP: Partial<Record<status, { status: number; detail?: string }>> = {
  [status.DEADLINE_EXCEEDED]: { status: HttpStatus.SERVICE_UNAVAILABLE, detail: 'Temporal did not answer in time' },
  [status.NOT_FOUND]: { status: HttpStatus.NOT_FOUND },
  [status.ALREADY_EXISTS]: { status: HttpStatus.CONFLICT },
  [status.FAILED_PRECONDITION]: { status: HttpStatus.CONFLICT },
  [status.UNAVAILABLE]: { status: HttpStatus.SERVICE_UNAVAILABLE, detail: 'Temporal is unavailable' },
  // Temporal's rate limits and overload protection (the dev server refused reads this way during a mass termination).
  [status.RESOURCE_EXHAUSTED]: { status: HttpStatus.SERVICE_UNAVAILABLE, detail: 'Temporal is overloaded; retry shortly' },
};

/** The challenges a 401 names: an API key header, or a bearer token (JWT or API key). */
export const WWW_AUTHENTICATE = 'Bearer realm="chorus", ApiKey realm="chorus", header="x-api-key"';

/** The gRPC status code of a Temporal client error, however the SDK wrapped it. */
export function grpcCode(error: unknown): number | undefined {
  if (isGrpcServiceError(error)) return error.code;
  if (error instanceof ServiceError && isGrpcServiceError(error.cause)) return error.cause.code;
  return undefined;
}

/** The methods each documented path takes: what a 405's Allow lists. */
export interface RouteTable {
  allowedMethods(path: string): string[] | undefined;
}

/** A route table from OpenAPI paths (`/v1/workflows/{id}`): each template becomes a pattern of one path segment per parameter. */
export function routeTableOf(paths: Record<string, object>): RouteTable {
  const routes = Object.entries(paths).map(([template, operations]) => ({
    pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^/}]+\}/g, '[^/]+')}/?$`),
    methods: Object.keys(operations)
      .filter((method) => ['get', 'put', 'post', 'delete', 'patch'].includes(method))
      .map((method) => method.toUpperCase()),
  }));
  return { allowedMethods: (path) => routes.find(({ pattern }) => pattern.test(path))?.methods };
}

interface Answer {
  status: number;
  detail: string;
  errors?: FieldProblem[];
  headers?: Record<string, string>;
  /** A machine-readable code (the OpenAI wire's `code`, e.g. model_not_found). */
  code?: string;
}

/** The operations that speak OpenAI's wire answer its error body, whatever refused the request (body parser, guard, route). */
export const isOpenAiWire = (path: string) => path.startsWith('/v1/chat/') || path === '/v1/models' || path.startsWith('/v1/models/');

/** OpenAI's error `type` by status, as its API reference and SDKs name them. */
export function openAiErrorType(status: number): string {
  if (status === HttpStatus.UNAUTHORIZED) return 'authentication_error';
  if (status === HttpStatus.FORBIDDEN) return 'permission_error';
  if (status === HttpStatus.TOO_MANY_REQUESTS) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/** `{error: {message, type, param, code}}`: the first rejected field is `param`, and the message names every one. */
function openAiErrorOf({ status, detail, errors, code }: Answer): OpenAiError {
  const message = errors?.length ? errors.map((problem) => `${problem.field}: ${problem.reason}`).join('; ') : detail;
  return { error: { message, type: openAiErrorType(status), param: errors?.[0]?.field ?? null, code: code ?? null } };
}

/** body-parser's errors (malformed JSON, a body over the cap) carry their HTTP status and a type. */
interface BodyParserError {
  type: string;
  status: number;
  message: string;
}
const isBodyParserError = (error: unknown): error is BodyParserError =>
  error instanceof Error && typeof (error as Partial<BodyParserError>).type === 'string' && typeof (error as Partial<BodyParserError>).status === 'number';

const detailOf = (body: unknown, fallback: string): string => {
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return fallback;
};

/**
 * Every error of every route as an RFC 9457 problem details document, in one place: HTTP
 * exceptions, malformed bodies, Temporal errors (not found → 404, already started → 409,
 * unreachable or overloaded → 503), unknown routes, and methods a known path does not take (405 with Allow).
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemFilter.name);

  constructor(private readonly routes: RouteTable) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<Request>();
    const response = context.getResponse<Response>();
    // A stream that has begun (server-sent events) can only end.
    if (response.headersSent) {
      response.end();
      return;
    }
    const answer = this.answerOf(error, request);
    if (answer.status === HttpStatus.UNAUTHORIZED) response.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
    for (const [name, value] of Object.entries(answer.headers ?? {})) response.setHeader(name, value);
    if (isOpenAiWire(request.path)) {
      response.status(answer.status).json(openAiErrorOf(answer));
      return;
    }
    const problem: Problem = {
      type: problemType(answer.status),
      title: problemTitle(answer.status),
      status: answer.status,
      detail: answer.detail,
      instance: request.path,
      ...(answer.errors?.length ? { errors: answer.errors } : {}),
      message: answer.detail,
    };
    response.status(answer.status).type(PROBLEM_MEDIA_TYPE).send(JSON.stringify(problem));
  }

  private answerOf(error: unknown, request: Request): Answer {
    if (error instanceof HttpException) {
      const body = error.getResponse();
      const status = error.getStatus();
      // Nest's router answers 404 for a path no route has; a documented path with another method is a 405.
      if (status === HttpStatus.NOT_FOUND && !request.route) {
        const allowed = this.routes.allowedMethods(request.path);
        if (allowed?.length) {
          return {
            status: HttpStatus.METHOD_NOT_ALLOWED,
            detail: `${request.method} is not allowed on ${request.path}; use ${allowed.join(', ')}`,
            headers: { Allow: allowed.join(', ') },
          };
        }
      }
      const errors = (body as { errors?: FieldProblem[] } | null)?.errors;
      const detail = detailOf(body, error.message);
      // Nest turns body-parser's SyntaxError (malformed JSON) and a path's bad percent-encoding into a bare 400 before routing.
      if (status === HttpStatus.BAD_REQUEST && !errors && !request.route) {
        const field = detail.startsWith('Failed to decode param') ? 'path' : 'body';
        const reason = field === 'body' ? `is not valid JSON: ${detail}` : `is not valid percent-encoding: ${detail}`;
        return { status, detail: `${field} ${reason}`, errors: [{ field, reason }] };
      }
      const code = (body as { code?: unknown } | null)?.code;
      return { status, detail, ...(Array.isArray(errors) ? { errors } : {}), ...(typeof code === 'string' ? { code } : {}) };
    }
    // body-parser's other refusals (a body over the cap, an unsupported charset) carry their 4xx status.
    if (isBodyParserError(error) && error.status >= 400 && error.status < 500) {
      return { status: error.status, detail: `body: ${error.message}`, errors: [{ field: 'body', reason: error.message }] };
    }
    if (error instanceof WorkflowNotFoundError) return { status: HttpStatus.NOT_FOUND, detail: 'No workflow run with this ID' };
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      return { status: HttpStatus.CONFLICT, detail: `Workflow ${error.workflowId} is already running` };
    const code = grpcCode(error);
    const mapped = code === undefined ? undefined : GRPC_TO_HTTP[code as status];
    if (mapped) return { status: mapped.status, detail: mapped.detail ?? (error as Error).message };
    // The client gets no internals; the operator gets the cause (e.g. a search attribute missing on a cluster).
    this.logger.error(`Request failed: ${(error as Error)?.stack ?? String(error)}`);
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, detail: code === undefined ? 'The request failed' : 'Temporal request failed' };
  }
}
