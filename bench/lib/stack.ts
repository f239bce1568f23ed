import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TemporalCluster } from '../../cluster/cluster';
import { loadClusterSettings } from '../../src/config/cluster';
import { ensureTemporalCli } from '../../src/temporal/cli';
import { TEMPORAL_SERVER_VERSION } from '../../src/temporal/server-build';
import { devServerArgs } from '../../src/temporal/dev-server';
import type { NodeFlagsProcess } from '../../src/process/node-flags';
import { redisAnswers, redisServerArgs } from '../../src/process/redis';
import type { SimulatorCommand, SimulatorStats } from '../sim-process';
import { forkChild, freePort, isolatedEnv, spawnChild, waitForLine, waitUntil, type BenchChild } from './processes';

export const API_KEY = 'chorus-bench-key-0123456789';
export const TASK_QUEUE = 'chorus-bench';
/** The named pipeline of one OpenAI call in local mode, which the bench's API serves. */
export const ONE_CALL_LOCAL = 'bench-one-call-local';

export interface StackOptions {
  /** Extra `--sqlite-pragma` values for the dev server, beyond journal_mode=wal. */
  sqlitePragmas: string[];
  /** `--dynamic-config-value KEY=VALUE` settings for the dev server. */
  dynamicConfig: string[];
  /** Env applied to every worker (CHORUS_WORKER_MAX_ACTIVITIES, ...). */
  workerEnv: Record<string, string>;
  baselineKeepAlive: boolean;
  /** Node.js flags for the API and worker processes (`--profile DIR` adds `--cpu-prof`). */
  nodeArgs: string[];
  /** V8 flags of each process in place of the shipped ones (`NODE_FLAGS`), for A/B runs. */
  nodeFlags: Record<NodeFlagsProcess, readonly string[]>;
  /** The two-node PostgreSQL cluster (`npm run cluster`) instead of the dev server; sqlitePragmas and dynamicConfig then do not apply. */
  cluster: boolean;
  log: (line: string) => void;
}

type SimulatorCall = SimulatorCommand extends infer C ? (C extends SimulatorCommand ? Omit<C, 'id'> : never) : never;

/** Temporal dev server, simulator, baseline gateway, Chorus API and workers, all on free loopback ports. */
export class BenchStack {
  readonly tmp = mkdtempSync(join(tmpdir(), 'chorus-bench-'));
  temporalCli = '';
  temporalVersion = '';
  temporalAddress = '';
  simulatorUrl = '';
  gatewayUrl = '';
  apiUrl = '';
  api?: BenchChild;
  workers: BenchChild[] = [];
  client?: Client;
  private connection?: Connection;
  private simulator?: BenchChild;
  private temporal?: BenchChild;
  private cluster?: TemporalCluster;
  /** Processes whose CPU counts with their children's: PostgreSQL serves each connection from a forked backend. */
  readonly processTrees: ReadonlySet<string> = new Set(['postgres']);
  private gateway?: BenchChild;
  /** The last redis-server started; its CPU counts like every other process's. */
  private redis?: BenchChild;
  private simulatorCalls = 0;
  private readonly distRoot = resolve(__dirname, '..', '..');

  constructor(private readonly options: StackOptions) {}

  async start(): Promise<void> {
    await this.startTemporal();
    await this.startSimulator();
    await this.startGateway();
    await this.startApi();
  }

  private async startTemporal() {
    if (this.options.cluster) return this.startCluster();
    this.temporalCli = await ensureTemporalCli(undefined, { log: this.options.log });
    this.temporalVersion = execFileSync(this.temporalCli, ['--version'], { encoding: 'utf8' }).trim();
    const port = await freePort();
    this.temporalAddress = `127.0.0.1:${port}`;
    // Chorus's own dev-server arguments (WAL, its search attributes), then the benchmark's: no UI, quieter logs, tuning knobs.
    const args = [
      ...devServerArgs({ ip: '127.0.0.1', port, uiPort: await freePort(), dbFilename: join(this.tmp, 'bench.db') }),
      '--headless',
      '--http-port',
      String(await freePort()),
      '--metrics-port',
      String(await freePort()),
      ...this.options.sqlitePragmas.flatMap((pragma) => ['--sqlite-pragma', pragma]),
      ...this.options.dynamicConfig.flatMap((value) => ['--dynamic-config-value', value]),
      '--log-level',
      'error',
    ];
    const temporal = spawnChild('temporal', this.temporalCli, args, isolatedEnv({}));
    this.temporal = temporal;
    await waitUntil(
      'the Temporal dev server',
      async () => {
        if (temporal.child.exitCode !== null) throw new Error(`temporal exited: ${temporal.tail().join('\n')}`);
        const connection = await Connection.connect({ address: this.temporalAddress, connectTimeout: 1000 });
        await connection.workflowService.getSystemInfo({});
        await connection.close();
        return true;
      },
      60_000,
      300,
    );
    if (temporal.child.exitCode !== null) throw new Error(`temporal exited:\n${temporal.tail().join('\n')}`);
    this.connection = await Connection.connect({ address: this.temporalAddress });
    this.client = new Client({ connection: this.connection });
  }

  /** The production topology on this machine: two server nodes on one PostgreSQL, behind one loopback address. */
  private async startCluster() {
    // Not inside this.tmp: mkdtemp's folder is private, and PostgreSQL runs as its own user when the bench runs as root.
    const cluster = new TemporalCluster({ ...loadClusterSettings(), dir: join(tmpdir(), `chorus-bench-cluster-${process.pid}`), log: this.options.log });
    this.cluster = cluster;
    await cluster.start();
    this.temporalVersion = `Temporal server ${TEMPORAL_SERVER_VERSION}: 2 nodes on PostgreSQL (npm run cluster)`;
    this.temporalAddress = cluster.address;
    this.connection = await Connection.connect({ address: this.temporalAddress });
    this.client = new Client({ connection: this.connection });
  }

  private async startSimulator() {
    this.simulator = forkChild('simulator', join(this.distRoot, 'bench', 'sim-process.js'), isolatedEnv({ BENCH_SIM_LATENCY_MS: '100' }));
    this.simulatorUrl = await readyMessage<{ url: string }>(this.simulator).then((message) => message.url);
  }

  private async startGateway() {
    const gateway = forkChild(
      'baseline-gateway',
      join(this.distRoot, 'bench', 'baseline-gateway.js'),
      isolatedEnv({ BENCH_SIMULATOR_URL: this.simulatorUrl, BENCH_BASELINE_KEEPALIVE: this.options.baselineKeepAlive ? '1' : '0' }),
    );
    this.gateway = gateway;
    const { port } = await readyMessage<{ port: number }>(gateway);
    this.gatewayUrl = `http://127.0.0.1:${port}`;
  }

  /**
   * The shipped pipelines plus the one-call run in local mode, so the peer side by side can name it
   * as a model (`pipeline/bench-one-call-local`) on /v1/chat/completions.
   */
  private pipelinesDir(): string {
    const dir = join(this.tmp, 'pipelines');
    cpSync(join(this.distRoot, '..', 'pipelines'), dir, { recursive: true });
    writeFileSync(
      join(dir, `${ONE_CALL_LOCAL}.yaml`),
      `name: ${ONE_CALL_LOCAL}\nexecution: local\nsteps:\n  - id: draft\n    provider: openai\n    task: generate\n    prompt: '{{input.prompt}}'\n`,
    );
    return dir;
  }

  /** Stops the API and starts it again with `env` on top (CHORUS_REDIS_URL for token events). */
  async restartApi(env: Record<string, string>): Promise<void> {
    await this.api?.stop(8000);
    await this.startApi(env);
  }

  private async startApi(env: Record<string, string> = {}) {
    const port = await freePort();
    this.api = spawnChild(
      'api',
      process.execPath,
      [...this.options.nodeFlags.api, ...this.options.nodeArgs, join(this.distRoot, 'api', 'main.js')],
      isolatedEnv({
        // Keys are configured by digest, with a tenant and scopes.
        CHORUS_API_KEYS: JSON.stringify([
          {
            id: 'bench',
            tenant: 'bench',
            scopes: ['workflows:start', 'workflows:read', 'workflows:admin', 'pipelines:adhoc'],
            sha256: createHash('sha256').update(API_KEY).digest('hex'),
          },
        ]),
        // The per-key limit (600/min by default) would turn the load into 429s; the bench measures the pipeline path.
        CHORUS_RATE_LIMIT_PER_MINUTE: '100000000',
        CHORUS_API_PORT: String(port),
        CHORUS_BIND_HOST: '127.0.0.1',
        TEMPORAL_ADDRESS: this.temporalAddress,
        CHORUS_TASK_QUEUE: TASK_QUEUE,
        CHORUS_MAX_WAIT_SECONDS: '60',
        CHORUS_PIPELINES_DIR: this.pipelinesDir(),
        ...env,
      }),
    );
    await waitForLine(this.api, /listening/i, 60_000);
    this.apiUrl = `http://127.0.0.1:${port}`;
  }

  /** Starts one worker process and waits until it has bundled its workflows and begun polling. */
  async startWorker(env: Record<string, string> = {}): Promise<BenchChild> {
    const worker = spawnChild(
      `worker-${this.workers.length + 1}`,
      process.execPath,
      [...this.options.nodeFlags.worker, ...this.options.nodeArgs, join(this.distRoot, 'worker', 'main.js')],
      isolatedEnv({
        TEMPORAL_ADDRESS: this.temporalAddress,
        CHORUS_TASK_QUEUE: TASK_QUEUE,
        CHORUS_SIMULATOR_URL: this.simulatorUrl,
        CHORUS_WORKER_SHUTDOWN_GRACE_MS: '2000',
        ...this.options.workerEnv,
        ...env,
      }),
    );
    await waitForLine(worker, /polling task queue/, 120_000);
    this.workers.push(worker);
    return worker;
  }

  /**
   * Portkey's open-source gateway (`@portkey-ai/gateway`), the peer a plain gateway user would pick,
   * on a free loopback port; it reaches the simulator through `x-portkey-custom-host`.
   */
  async startPortkey(): Promise<string> {
    const entry = join(this.distRoot, '..', 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    spawnChild(
      'portkey',
      process.execPath,
      ['--require', join(this.distRoot, 'bench', 'loopback-only.js'), entry, `--port=${port}`, '--headless'],
      isolatedEnv({ NODE_ENV: 'production' }),
    );
    await waitUntil(
      `the Portkey gateway on ${port}`,
      () =>
        fetch(url)
          .then((response) => response.ok)
          .catch(() => false),
      30_000,
      200,
    );
    return url;
  }

  /** A throwaway redis-server (Debian's) the workers share provider pacing in; stopped with every other child. */
  async startRedis(): Promise<string> {
    const port = await freePort();
    this.redis = spawnChild('redis', 'redis-server', redisServerArgs(port), isolatedEnv({}));
    await waitUntil(`redis-server on ${port}`, () => redisAnswers(port), 15_000, 100);
    return `redis://127.0.0.1:${port}`;
  }

  /** Stops one worker of those started. */
  async stopWorker(worker: BenchChild): Promise<void> {
    await worker.stop(8000);
    this.workers = this.workers.filter((started) => started !== worker);
  }

  async stopWorkers(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop(8000)));
    this.workers = [];
  }

  async simulatorCall(call: { type: 'stats' }): Promise<SimulatorStats>;
  async simulatorCall(call: SimulatorCall): Promise<unknown>;
  async simulatorCall(call: SimulatorCall): Promise<unknown> {
    const simulator = this.simulator;
    if (!simulator) throw new Error('simulator not started');
    const id = ++this.simulatorCalls;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator did not answer ${call.type}`)), 10_000);
      const onMessage = (message: { id?: number; stats?: SimulatorStats }) => {
        if (message.id !== id) return;
        clearTimeout(timer);
        simulator.child.off('message', onMessage);
        resolve(message.stats);
      };
      simulator.child.on('message', onMessage);
      simulator.child.send({ ...call, id } as SimulatorCommand);
    });
  }

  /** Process ids of everything running now, by role. */
  pids(): Record<string, number> {
    const pids: Record<string, number> = {};
    for (const child of [this.temporal, this.simulator, this.gateway, this.api, this.redis, ...this.workers]) if (child) pids[child.name] = child.pid;
    return { ...pids, ...this.cluster?.processIds() };
  }

  setLatency(latencyMs: number) {
    return this.simulatorCall({ type: 'latency', latencyMs });
  }

  /** Closes the client and stops the cluster; the caller stops the children. */
  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
    await this.cluster?.stop(true);
  }

  removeFiles(): void {
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

function readyMessage<T>(child: BenchChild, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${child.name} not ready within ${timeoutMs} ms\n${child.tail().join('\n')}`)), timeoutMs);
    child.child.on('message', (message: { type?: string } & T) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve(message);
    });
    void child.exited.then((code) => reject(new Error(`${child.name} exited (${code})\n${child.tail().join('\n')}`)));
  });
}
