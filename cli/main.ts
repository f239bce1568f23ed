#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../src/config/env';
import { DEFAULT_API_URL } from '../src/config/api';
import { loadCliSettings } from '../src/config/cli';
import type { RunView } from '../src/contract/api';
import { commandLine } from '../src/process/command-line';
import { ApiError, ChorusApi, UnreachableError } from './api-client';
import { formatPipelines, formatRun, isClosed, runError, runTotals, stepChanges } from './format';

/**
 * Exit codes: 0 done (a run COMPLETED), 1 the request failed (HTTP error, unreachable, no key, unreadable
 * input), 2 the run ended otherwise or the command line is wrong (with the usage on stderr).
 */
const EXIT_FAILED = 1;
const EXIT_RUN_NOT_COMPLETED = 2;

class UsageError extends Error {}

const LONG_POLL_SECONDS = 25;
/** Watch keeps polling through this many failed polls in a row (an API restart), then gives up. */
const WATCH_TOLERATED_FAILURES = 5;

function api(): ChorusApi {
  const settings = loadCliSettings();
  if (!settings.apiKey) throw new UsageError('CHORUS_API_KEY is not set: export an API key (under `npm start` the dev key is chorus-dev-key-change-me)');
  return new ChorusApi(settings.apiUrl, settings.apiKey);
}

function readInput(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --input ${path}: ${(error as Error).message}`);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--input ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new UsageError(`--input ${path} must hold a JSON object, such as {"prompt": "…"}`);
  return input as Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const clock = () => new Date().toISOString().slice(11, 19);

/** Prints how a closed run ended (to stderr for failures) and answers the exit code. */
function settle(run: RunView): number {
  if (run.status === 'COMPLETED') return 0;
  console.error(`chorus: run ${run.workflowId} ended ${run.status}${runError(run) ? `: ${runError(run)}` : ''}`);
  return EXIT_RUN_NOT_COMPLETED;
}

async function waitUntilClosed(client: ChorusApi, workflowId: string): Promise<RunView> {
  for (;;) {
    const run = await client.waitForRun(workflowId, LONG_POLL_SECONDS);
    if (isClosed(run)) return run;
  }
}

async function watch(client: ChorusApi, workflowId: string, intervalMs: number): Promise<number> {
  const seen = new Map<string, string>();
  let failures = 0;
  let announced = false;
  for (;;) {
    let run: RunView;
    try {
      run = await client.describeRun(workflowId);
      failures = 0;
    } catch (error) {
      // A 4xx will not go away by asking again; an unreachable or failing API might (a restart).
      const transient = error instanceof UnreachableError || (error instanceof ApiError && error.status >= 500);
      if (!transient || ++failures > WATCH_TOLERATED_FAILURES) throw error;
      console.error(`chorus: ${(error as Error).message}; retrying`);
      await sleep(intervalMs);
      continue;
    }
    if (!announced) {
      console.log(`${clock()}  watching ${run.workflowId} (pipeline ${run.pipeline ?? '-'}, run ${run.runId})`);
      announced = true;
    }
    for (const line of stepChanges(run, seen)) console.log(`${clock()}  ${line}`);
    if (isClosed(run)) {
      console.log(`${clock()}  ${run.status}${runTotals(run)}`);
      return settle(run);
    }
    await sleep(intervalMs);
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

/** The exit code the command's action answered. */
let exitCode = 0;
const exitWith =
  <Args extends unknown[]>(action: (...args: Args) => Promise<number>) =>
  async (...args: Args) => {
    exitCode = await action(...args);
  };

const program = commandLine(
  'chorus',
  `Run and follow Chorus pipelines through the REST API at CHORUS_API_URL (default ${DEFAULT_API_URL}), with the API key in CHORUS_API_KEY`,
);

program
  .command('run')
  .description('Start a run of a named pipeline; prints its workflow ID, or with --wait its output')
  .argument('<pipeline>', 'pipeline name (see `chorus pipelines`)')
  .requiredOption('-i, --input <file>', 'JSON file with the input object ("-" reads stdin)')
  .option('-w, --wait', 'wait for the run to close and print its output')
  .option('--json', 'with --wait: print the whole run as JSON')
  .action(
    exitWith(async (pipeline: string, options: { input: string; wait?: boolean; json?: boolean }) => {
      const input = readInput(options.input);
      const client = api();
      const started = await client.startRun(pipeline, input);
      if (!options.wait) {
        console.error(`Started ${started.workflowId}; follow it with: chorus watch ${started.workflowId}`);
        console.log(started.workflowId);
        return 0;
      }
      console.error(`Started ${started.workflowId}; waiting for it to finish…`);
      const run = await waitUntilClosed(client, started.workflowId);
      if (options.json) console.log(JSON.stringify(run, null, 2));
      else if (run.result) console.log(JSON.stringify(run.result.output, null, 2));
      return settle(run);
    }),
  );

program
  .command('status')
  .description("A run's status, each step's state, its error or output")
  .argument('<id>', 'workflow ID')
  .option('--json', 'print the API answer as JSON')
  .action(
    exitWith(async (workflowId: string, options: { json?: boolean }) => {
      const run = await api().describeRun(workflowId);
      console.log(options.json ? JSON.stringify(run, null, 2) : formatRun(run));
      return 0;
    }),
  );

program
  .command('watch')
  .description('Follow a run live: prints each step change until the run closes (exit 0 when it completed)')
  .argument('<id>', 'workflow ID')
  .option('--interval <seconds>', 'seconds between polls', positiveNumber, 1)
  .action(exitWith(async (workflowId: string, options: { interval: number }) => watch(api(), workflowId, options.interval * 1000)));

program
  .command('reset')
  .description('Reset a run: same workflow ID, a new run from a point of the old one (default: before the failed step)')
  .argument('<id>', 'workflow ID')
  .option('--to <point>', 'failed-step, first-workflow-task, last-workflow-task or event')
  .option('--event-id <n>', 'with --to event: a WorkflowTaskCompleted event ID', positiveInteger)
  .option('--reason <text>', 'why; recorded in the run history')
  .action(
    exitWith(async (workflowId: string, options: { to?: string; eventId?: number; reason?: string }) => {
      const reset = await api().resetRun(workflowId, { to: options.to, eventId: options.eventId, reason: options.reason });
      console.log(
        `Reset ${reset.workflowId} to ${reset.resetTo.point}${reset.resetTo.eventId ? ` (event ${reset.resetTo.eventId})` : ''}: new run ${reset.runId} (was ${reset.previousRunId})`,
      );
      console.log(`Follow it with: chorus watch ${reset.workflowId}`);
      return 0;
    }),
  );

program
  .command('pipelines')
  .description('The named pipelines and the input each needs')
  .option('--json', 'print the API answer as JSON')
  .action(
    exitWith(async (options: { json?: boolean }) => {
      const { pipelines } = await api().listPipelines();
      console.log(options.json ? JSON.stringify(pipelines, null, 2) : formatPipelines(pipelines));
      return 0;
    }),
  );

/** Prints what went wrong as the API said it, and answers the exit code. */
function report(error: unknown): number {
  if (error instanceof ApiError) {
    console.error(`chorus: ${error.status} ${error.statusText}: ${error.errors.length ? 'the API rejected the request' : error.message}`);
    for (const { field, reason } of error.errors) console.error(`  ${field}: ${reason}`);
  } else if (error instanceof UnreachableError || error instanceof UsageError || error instanceof ConfigError) {
    console.error(`chorus: ${error.message}`);
  } else {
    console.error(`chorus: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  return EXIT_FAILED;
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
