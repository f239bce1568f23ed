import type { FieldProblem, PipelineSummary, ResetRun, RunView, StartedRun } from '../src/contract/api';

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

const REQUEST_TIMEOUT_MS = 60_000;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** A JWT goes as a bearer token; anything else is an API key (whatever its prefix, e.g. the dev key). */
const credentials = (key: string): Record<string, string> => (JWT.test(key) ? { authorization: `Bearer ${key}` } : { 'x-api-key': key });

/** The Chorus REST API as the CLI uses it. */
export class ChorusApi {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  startRun(pipeline: string, input: unknown): Promise<StartedRun> {
    return this.request('POST', '/v1/workflows', { pipeline, input });
  }

  describeRun(workflowId: string): Promise<RunView> {
    return this.request('GET', `/v1/workflows/${encodeURIComponent(workflowId)}`);
  }

  /** Long-polls for the run to close; answers its current state when it has not within `waitSeconds`. */
  waitForRun(workflowId: string, waitSeconds: number): Promise<RunView> {
    return this.request('GET', `/v1/workflows/${encodeURIComponent(workflowId)}/result?waitSeconds=${waitSeconds}`);
  }

  /** `to` goes as given: the API answers 400 naming it when it is not a reset point. */
  resetRun(workflowId: string, body: { to?: string; eventId?: number; reason?: string }): Promise<ResetRun> {
    return this.request('POST', `/v1/workflows/${encodeURIComponent(workflowId)}/reset`, body);
  }

  listPipelines(): Promise<{ pipelines: PipelineSummary[] }> {
    return this.request('GET', '/v1/pipelines');
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { ...credentials(this.apiKey), accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new UnreachableError(`cannot reach the Chorus API at ${this.baseUrl} (${reason}); is it running? (CHORUS_API_URL)`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const answer = (parsed ?? {}) as { message?: unknown; errors?: FieldProblem[] };
      const message =
        typeof answer.message === 'string'
          ? answer.message
          : Array.isArray(answer.message)
            ? answer.message.join('; ')
            : text.slice(0, 200) || response.statusText;
      throw new ApiError(response.status, response.statusText, message, Array.isArray(answer.errors) ? answer.errors : []);
    }
    return parsed as T;
  }
}
