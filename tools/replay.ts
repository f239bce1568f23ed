import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { loadTemporalSettings, temporalConnectionOptions } from '../src/config/temporal';
import { WORKFLOWS_PATH } from '../worker/worker';

const USAGE = `Replays a run's history against the current workflow code and reports non-determinism.
  npm run replay -- --workflow-id ID [--run-id RUN]   history from the Temporal server (TEMPORAL_* env)
  npm run replay -- --file history.json               history exported with 'temporal workflow show --output json'`;

async function loadHistory(options: { 'workflow-id'?: string; 'run-id'?: string; file?: string }) {
  if (options.file) return { workflowId: options.file, history: historyFromJSON(JSON.parse(readFileSync(options.file, 'utf8'))) };
  const settings = loadTemporalSettings();
  const connection = await Connection.connect(temporalConnectionOptions(settings));
  try {
    const client = new Client({ connection, namespace: settings.namespace });
    const history = await client.workflow.getHandle(options['workflow-id']!, options['run-id']).fetchHistory();
    return { workflowId: options['workflow-id']!, history };
  } finally {
    await connection.close();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'workflow-id': { type: 'string' }, 'run-id': { type: 'string' }, file: { type: 'string' } } });
  if (!values.file === !values['workflow-id']) {
    console.error(USAGE);
    return 2;
  }
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const { workflowId, history } = await loadHistory(values);
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
    process.exit(2);
  },
);
