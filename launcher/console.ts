import { prettyFactory } from 'pino-pretty';

/**
 * Fields a reader of the console does without: the `[name]` prefix says the process, and the
 * Temporal SDK's bookkeeping (task tokens, queue, namespace) only matters in collected logs.
 */
const CONSOLE_OMITS = [
  'pid',
  'hostname',
  'service',
  'identity',
  'requestId',
  'sdkComponent',
  'taskToken',
  'taskQueue',
  'namespace',
  'isLocal',
  'activityType',
  'workflowType',
  'runId',
];

/**
 * How `npm start` shows the log lines of the processes it runs. On a terminal, each pino JSON line
 * becomes one readable line (time, level, message, then the other fields); anything else passes
 * as it is. Elsewhere (a pipe, a file, CI) the JSON lines stay as they are, for log collectors.
 */
export function consoleLineFormat(stream: Pick<NodeJS.WriteStream, 'isTTY' | 'hasColors'> = process.stdout): (line: string) => string {
  if (!stream.isTTY) return (line) => line;
  const prettify = prettyFactory({ colorize: stream.hasColors(), singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: CONSOLE_OMITS.join(',') });
  return (line) => prettify(line).replace(/\r?\n$/, '');
}
