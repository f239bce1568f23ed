import { loadClusterSettings } from '../src/config/cluster';
import { commandLine } from '../src/process/command-line';
import { ensureTemporalServer, TEMPORAL_SERVER_VERSION } from '../src/temporal/server-build';

commandLine(
  'npm run cluster:install --',
  `Builds the Temporal server and SQL tool v${TEMPORAL_SERVER_VERSION} with go install into .cache (once) and prints the server's path`,
).parse();
try {
  console.log(ensureTemporalServer(loadClusterSettings().env).server);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
