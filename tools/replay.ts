import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { loadTemporalSettings, temporalConnectionOptions } from '../src/config/temporal';
import { commandLine } from '../src/process/command-line';
import { WORKFLOWS_PATH } from '../worker/worker';

interface ReplayOptions {
  workflowId?: string;
  runId?: string;
  file?: string;
}

/** Exit codes: 0 replays, 1 does not replay or the history could not be read, 2 wrong command line. */
const program = commandLine('npm run replay --', "Replays a run's history against the current workflow code and reports non-determinism")
  .option('--workflow-id <id>', 'history from the Temporal server (TEMPORAL_* variables)')
  .option('--run-id <run>', 'with --workflow-id: that run instead of the latest')
  .option('--file <history.json>', "history exported with 'temporal workflow show --output json'")
  .addHelpText('after', '\nGive either --workflow-id or --file.');

async function loadHistory(options: ReplayOptions) {
  // The SDK's replay takes the exported JSON as it is and converts it itself (its converter is internal).
  if (options.file) return { workflowId: options.file, history: JSON.parse(readFileSync(options.file, 'utf8')) as { events?: unknown[] } };
  const settings = loadTemporalSettings();
  const connection = await Connection.connect(temporalConnectionOptions(settings));
  try {
    const client = new Client({ connection, namespace: settings.namespace });
    const history = await client.workflow.getHandle(options.workflowId!, options.runId).fetchHistory();
    return { workflowId: options.workflowId!, history };
  } finally {
    await connection.close();
  }
}

async function main(): Promise<number> {
  const options = program.parse().opts<ReplayOptions>();
  if (!options.file === !options.workflowId) program.error('error: give either --workflow-id or --file');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const { workflowId, history } = await loadHistory(options);
  try {
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, workflowId);
  } catch (error) {
    console.error(`NON-DETERMINISTIC: ${workflowId} does not replay on the current workflow code:\n  ${(error as Error).message}`);
    return 1;
  }
  console.log(`OK: ${workflowId} replays on the current workflow code (${history.events?.length ?? 0} events)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
