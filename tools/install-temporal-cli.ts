import { commandLine } from '../src/process/command-line';
import { ensureTemporalCli, TEMPORAL_CLI_VERSION } from '../src/temporal/cli';

commandLine(
  'npm run temporal:install --',
  `Prints the path of a usable Temporal CLI (TEMPORAL_CLI, PATH or .cache/bin), building v${TEMPORAL_CLI_VERSION} with go install when there is none`,
).parse();
ensureTemporalCli().then(
  (path) => console.log(path),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
