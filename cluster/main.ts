import { join } from 'node:path';
import { loadClusterSettings } from '../src/config/cluster';
import { commandLine } from '../src/process/command-line';
import { TemporalCluster } from './cluster';

/**
 * `npm run cluster`: a two-node Temporal cluster on a private PostgreSQL, on loopback, for running
 * Chorus on the production topology (`TEMPORAL_ADDRESS=<printed address> npm start`). Its state lives
 * in CHORUS_CLUSTER_DIR (default .data/cluster) and is recreated at each start. Ctrl-C or SIGTERM stops it.
 */
async function main() {
  const settings = loadClusterSettings();
  const { dir } = settings;
  const cluster = new TemporalCluster({ ...settings, log: (line) => console.log(line) });
  let stopping = false;
  const shutdown = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping the cluster...');
    await cluster.stop();
    process.exit(exitCode);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  cluster.onUnexpectedExit = (node, code) => {
    console.error(`Temporal node ${node + 1} exited unexpectedly (${code}); see ${join(dir, `node-${node + 1}`, 'server.log')}`);
    void shutdown(1);
  };
  const startedAt = Date.now();
  try {
    await cluster.start();
  } catch (error) {
    console.error((error as Error).message);
    await shutdown(1);
    return;
  }
  const { timings } = cluster;
  console.log(
    `Cluster up in ${Date.now() - startedAt} ms (build ${timings.buildMs}, PostgreSQL ${timings.postgresMs}, schemas ${timings.schemaMs}, nodes ${timings.nodesMs}, namespace ${timings.namespaceMs})`,
  );
  for (let node = 0; node < cluster.nodeCount; node += 1) console.log(`Node ${node + 1} frontend: ${cluster.nodeAddress(node)}`);
  console.log(`TEMPORAL_ADDRESS=${cluster.address}`);
}

commandLine('npm run cluster --', 'Starts a two-node Temporal cluster on a private PostgreSQL on loopback and prints its TEMPORAL_ADDRESS').parse();
void main();
