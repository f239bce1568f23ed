import { createChorusClient, type ChorusClient, type components, type paths } from '../clients/typescript/src';
import type {
  BatchOutcome,
  FieldProblem,
  PipelineSummary,
  ResetRun,
  RunStatus,
  RunSummary,
  RunView,
  ScheduleDetails,
  ScheduleView,
  StartedRun,
} from '../src/contract/api';

/** An answer of the API that is not a success, with what the API said about it. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly statusText: string,
    message: string,
    readonly errors: FieldProblem[] = [],
  ) {
    super(message);
  }
}

/** The API could not be reached (refused, DNS, timeout): nothing was done. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

type JsonBody<Response> = Response extends { content: { 'application/json': infer Body } } ? Body : never;
/** The JSON body of an operation's success answers as the OpenAPI document declares it; never while it declares none. */
type DeclaredSuccess<Path extends keyof paths, Method extends keyof paths[Path]> = paths[Path][Method] extends { responses: infer Responses }
  ? { [Status in keyof Responses]: Status extends 200 | 201 | 202 ? JsonBody<Responses[Status]> : never }[keyof Responses]
  : never;
/**
 * What an operation answers: the generated client's type once the document declares the body (so a
 * contract change breaks this build), the shape of src/contract/api.ts until it does.
 */
export type Answer<Path extends keyof paths, Method extends keyof paths[Path], Contract> = [DeclaredSuccess<Path, Method>] extends [never]
  ? Contract
  : DeclaredSuccess<Path, Method>;

export interface RunFilters {
  pipeline?: string;
  status?: RunStatus;
  limit?: number;
}

export interface BatchFilters {
  pipeline?: string;
  errorType?: string;
  startedAfter?: string;
  startedBefore?: string;
  all?: boolean;
  dryRun?: boolean;
  limit?: number;
  /** A batch resets to a named point; only a single run's reset takes an event. */
  to?: Exclude<ResetTo, 'event'>;
}

export type ResetTo = 'failed-step' | 'first-workflow-task' | 'last-workflow-task' | 'event';
/** A definition read from a local file: its shape is the API's to check (a 400 names each problem). */
const asDefinition = (definition: Record<string, unknown>) => definition as unknown as components['schemas']['PipelineDefinition'];

export interface ScheduleRequest {
  id?: string;
  pipeline: string;
  input: Record<string, unknown>;
  cron?: string;
  every?: string;
  timezone?: string;
  paused?: boolean;
  note?: string;
}

const REQUEST_TIMEOUT_MS = 60_000;

/** What an error answer says: RFC 9457 problem details (`detail`), or Nest's `message`, plus the rejected fields. */
function apiError(response: Response, body: unknown): ApiError {
  const answer = (body && typeof body === 'object' ? body : {}) as { detail?: unknown; message?: unknown; title?: unknown; errors?: unknown };
  const said = [answer.detail, answer.message, answer.title].find((value) => typeof value === 'string' || Array.isArray(value));
  const message = Array.isArray(said)
    ? said.join('; ')
    : typeof said === 'string'
      ? said
      : typeof body === 'string' && body
        ? body.slice(0, 200)
        : response.statusText;
  return new ApiError(response.status, response.statusText, message, Array.isArray(answer.errors) ? (answer.errors as FieldProblem[]) : []);
}

/** The Chorus REST API as the CLI uses it: every call goes through the client generated from the OpenAPI document. */
export class ChorusApi {
  readonly client: ChorusClient;

  constructor(
    readonly baseUrl: string,
    apiKey: string,
  ) {
    this.client = createChorusClient({ baseUrl, apiKey });
  }

  startRun(
    request: { pipeline?: string; definition?: Record<string, unknown>; input: Record<string, unknown>; callbackUrl?: string },
    idempotencyKey?: string,
  ): Promise<Answer<'/v1/workflows', 'post', StartedRun>> {
    return this.body(
      this.client.POST('/v1/workflows', {
        body: { ...request, definition: request.definition && asDefinition(request.definition) },
        params: { header: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : undefined },
        ...this.timeout(),
      }),
    );
  }

  listRuns({ pipeline, status, limit }: RunFilters): Promise<Answer<'/v1/workflows', 'get', { workflows: RunSummary[] }>> {
    return this.body(this.client.GET('/v1/workflows', { params: { query: { pipeline, status, limit } }, ...this.timeout() }));
  }

  describeRun(id: string): Promise<Answer<'/v1/workflows/{id}', 'get', RunView>> {
    return this.body(this.client.GET('/v1/workflows/{id}', { params: { path: { id } }, ...this.timeout() }));
  }

  /** Long-polls for the run to close; answers its current state when it has not within `waitSeconds`. */
  waitForRun(id: string, waitSeconds: number): Promise<Answer<'/v1/workflows/{id}/result', 'get', RunView>> {
    return this.body(this.client.GET('/v1/workflows/{id}/result', { params: { path: { id }, query: { waitSeconds } }, ...this.timeout() }));
  }

  /** The run's Server-Sent Events stream, resumed after `lastEventId` when given. */
  async runEvents(id: string, lastEventId: string | undefined, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const stream = await this.body<ReadableStream<Uint8Array> | null>(
      this.client.GET('/v1/workflows/{id}/events', {
        params: { path: { id }, header: lastEventId ? { 'Last-Event-ID': lastEventId } : undefined },
        parseAs: 'stream',
        headers: { accept: 'text/event-stream' },
        signal,
      }),
    );
    if (!stream) throw new UnreachableError(`the event stream of ${id} had no body`);
    return stream;
  }

  cancelRun(id: string): Promise<Answer<'/v1/workflows/{id}/cancel', 'post', { workflowId: string; status: string }>> {
    return this.body(this.client.POST('/v1/workflows/{id}/cancel', { params: { path: { id } }, ...this.timeout() }));
  }

  terminateRun(id: string, reason?: string): Promise<Answer<'/v1/workflows/{id}/terminate', 'post', { workflowId: string; status: string }>> {
    return this.body(this.client.POST('/v1/workflows/{id}/terminate', { params: { path: { id } }, body: { reason }, ...this.timeout() }));
  }

  /** `to` goes as given: the API answers 400 naming it when it is not a reset point. */
  resetRun(id: string, body: { to?: ResetTo; eventId?: number; reason?: string }): Promise<Answer<'/v1/workflows/{id}/reset', 'post', ResetRun>> {
    return this.body(this.client.POST('/v1/workflows/{id}/reset', { params: { path: { id } }, body, ...this.timeout() }));
  }

  rerunRun(id: string): Promise<Answer<'/v1/workflows/{id}/rerun', 'post', StartedRun>> {
    return this.body(this.client.POST('/v1/workflows/{id}/rerun', { params: { path: { id } }, ...this.timeout() }));
  }

  approveRun(id: string, comment?: string): Promise<Answer<'/v1/workflows/{id}/approve', 'post', { workflowId: string; step: string; decision: string }>> {
    return this.body(this.client.POST('/v1/workflows/{id}/approve', { params: { path: { id } }, body: { comment }, ...this.timeout() }));
  }

  rejectRun(id: string, comment?: string): Promise<Answer<'/v1/workflows/{id}/reject', 'post', { workflowId: string; step: string; decision: string }>> {
    return this.body(this.client.POST('/v1/workflows/{id}/reject', { params: { path: { id } }, body: { comment }, ...this.timeout() }));
  }

  batchReset(filters: BatchFilters): Promise<Answer<'/v1/batch/reset', 'post', BatchOutcome>> {
    return this.body(this.client.POST('/v1/batch/reset', { body: filters, ...this.timeout() }));
  }

  batchRerun(filters: Omit<BatchFilters, 'to'>): Promise<Answer<'/v1/batch/rerun', 'post', BatchOutcome>> {
    return this.body(this.client.POST('/v1/batch/rerun', { body: filters, ...this.timeout() }));
  }

  createSchedule(request: ScheduleRequest): Promise<Answer<'/v1/schedules', 'post', ScheduleDetails>> {
    return this.body(this.client.POST('/v1/schedules', { body: request, ...this.timeout() }));
  }

  listSchedules(limit?: number): Promise<Answer<'/v1/schedules', 'get', { schedules: ScheduleView[] }>> {
    return this.body(this.client.GET('/v1/schedules', { params: { query: { limit } }, ...this.timeout() }));
  }

  describeSchedule(id: string): Promise<Answer<'/v1/schedules/{id}', 'get', ScheduleDetails>> {
    return this.body(this.client.GET('/v1/schedules/{id}', { params: { path: { id } }, ...this.timeout() }));
  }

  pauseSchedule(id: string, note?: string): Promise<Answer<'/v1/schedules/{id}/pause', 'post', ScheduleDetails>> {
    return this.body(this.client.POST('/v1/schedules/{id}/pause', { params: { path: { id } }, body: { note }, ...this.timeout() }));
  }

  resumeSchedule(id: string, note?: string): Promise<Answer<'/v1/schedules/{id}/resume', 'post', ScheduleDetails>> {
    return this.body(this.client.POST('/v1/schedules/{id}/resume', { params: { path: { id } }, body: { note }, ...this.timeout() }));
  }

  triggerSchedule(id: string): Promise<Answer<'/v1/schedules/{id}/trigger', 'post', { id: string; triggered: true }>> {
    return this.body(this.client.POST('/v1/schedules/{id}/trigger', { params: { path: { id } }, ...this.timeout() }));
  }

  async deleteSchedule(id: string): Promise<void> {
    await this.body(this.client.DELETE('/v1/schedules/{id}', { params: { path: { id } }, ...this.timeout() }));
  }

  listPipelines(): Promise<Answer<'/v1/pipelines', 'get', { pipelines: PipelineSummary[] }>> {
    return this.body(this.client.GET('/v1/pipelines', this.timeout()));
  }

  describePipeline(name: string): Promise<Answer<'/v1/pipelines/{name}', 'get', PipelineSummary & { definition: Record<string, unknown> }>> {
    return this.body(this.client.GET('/v1/pipelines/{name}', { params: { path: { name } }, ...this.timeout() }));
  }

  pipelineSchema(): Promise<Answer<'/v1/pipelines/schema', 'get', Record<string, unknown>>> {
    return this.body(this.client.GET('/v1/pipelines/schema', this.timeout()));
  }

  validatePipeline(definition: Record<string, unknown>): Promise<Answer<'/v1/pipelines/validate', 'post', PipelineSummary & { valid: true }>> {
    return this.body(this.client.POST('/v1/pipelines/validate', { body: asDefinition(definition), ...this.timeout() }));
  }

  readiness(): Promise<Answer<'/readyz', 'get', { status: string }>> {
    return this.body(this.client.GET('/readyz', this.timeout()));
  }

  private timeout() {
    return { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
  }

  /** The success body of a call; an error answer becomes an ApiError, a connection that failed an UnreachableError. */
  private async body<T>(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<T> {
    let answer: Awaited<typeof call>;
    try {
      answer = await call;
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new UnreachableError(`cannot reach the Chorus API at ${this.baseUrl} (${reason}); is it running? (CHORUS_API_URL)`);
    }
    if (!answer.response.ok) throw apiError(answer.response, answer.error);
    return answer.data as T;
  }
}
