/** RFC 9457 problem details: the one shape of every error the API answers. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** Each error status the API answers, with the problem type and title it always carries. */
export const PROBLEMS = {
  400: {
    kind: 'invalid-request',
    title: 'Invalid request',
    description: 'a field, parameter, header or the JSON body is invalid; `errors` names each one and why',
  },
  401: { kind: 'unauthenticated', title: 'Unauthenticated', description: 'no valid API key or bearer token' },
  403: { kind: 'missing-scope', title: 'Forbidden', description: 'the credentials lack the scope this operation needs' },
  404: { kind: 'not-found', title: 'Not found', description: "no such resource in the caller's tenant" },
  405: { kind: 'method-not-allowed', title: 'Method not allowed', description: 'the path does not take this method; `Allow` lists those it takes' },
  409: { kind: 'conflict', title: 'Conflict', description: 'the resource is not in a state that allows this' },
  413: { kind: 'payload-too-large', title: 'Payload too large', description: 'the body or the run input is over its size limit' },
  429: { kind: 'rate-limited', title: 'Too many requests', description: 'the rate limit of the credentials is reached; retry after `Retry-After` seconds' },
  500: { kind: 'internal', title: 'Internal error', description: 'an unexpected failure; the details are in the API log' },
  502: { kind: 'run-failed', title: 'Bad gateway', description: "the run's provider calls failed for good; the error names the failure type and the run" },
  503: {
    kind: 'unavailable',
    title: 'Service unavailable',
    description: 'Temporal (or, for usage, the spend ledger) is unreachable or did not answer in time',
  },
  504: { kind: 'still-running', title: 'Gateway timeout', description: 'the run did not close in time; it goes on, read it by its workflow ID' },
} as const;

export type ProblemStatus = keyof typeof PROBLEMS;

export const problemType = (status: number): string => `urn:chorus:problem:${PROBLEMS[status as ProblemStatus]?.kind ?? 'http-error'}`;
export const problemTitle = (status: number): string => PROBLEMS[status as ProblemStatus]?.title ?? 'Error';
