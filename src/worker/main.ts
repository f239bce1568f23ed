import { hostname } from 'node:os';
import { loadProviderSettings } from '../config/providers';
import { loadTemporalSettings } from '../config/temporal';
import { loadWorkerSettings } from '../config/worker';
import { PROVIDER_NAMES } from '../pipeline/providers';
import { createChorusWorker } from './worker';

/** Worker process: runs pipeline workflows and provider activities until SIGINT/SIGTERM, then drains. */
async function main() {
  const temporal = loadTemporalSettings(process.env);
  const providers = loadProviderSettings(process.env);
  const { worker, connection } = await createChorusWorker({
    temporal,
    providers,
    worker: loadWorkerSettings(process.env),
    identity: `chorus-worker-${process.pid}@${hostname()}`,
  });
  const simulated = PROVIDER_NAMES.filter((name) => providers.endpoints[name].simulated);
  console.log(
    `Chorus worker polling task queue "${temporal.taskQueue}" on ${temporal.address}` +
      (simulated.length ? ` (simulated providers: ${simulated.join(', ')})` : ''),
  );
  // Worker.run resolves after the SDK's own SIGINT/SIGTERM handling has drained in-flight work.
  await worker.run();
  await connection.close();
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
