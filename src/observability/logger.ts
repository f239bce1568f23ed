import type { LogLevel as TemporalLogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/observability';
import { PROVIDER_CATALOG, WIRE_DEFAULTS } from '../pipeline/providers';

/** Every header a provider key travels in, from the catalog (configured instances reuse a wire kind's). */
const CREDENTIAL_HEADERS = [
  ...new Set([...PROVIDER_CATALOG.map((entry) => entry.credential.header), ...Object.values(WIRE_DEFAULTS).map((wire) => wire.credential.header), 'api-key']),
];
const headerPath = (header: string) => (/^[a-z]+$/.test(header) ? `headers.${header}` : `headers["${header}"]`);

/**
 * Secrets never reach a log line: provider keys (settings objects), API keys and authorization
 * headers (request logs, axios configs), whatever object they are nested in. Keys of configured
 * instances live in `endpoints.*.apiKey` like the built-in ones.
 */
export const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'endpoints.*.apiKey',
  '*.endpoints.*.apiKey',
  ...['', '*.', '*.*.'].flatMap((nesting) =>
    [...new Set(['authorization', 'x-api-key', ...CREDENTIAL_HEADERS])].map((header) => `${nesting}${headerPath(header)}`),
  ),
  ...PROVIDER_CATALOG.map((entry) => entry.credential.variable),
  'TEMPORAL_API_KEY',
  'CHORUS_API_KEYS',
];

/** Structured JSON logs on stdout, one object a line. */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...bindings },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

const LEVELS: Record<TemporalLogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * What the SDK's Worker warns about the topology Chorus chose on purpose: provider queues are
 * served by activity-only Workers. The SDK has no option to declare a Worker activity-only, so it
 * warns about each one at every start.
 */
export const EXPECTED_WORKER_NOTICES: ReadonlySet<string> = new Set(['No workflows registered, not polling for workflow tasks']);

/**
 * The level a Temporal SDK line is logged at. The Worker's info lines are its lifecycle narrative
 * (each state change, "No Nexus services registered"): debug, like the expected notices; its
 * failures keep their level.
 */
function chorusLevelOf(level: TemporalLogLevel, message: string, sdkComponent: unknown): (typeof LEVELS)[TemporalLogLevel] {
  const lifecycle = sdkComponent === 'worker' && (level === 'INFO' || EXPECTED_WORKER_NOTICES.has(message));
  return lifecycle ? 'debug' : (LEVELS[level] ?? 'info');
}

/**
 * Temporal's Runtime logger on pino. The SDK attaches workflow or activity info to the lines of
 * workflow and activity code; they are renamed to the same fields everywhere: workflowId, runId,
 * step (the activity ID, which is the pipeline step) and attempt. The Worker's lifecycle lines
 * are debug: the Chorus worker logs its own start, drain and stop.
 */
export class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly logger: Logger) {}

  log(level: TemporalLogLevel, message: string, meta: LogMetadata = {}): void {
    const { workflowRunId, runId, activityId, attempt, ...rest } = meta as Record<string, unknown>;
    const fields: Record<string, unknown> = { ...rest };
    if (workflowRunId ?? runId) fields.runId = workflowRunId ?? runId;
    if (activityId !== undefined) fields.step = activityId;
    if (attempt !== undefined) fields.attempt = attempt;
    this.logger[chorusLevelOf(level, message, rest.sdkComponent)](fields, message);
  }
  trace(message: string, meta?: LogMetadata) {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata) {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata) {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata) {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata) {
    this.log('ERROR', message, meta);
  }
}

const SEVERITY: Record<TemporalLogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

/**
 * A Temporal logger that passes on only `minimum` and above: for SDK parts whose info is a report
 * for their own developers, such as the workflow bundler's webpack statistics.
 */
export function temporalLoggerAtLeast(minimum: TemporalLogLevel, logger: TemporalLogger): TemporalLogger {
  const log = (level: TemporalLogLevel, message: string, meta?: LogMetadata) => {
    if (SEVERITY[level] >= SEVERITY[minimum]) logger.log(level, message, meta);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
