import { EXIT_USAGE } from '../src/process/command-line';

/** What `chorus` exits with; the README's CLI section lists the same table. */
export const ExitCode = {
  /** The command did what it was asked (for `run --wait`, `watch` and `result`: the run COMPLETED). */
  Ok: 0,
  /** The run ended otherwise: FAILED, CANCELLED, TERMINATED, TIMED_OUT. */
  RunNotCompleted: 1,
  /** The command line is wrong, or a file it names cannot be read. */
  Usage: EXIT_USAGE,
  /** No credentials, or the API refused them (401) or their scope (403). */
  Auth: 3,
  /** No such run, schedule or pipeline (404). */
  NotFound: 4,
  /** The API could not answer now: unreachable, timed out, rate limited (429) or failing (5xx). Try again. */
  Unavailable: 5,
  /** The API rejected the request: invalid input (400, with each field), a conflict (409), too large (413). */
  Rejected: 6,
  /** Anything else: a defect of chorus itself (the stack trace goes to stderr). */
  Internal: 70,
} as const;

/** The exit code of an HTTP error status. */
export function exitCodeOfStatus(status: number): number {
  if (status === 401 || status === 403) return ExitCode.Auth;
  if (status === 404) return ExitCode.NotFound;
  if (status === 429 || status >= 500) return ExitCode.Unavailable;
  return ExitCode.Rejected;
}
