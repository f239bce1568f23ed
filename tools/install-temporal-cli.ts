import { ensureTemporalCli } from '../src/temporal/cli';

/** `npm run temporal:install`: prints the path of a usable Temporal CLI, building it if needed. */
try {
  console.log(ensureTemporalCli());
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
