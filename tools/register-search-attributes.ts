import { Connection } from '@temporalio/client';
import { loadTemporalSettings, temporalConnectionOptions, type TemporalSettings } from '../src/config/temporal';
import { CHORUS_SEARCH_ATTRIBUTES } from '../src/pipeline/search-attributes';
import { commandLine } from '../src/process/command-line';
import { ensureSearchAttributes } from '../src/temporal/search-attributes';

/** Exit codes: 0 registered (or nothing missing), 1 the server or namespace did not answer in time, 2 wrong command line. */
const program = commandLine(
  'npm run search-attributes --',
  `Registers the Chorus search attributes (${CHORUS_SEARCH_ATTRIBUTES.map((key) => `${key.name} ${key.type}`).join(', ')}) that the namespace lacks, on TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE; the compose files run it once before the API and workers`,
).option('--wait-seconds <seconds>', 'how long to retry while the server or a new namespace is not ready', '120');

/** A namespace created a moment ago is not in every frontend's cache yet: retry until it is, or the wait is over. */
const RETRY_EVERY_MS = 2000;

/** Registers the missing ones, retrying while the server or the namespace is not ready; the names it added. */
export async function registerSearchAttributes(settings: TemporalSettings, waitSeconds: number, log: (line: string) => void = console.log): Promise<string[]> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    try {
      const connection = await Connection.connect(temporalConnectionOptions(settings));
      try {
        return await ensureSearchAttributes(connection, settings.namespace);
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() + RETRY_EVERY_MS > deadline) throw error;
      log(`namespace ${settings.namespace} on ${settings.address} not ready (${(error as Error).message}); retrying`);
      await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
    }
  }
}

async function main(waitSeconds: number): Promise<void> {
  const settings = loadTemporalSettings();
  const added = await registerSearchAttributes(settings, waitSeconds);
  console.log(
    added.length ? `registered ${added.join(', ')} on namespace ${settings.namespace}` : `namespace ${settings.namespace} has every Chorus search attribute`,
  );
}

if (require.main === module) {
  const waitSeconds = Number(program.parse().opts<{ waitSeconds: string }>().waitSeconds);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) program.error('error: --wait-seconds must be a number of seconds');
  main(waitSeconds).catch((error: Error) => {
    console.error(`could not register search attributes: ${error.message}`);
    process.exit(1);
  });
}
