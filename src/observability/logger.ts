import type { LogLevel as TemporalLogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/observability';
import { PROVIDER_CATALOG, WIRE_DEFAULTS } from '../pipeline/providers';

/** Every header a provider key travels in, from the catalog (configured instances reuse a wire kind's). */
const CREDENTIAL_HEADERS = [...new Set([...PROVIDER_CATALOG.map((entry) => entry.credential.header), ...Object.values(WIRE_DEFAULTS).map((wire) => wire.credential.header), 'api-key'])];
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
  ...['', '*.', '*.*.'].flatMap((nesting) => [...new Set(['authorization', 'x-api-key', ...CREDENTIAL_HEADERS])].map((header) => `${nesting}${headerPath(header)}`)),
  ...PROVIDER_CATALOG.map((entry) => entry.credential.variable),
  'TEMPORAL_API_KEY',
  'CHORUS_API_KEYS',
];

/** Structured JSON logs on stdout, one object a line. */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings }, redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' }, timestamp: pino.stdTimeFunctions.isoTime });
}

const LEVELS: Record<TemporalLogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/**
 * Temporal's Runtime logger on pino. The SDK attaches workflow or activity info to the lines of
 * workflow and activity code; they are renamed to the same fields everywhere: workflowId, runId,
 * step (the activity ID, which is the pipeline step) and attempt.
 */
export class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly logger: Logger) {}

  log(level: TemporalLogLevel, message: string, meta: LogMetadata = {}): void {
    const { workflowRunId, runId, activityId, attempt, ...rest } = meta as Record<string, unknown>;
    const fields: Record<string, unknown> = { ...rest };
    if (workflowRunId ?? runId) fields.runId = workflowRunId ?? runId;
    if (activityId !== undefined) fields.step = activityId;
    if (attempt !== undefined) fields.attempt = attempt;
    this.logger[LEVELS[level] ?? 'info'](fields, message);
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
