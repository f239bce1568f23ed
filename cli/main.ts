#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { createApiKey, SCOPES, type Scope } from '../src/config/auth';
import { loadCliSettings, DEFAULT_CLI_CONFIG_PATH } from '../src/config/cli';
import { ConfigError } from '../src/config/env';
import { RESET_POINTS, RUN_STATUSES, type RunStatus, type RunView } from '../src/contract/api';
import { commandLine } from '../src/process/command-line';
import { ApiError, ChorusApi, UnreachableError, type BatchFilters, type ResetTo } from './api-client';
import { readEvents } from './event-stream';
import { ExitCode, exitCodeOfStatus } from './exit-codes';
import { formatBatch, formatPipelines, formatRun, formatRunList, formatSchedule, formatSchedules, isClosed, runError, runTotals, stepChanges } from './format';

/** A wrong command line or an unreadable file: exit 2 with the reason. */
class UsageError extends Error {}
/** No credentials anywhere: exit 3. */
class MissingCredentialsError extends Error {}

const LONG_POLL_SECONDS = 25;
/** Watch reconnects through this many failed connections in a row (an API restart), then gives up. */
const WATCH_TOLERATED_FAILURES = 5;
const RECONNECT_DELAY_MS = 1000;

interface GlobalOptions {
  apiUrl?: string;
  apiKey?: string;
  json?: boolean;
}

let globals: GlobalOptions = {};

function api(): ChorusApi {
  const settings = loadCliSettings(undefined, { apiUrl: globals.apiUrl, apiKey: globals.apiKey });
  if (!settings.apiKey) {
    throw new MissingCredentialsError(
      `no API key: pass --api-key, set CHORUS_API_KEY or put "apiKey" in ${DEFAULT_CLI_CONFIG_PATH} (under \`npm start\` the dev key is chorus-dev-key-change-me)`,
    );
  }
  return new ChorusApi(settings.apiUrl, settings.apiKey);
}

/** A JSON or YAML file (or stdin for "-") holding an object. */
function readObjectFile(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(error as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${what} ${path} must hold an object, such as {"prompt": "…"}`);
  return value as Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const clock = () => new Date().toISOString().slice(11, 19);
const printJson = (value: unknown) => console.log(JSON.stringify(value, null, 2));
/** `--json` prints the API's answer as it came; otherwise the human form. */
const show = <T>(value: T, human: (value: T) => string) => console.log(globals.json ? JSON.stringify(value, null, 2) : human(value));

/** Prints how a closed run ended (to stderr for failures) and answers the exit code. */
function settle(run: RunView): number {
  if (run.status === 'COMPLETED') return ExitCode.Ok;
  console.error(`chorus: run ${run.workflowId} ended ${run.status}${runError(run) ? `: ${runError(run)}` : ''}`);
  return ExitCode.RunNotCompleted;
}

async function waitUntilClosed(client: ChorusApi, workflowId: string): Promise<RunView> {
  for (;;) {
    const run = await client.waitForRun(workflowId, LONG_POLL_SECONDS);
    if (isClosed(run)) return run;
  }
}

const transient = (error: unknown) =>
  error instanceof UnreachableError || (error instanceof ApiError && exitCodeOfStatus(error.status) === ExitCode.Unavailable);

/**
 * Follows a run over its event stream: each event (and, between events, every `idleMs`, for states no
 * history event marks, such as an approval that waits) refreshes the run and prints what changed. A
 * stream that breaks is resumed with Last-Event-ID, so nothing is missed or repeated.
 */
async function watch(client: ChorusApi, workflowId: string, idleMs: number): Promise<number> {
  const seen = new Map<string, string>();
  const print = (run: RunView) => {
    for (const line of stepChanges(run, seen)) (globals.json ? () => undefined : console.log)(`${clock()}  ${line}`);
  };
  const finish = (run: RunView) => {
    print(run);
    if (globals.json) printJson(run);
    else console.log(`${clock()}  ${run.status}${runTotals(run)}`);
    return settle(run);
  };
  const first = await client.describeRun(workflowId);
  if (!globals.json) console.log(`${clock()}  watching ${first.workflowId} (pipeline ${first.pipeline ?? '-'}, run ${first.runId})`);
  print(first);
  if (isClosed(first)) return finish(first);

  let lastEventId: string | undefined;
  let failures = 0;
  for (;;) {
    const abort = new AbortController();
    // Refreshes run one after another, whether an event or the idle timer asked.
    let refreshing: Promise<void> = Promise.resolve();
    let lastRefresh = Date.now();
    const refresh = () => {
      lastRefresh = Date.now();
      refreshing = refreshing.then(async () => print(await client.describeRun(workflowId))).catch(() => undefined);
      return refreshing;
    };
    const idle = setInterval(() => Date.now() - lastRefresh >= idleMs && void refresh(), Math.max(100, idleMs / 2));
    let streaming = false;
    try {
      const stream = await client.runEvents(workflowId, lastEventId, abort.signal);
      streaming = true;
      failures = 0;
      for await (const event of readEvents(stream)) {
        if (event.id) lastEventId = event.id;
        if (event.event === 'run') {
          await refreshing;
          return finish(JSON.parse(event.data) as RunView);
        }
        if (event.event === 'step') await refresh();
        // The API lost its view of the history: reconnect and resume.
        if (event.event === 'error') break;
      }
    } catch (error) {
      // A stream that breaks midway (a proxy, an API restart) is resumed like one that could not be opened.
      if (!(streaming || transient(error)) || ++failures > WATCH_TOLERATED_FAILURES) throw error;
      console.error(`chorus: ${streaming ? 'the event stream broke' : (error as Error).message}; reconnecting`);
    } finally {
      clearInterval(idle);
      abort.abort();
    }
    await sleep(RECONNECT_DELAY_MS);
  }
}

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('must be a positive number');
  return number;
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError('must be a positive integer');
  return number;
}

function isoTime(value: string): string {
  if (Number.isNaN(Date.parse(value))) throw new InvalidArgumentError('must be an ISO 8601 time, such as 2026-11-28T00:00:00Z');
  return value;
}

/** The exit code the command's action answered. */
let exitCode: number = ExitCode.Ok;
/** Wraps an action: reads the global options first, records the exit code it answers. */
const action =
  <Args extends unknown[]>(run: (...args: Args) => Promise<number | void>) =>
  async (...args: Args) => {
    const command = args.at(-1) as Command;
    globals = command.optsWithGlobals<GlobalOptions>();
    try {
      exitCode = (await run(...args)) ?? ExitCode.Ok;
    } catch (error) {
      // Like commander's own errors: the reason, the command's usage, exit 2.
      if (error instanceof UsageError) command.error(`error: ${error.message}`);
      throw error;
    }
  };

const program = commandLine(
  'chorus',
  'Run and manage Chorus pipelines through the REST API. Credentials: --api-key, CHORUS_API_KEY or the config file (CHORUS_CONFIG, default ~/.config/chorus/config.json)',
)
  .option('--api-url <url>', 'the Chorus API (else CHORUS_API_URL, the config file, http://127.0.0.1:3000)')
  .option('--api-key <key>', 'an API key or JWT (else CHORUS_API_KEY, the config file)')
  .option('--json', "print the API's answer as JSON")
  .configureHelp({ showGlobalOptions: true });

/** A command that acts on one run, named by its workflow ID. */
const runCommand = (name: string, description: string) => program.command(name).description(description).argument('<id>', 'workflow ID');

/** Waits for the run to close, prints it (--json) or its output, and answers the exit code of how it closed. */
async function printOutcome(client: ChorusApi, workflowId: string): Promise<number> {
  const run = await waitUntilClosed(client, workflowId);
  if (globals.json) printJson(run);
  else if (run.result) printJson(run.result.output);
  return settle(run);
}

// ── runs ────────────────────────────────────────────────────────────────────────────────────────
program
  .command('run')
  .alias('start')
  .description('Start a run of a named pipeline (or of --definition); prints its workflow ID, or with --wait its output')
  .argument('[pipeline]', 'pipeline name (see `chorus pipelines`)')
  .requiredOption('-i, --input <file>', 'JSON (or .yaml) file with the input object ("-" reads stdin)')
  .option('-d, --definition <file>', 'an inline pipeline definition (JSON or YAML file) instead of a named pipeline')
  .option('--callback-url <url>', 'where the run POSTs its outcome (a Standard Webhooks delivery)')
  .option('--idempotency-key <key>', 'a repeat with the same key answers the first run instead of starting another')
  .option('-w, --wait', 'wait for the run to close and print its output (exit 1 when it did not complete)')
  .action(
    action(
      async (pipeline: string | undefined, options: { input: string; definition?: string; callbackUrl?: string; idempotencyKey?: string; wait?: boolean }) => {
        if (!pipeline === !options.definition) throw new UsageError('name a pipeline or pass --definition <file> (one of them)');
        const input = readObjectFile(options.input, '--input');
        const definition = options.definition ? readObjectFile(options.definition, '--definition') : undefined;
        const client = api();
        const started = await client.startRun({ pipeline, definition, input, callbackUrl: options.callbackUrl }, options.idempotencyKey);
        if (!options.wait) {
          if (globals.json) printJson(started);
          else {
            console.error(`Started ${started.workflowId}; follow it with: chorus watch ${started.workflowId}`);
            console.log(started.workflowId);
          }
          return ExitCode.Ok;
        }
        console.error(`Started ${started.workflowId}; waiting for it to finish…`);
        return printOutcome(client, started.workflowId);
      },
    ),
  );

runCommand('status', "A run's status, each step's state, its error or output").action(
  action(async (id: string) => show(await api().describeRun(id), formatRun)),
);

runCommand('watch', 'Follow a run live over its event stream: prints each step change until the run closes (exit 0 when it completed)')
  .option('--interval <seconds>', 'while no event comes, refresh the run this often (to show a waiting approval)', positiveNumber, 2)
  .action(action(async (id: string, options: { interval: number }) => watch(api(), id, options.interval * 1000)));

runCommand('result', 'Wait for a run to close and print its output (exit 1 when it did not complete)').action(action((id: string) => printOutcome(api(), id)));

program
  .command('list')
  .description('Recent runs, newest first')
  .option('--pipeline <name>', 'only runs of this pipeline')
  .addOption(new Option('--status <status>', 'only runs in this state').choices(RUN_STATUSES))
  .option('--limit <n>', 'how many (at most 100)', positiveInteger)
  .action(
    action(async (options: { pipeline?: string; status?: RunStatus; limit?: number }) => {
      show(await api().listRuns(options), ({ workflows }) => formatRunList(workflows));
    }),
  );

runCommand('cancel', 'Cancel a run: stops its in-flight provider calls; it ends CANCELLED').action(
  action(async (id: string) => show(await api().cancelRun(id), (answer) => `${answer.workflowId}: ${answer.status}`)),
);

runCommand('terminate', 'End a run at once (TERMINATED)')
  .option('--reason <text>', 'why; recorded in the run history')
  .action(
    action(async (id: string, options: { reason?: string }) =>
      show(await api().terminateRun(id, options.reason), (answer) => `${answer.workflowId}: ${answer.status}`),
    ),
  );

runCommand('reset', 'Reset a run: same workflow ID, a new run from a point of the old one (default: before the failed step)')
  .addOption(new Option('--to <point>', 'where the new run starts').choices(RESET_POINTS))
  .option('--event-id <n>', 'with --to event: a WorkflowTaskCompleted event ID', positiveInteger)
  .option('--reason <text>', 'why; recorded in the run history')
  .action(
    action(async (id: string, options: { to?: ResetTo; eventId?: number; reason?: string }) => {
      show(
        await api().resetRun(id, { to: options.to, eventId: options.eventId, reason: options.reason }),
        (reset) =>
          `Reset ${reset.workflowId} to ${reset.resetTo.point}${reset.resetTo.eventId ? ` (event ${reset.resetTo.eventId})` : ''}: new run ${reset.runId} (was ${reset.previousRunId})\nFollow it with: chorus watch ${reset.workflowId}`,
      );
    }),
  );

runCommand('rerun', 'Start a fresh run with the same definition and input; prints its workflow ID').action(
  action(async (id: string) => show(await api().rerunRun(id), (started) => started.workflowId)),
);

for (const decision of ['approve', 'reject'] as const) {
  runCommand(decision, `${decision === 'approve' ? 'Approve' : 'Reject'} the approval step the run waits at`)
    .option('--comment <text>', 'recorded with the decision; later steps can read it')
    .action(
      action(async (id: string, options: { comment?: string }) => {
        const client = api();
        const answer = decision === 'approve' ? await client.approveRun(id, options.comment) : await client.rejectRun(id, options.comment);
        show(answer, ({ workflowId, step }) => `${workflowId}: step ${step} ${decision === 'approve' ? 'approved' : 'rejected'}`);
      }),
    );
}

// ── batch ───────────────────────────────────────────────────────────────────────────────────────
const batch = program.command('batch').description('Reset or rerun every failed run that matches a filter');
for (const operation of ['reset', 'rerun'] as const) {
  const command = batch
    .command(operation)
    .description(`${operation === 'reset' ? 'Reset' : 'Rerun'} the failed runs matching the filters (or --all of them)`)
    .option('--pipeline <name>', 'runs of this pipeline')
    .option('--error-type <type>', 'runs that failed with this type, e.g. ProviderAuthFailed')
    .option('--started-after <time>', 'runs started after this time', isoTime)
    .option('--started-before <time>', 'runs started before this time', isoTime)
    .option('--all', 'every failed run of the tenant (when no filter is given)')
    .option('--dry-run', 'only list the runs that match')
    .option('--limit <n>', 'at most this many runs (at most 100)', positiveInteger);
  if (operation === 'reset') command.addOption(new Option('--to <point>', 'where each new run starts').choices(RESET_POINTS));
  command.action(
    action(async (options: BatchFilters) => {
      const client = api();
      show(operation === 'reset' ? await client.batchReset(options) : await client.batchRerun(options), formatBatch);
    }),
  );
}

// ── schedules ───────────────────────────────────────────────────────────────────────────────────
const schedules = program.command('schedules').description("The tenant's schedules: runs of a named pipeline on a cron expression or an interval");
/** A command that acts on one schedule, named by its ID. */
const scheduleCommand = (name: string, description: string) => schedules.command(name).description(description).argument('<id>', 'schedule ID');
schedules
  .command('create')
  .description('Create a schedule (give --cron or --every)')
  .argument('<id>', 'the schedule ID, unique per tenant')
  .requiredOption('--pipeline <name>', 'the named pipeline it runs')
  .requiredOption('-i, --input <file>', 'JSON (or .yaml) file with the input of every run ("-" reads stdin)')
  .option('--cron <expression>', 'five-field cron expression (or @hourly, @daily, …)')
  .option('--every <interval>', 'an interval: 30s, 15m, 6h, 1d')
  .option('--timezone <zone>', 'IANA time zone of --cron (default UTC)')
  .option('--paused', 'create it paused')
  .option('--note <text>', 'a note shown with its state')
  .action(
    action(
      async (id: string, options: { pipeline: string; input: string; cron?: string; every?: string; timezone?: string; paused?: boolean; note?: string }) => {
        const { input, ...rest } = options;
        show(await api().createSchedule({ id, ...rest, input: readObjectFile(input, '--input') }), formatSchedule);
      },
    ),
  );
schedules
  .command('list')
  .description("The tenant's schedules")
  .option('--limit <n>', 'how many', positiveInteger)
  .action(action(async (options: { limit?: number }) => show(await api().listSchedules(options.limit), (answer) => formatSchedules(answer.schedules))));
scheduleCommand('show', 'One schedule: its input, next times and recent runs').action(
  action(async (id: string) => show(await api().describeSchedule(id), formatSchedule)),
);
scheduleCommand('pause', 'Pause a schedule (trigger still starts a run)')
  .option('--note <text>', 'why')
  .action(action(async (id: string, options: { note?: string }) => show(await api().pauseSchedule(id, options.note), formatSchedule)));
scheduleCommand('resume', 'Resume a paused schedule')
  .alias('unpause')
  .option('--note <text>', 'why')
  .action(action(async (id: string, options: { note?: string }) => show(await api().resumeSchedule(id, options.note), formatSchedule)));
scheduleCommand('trigger', 'Start a run of the schedule now').action(
  action(async (id: string) => show(await api().triggerSchedule(id), (answer) => `${answer.id}: triggered`)),
);
scheduleCommand('delete', 'Delete a schedule (its runs keep going)').action(
  action(async (id: string) => {
    await api().deleteSchedule(id);
    show({ id, deleted: true }, () => `${id}: deleted`);
  }),
);

// ── pipelines ───────────────────────────────────────────────────────────────────────────────────
const pipelines = program.command('pipelines').description('The named pipelines; validate a definition file');
pipelines
  .command('list', { isDefault: true })
  .description('The named pipelines and the input each needs')
  .action(action(async () => show(await api().listPipelines(), (answer) => formatPipelines(answer.pipelines))));
pipelines
  .command('show')
  .description('One named pipeline with its definition')
  .argument('<name>', 'pipeline name')
  .action(action(async (name: string) => show(await api().describePipeline(name), (pipeline) => JSON.stringify(pipeline.definition, null, 2))));
pipelines
  .command('validate')
  .description('Check a local definition file (JSON or YAML) against the API: exit 0 when valid, 6 listing each problem')
  .argument('<file>', 'the definition file')
  .action(
    action(async (file: string) => {
      const answer = await api().validatePipeline(readObjectFile(file, 'definition'));
      show(answer, (valid) => `${file}: valid (pipeline ${valid.name}, input: ${valid.requiredInput.join(', ') || '-'})`);
    }),
  );
pipelines
  .command('schema')
  .description("The JSON Schema of the definition format, with this deployment's providers")
  .action(action(async () => printJson(await api().pipelineSchema())));

// ── keys, health ────────────────────────────────────────────────────────────────────────────────
const keys = program.command('keys').description('API keys (made here; the API reads their digests from CHORUS_API_KEYS)');
keys
  .command('create')
  .description('Create an API key: prints the key once and the CHORUS_API_KEYS entry (its digest) to configure')
  .requiredOption('--id <name>', 'non-secret name of the key, shown in logs and used for its rate limit')
  .requiredOption('--tenant <tenant>', 'the tenant whose runs the key sees')
  .option('--scopes <list>', `comma-separated, of ${SCOPES.join(', ')}`, 'workflows:start,workflows:read')
  .action(
    action(async (options: { id: string; tenant: string; scopes: string }) => {
      const scopes = options.scopes.split(',').map((scope) => scope.trim());
      const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
      if (unknown.length) throw new UsageError(`unknown scopes: ${unknown.join(', ')} (known: ${SCOPES.join(', ')})`);
      const created = createApiKey(options.id, options.tenant, scopes as Scope[]);
      show(created, ({ apiKey, entry }) => `API key (shown once):\n  ${apiKey}\nCHORUS_API_KEYS entry:\n  ${JSON.stringify(entry)}`);
    }),
  );

program
  .command('health')
  .description('Whether the API is ready (it reaches Temporal); exit 5 when it is not')
  .action(action(async () => show(await api().readiness(), (answer) => `ready: ${answer.status}`)));

/** Prints what went wrong as the API said it, and answers the exit code. */
function report(error: unknown): number {
  if (error instanceof ApiError) {
    console.error(`chorus: ${error.status} ${error.statusText}: ${error.errors.length ? 'the API rejected the request' : error.message}`);
    for (const { field, reason } of error.errors) console.error(`  ${field}: ${reason}`);
    return exitCodeOfStatus(error.status);
  }
  if (error instanceof UnreachableError) return (console.error(`chorus: ${error.message}`), ExitCode.Unavailable);
  if (error instanceof MissingCredentialsError) return (console.error(`chorus: ${error.message}`), ExitCode.Auth);
  if (error instanceof ConfigError) return (console.error(`chorus: ${error.message}`), ExitCode.Usage);
  console.error(`chorus: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return ExitCode.Internal;
}

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
    process.exitCode = exitCode;
  } catch (error) {
    process.exitCode = report(error);
  }
}

void main();
