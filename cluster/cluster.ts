import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import Long from 'long';
import { grpc } from '@temporalio/proto';
import type { Env } from '../src/config/env';
import { freeLoopbackPort } from '../src/observability/metrics-server';
import { startProcess, waitUntil, type ManagedProcess } from '../src/process/child-process';
import { findPostgresBin, PrivatePostgres } from '../src/process/postgres';
import { startTcpBalancer, type TcpBalancer } from '../src/process/tcp-balancer';
import { CHORUS_SEARCH_ATTRIBUTES } from '../src/pipeline/search-attributes';
import { CLUSTER_SERVICES, clusterNodeConfig, TEMPORAL_DATABASE, VISIBILITY_DATABASE, type ClusterNodePorts } from '../src/temporal/cluster-config';
import { ensureSearchAttributes } from '../src/temporal/search-attributes';
import { ensureTemporalServer, type TemporalServerBinaries } from '../src/temporal/server-build';

const run = promisify(execFile);
const NODE_COUNT = 2;
const NAMESPACE = 'default';
const NODE_READY_TIMEOUT_MS = 120_000;
/** The schemas the SQL tool embeds, per database: the same files as the module's schema/postgresql/v12/…/versioned. */
const SCHEMAS = { [TEMPORAL_DATABASE]: 'postgresql/v12/temporal', [VISIBILITY_DATABASE]: 'postgresql/v12/visibility' };

export interface ClusterOptions {
  /** Wiped and recreated at start: the cluster's PostgreSQL data, node configs and logs. */
  dir: string;
  /** What `go install` and the nodes run with (PATH above all). */
  env: Env;
  postgresBin?: string;
  log?: (line: string) => void;
  /** Server log level (the nodes' output goes to node-N/server.log). @default 'warn' */
  serverLogLevel?: string;
}

export interface ClusterTimings {
  buildMs: number;
  postgresMs: number;
  schemaMs: number;
  nodesMs: number;
  namespaceMs: number;
}

interface ClusterNode {
  index: number;
  ports: ClusterNodePorts;
  configDir: string;
  logFile: string;
  process?: ManagedProcess;
}

/** Two Temporal server nodes on one private PostgreSQL, behind one loopback address. */
export class TemporalCluster {
  /** What Chorus sets as TEMPORAL_ADDRESS: the balancer in front of both frontends. */
  address = '';
  readonly timings: ClusterTimings = { buildMs: 0, postgresMs: 0, schemaMs: 0, nodesMs: 0, namespaceMs: 0 };
  /** Called when a node exits without being asked to. */
  onUnexpectedExit?: (node: number, code: number | string) => void;
  private readonly nodes: ClusterNode[] = [];
  private readonly assignedPorts = new Set<number>();
  private readonly logs: WriteStream[] = [];
  private balancer?: TcpBalancer;
  private postgres?: PrivatePostgres;
  private binaries?: TemporalServerBinaries;
  private stopping = false;
  private readonly log: (line: string) => void;

  constructor(private readonly options: ClusterOptions) {
    this.log = options.log ?? console.error;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** host:port of one node's own frontend, bypassing the balancer. */
  nodeAddress(index: number): string {
    return `127.0.0.1:${this.nodes[index].ports.services.frontend.grpc}`;
  }

  async start(): Promise<void> {
    const { dir } = this.options;
    let mark = Date.now();
    const lap = () => {
      const elapsed = Date.now() - mark;
      mark = Date.now();
      return elapsed;
    };
    this.binaries = ensureTemporalServer(this.options.env, this.log);
    this.timings.buildMs = lap();

    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    this.postgres = new PrivatePostgres({
      dir: join(dir, 'postgres'),
      port: await freeLoopbackPort(),
      user: 'temporal',
      bin: this.options.postgresBin ?? findPostgresBin(this.options.env),
    });
    await this.postgres.init();
    await this.postgres.start();
    this.timings.postgresMs = lap();
    this.log(`PostgreSQL ${this.postgres.dataDir} on 127.0.0.1:${this.postgres.port}`);

    for (const [database, schema] of Object.entries(SCHEMAS)) {
      await this.sqlTool(database, ['create-database']);
      await this.sqlTool(database, ['setup-schema', '-v', '0.0']);
      await this.sqlTool(database, ['update-schema', '--schema-name', schema]);
    }
    this.timings.schemaMs = lap();

    this.balancer = await startTcpBalancer(() => this.nodes.map((node) => node.ports.services.frontend.grpc));
    this.address = `127.0.0.1:${this.balancer.port}`;
    for (let index = 0; index < NODE_COUNT; index += 1) this.nodes.push(await this.prepareNode(index));
    await Promise.all(this.nodes.map((node) => this.startNode(node.index)));
    this.timings.nodesMs = lap();

    await this.registerNamespace();
    this.timings.namespaceMs = lap();
  }

  /** Starts (or restarts) node `index` and waits until its frontend serves the namespace. */
  async startNode(index: number): Promise<void> {
    const node = this.nodes[index];
    if (node.process && node.process.child.exitCode === null && node.process.child.signalCode === null) return;
    const logStream = createWriteStream(node.logFile, { flags: 'a' });
    this.logs.push(logStream);
    const managed = startProcess(
      `temporal-${index + 1}`,
      this.binaries!.server,
      ['--root', node.configDir, '--config', '.', '--env', 'chorus', '--allow-no-auth', 'start'],
      { PATH: this.options.env.PATH },
      (line) => logStream.write(`${line}\n`),
    );
    node.process = managed;
    void managed.exited.then((code) => {
      if (!this.stopping && node.process === managed && !killed.has(managed)) this.onUnexpectedExit?.(index, code);
    });
    const exited = () => managed.child.exitCode !== null || managed.child.signalCode !== null;
    // An exit ends the wait too: a node that died will never serve.
    await waitUntil(
      `Temporal node ${index + 1} to serve`,
      async () => exited() || (await this.serving(this.nodeAddress(index))),
      NODE_READY_TIMEOUT_MS,
      500,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${tail(node.logFile)}`);
    });
    if (exited())
      throw new Error(`Temporal node ${index + 1} exited (${managed.child.exitCode ?? managed.child.signalCode}) before serving:\n${tail(node.logFile)}`);
  }

  /** Process IDs of the running nodes and of the PostgreSQL postmaster, by name (`temporal-1`, …, `postgres`), for CPU accounting. */
  processIds(): Record<string, number> {
    const ids: Record<string, number> = {};
    for (const node of this.nodes) if (node.process?.child.pid) ids[`temporal-${node.index + 1}`] = node.process.child.pid;
    const postgres = this.postgres?.pid;
    if (postgres) ids.postgres = postgres;
    return ids;
  }

  /** SIGKILL, as a crashed machine would: no drain, no goodbye to the ring. */
  async killNode(index: number): Promise<void> {
    const managed = this.nodes[index].process;
    if (!managed) return;
    killed.add(managed);
    managed.child.kill('SIGKILL');
    await managed.exited;
  }

  /** Stops PostgreSQL (fast shutdown: every session cut) and starts it again on the same port and data. */
  async restartPostgres(): Promise<void> {
    await this.postgres!.restart();
  }

  /** Stops the nodes, the balancer and PostgreSQL; `removeData` then deletes the cluster's folder. */
  async stop(removeData = false): Promise<void> {
    this.stopping = true;
    await Promise.all(this.nodes.map((node) => node.process?.stop(20_000)));
    await this.balancer?.close();
    await this.postgres?.stop();
    for (const stream of this.logs) stream.end();
    if (removeData) rmSync(this.options.dir, { recursive: true, force: true });
  }

  private async prepareNode(index: number): Promise<ClusterNode> {
    const configDir = join(this.options.dir, `node-${index + 1}`);
    mkdirSync(configDir, { recursive: true });
    const services = {} as ClusterNodePorts['services'];
    for (const service of CLUSTER_SERVICES)
      services[service] = { grpc: await this.unusedPort(freeLoopbackPort), membership: await this.unusedPort(freeMembershipPort) };
    const ports: ClusterNodePorts = { services, frontendHttp: await this.unusedPort(freeLoopbackPort) };
    const postgres = this.postgres!;
    writeFileSync(
      join(configDir, 'chorus.yaml'),
      clusterNodeConfig(ports, { port: postgres.port, user: postgres.user, password: postgres.password }, this.address, this.options.serverLogLevel),
    );
    return { index, ports, configDir, logFile: join(configDir, 'server.log') };
  }

  /** A free port no other service of the cluster was given: a port probed free is released, so it can come back. */
  private async unusedPort(find: () => Promise<number>): Promise<number> {
    for (;;) {
      const port = await find();
      if (!this.assignedPorts.has(port)) {
        this.assignedPorts.add(port);
        return port;
      }
    }
  }

  private async sqlTool(database: string, command: string[]): Promise<void> {
    const postgres = this.postgres!;
    const args = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(postgres.port), '-u', postgres.user, '--db', database, ...command];
    await run(this.binaries!.sqlTool, args, { env: { PATH: this.options.env.PATH, SQL_PASSWORD: postgres.password } }).catch(
      (error: Error & { stderr?: string }) => {
        throw new Error(`temporal-sql-tool ${args.join(' ')} failed: ${error.stderr || error.message}`);
      },
    );
  }

  private async serving(address: string): Promise<boolean> {
    const connection = await Connection.connect({ address, connectTimeout: 2000 });
    try {
      const { status } = await connection.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' });
      return status === grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING;
    } finally {
      await connection.close();
    }
  }

  /**
   * The `default` namespace and Chorus's search attributes (SQL visibility keeps custom attributes per
   * namespace), then waits until each node's caches know both: a query naming every attribute succeeds on each.
   */
  private async registerNamespace(): Promise<void> {
    const connection = await Connection.connect({ address: this.address });
    try {
      await connection.workflowService
        .registerNamespace({ namespace: NAMESPACE, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(3 * 24 * 3600) } })
        .catch((error: Error & { code?: number }) => {
          if (error.code !== 6) throw error; // ALREADY_EXISTS
        });
      await waitUntil('the default namespace', () => connection.workflowService.describeNamespace({ namespace: NAMESPACE }).then(() => true), 30_000, 500);
      await ensureSearchAttributes(connection, NAMESPACE);
    } finally {
      await connection.close();
    }
    const query = CHORUS_SEARCH_ATTRIBUTES.map((key) => `${key.name} IS NULL`).join(' AND ');
    for (let index = 0; index < this.nodes.length; index += 1) {
      const direct = await Connection.connect({ address: this.nodeAddress(index) });
      try {
        await waitUntil(
          `node ${index + 1} to know the namespace and search attributes`,
          () => direct.workflowService.countWorkflowExecutions({ namespace: NAMESPACE, query }).then(() => true),
          60_000,
          500,
        );
      } finally {
        await direct.close();
      }
    }
  }
}

/** The cluster_membership table stores ports as smallint: membership ports must stay below 32768, under Linux's ephemeral range. */
async function freeMembershipPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer().once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('No free loopback port between 20000 and 32000 for Temporal membership');
}

/** The last lines of a node's log, for failure messages. */
function tail(logFile: string, lines = 15): string {
  return existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-lines).join('\n') : `(no ${logFile})`;
}

/** Processes killed on purpose, whose exit is expected. */
const killed = new WeakSet<ManagedProcess>();
