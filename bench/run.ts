/**
 * `npm run bench [-- --quick] [--only overhead,start,status-read,throughput,memory,scaling,rate-limit,peer,phases,budget,stream] [--label name]
 *  [--sqlite-pragma K=V]... [--dc KEY=VALUE]... [--worker-env K=V]... [--baseline-keepalive 0|1] [--cluster] [--profile DIR]
 *  [--api-node-flags '--flag ...'|none] [--worker-node-flags '--flag ...'|none] [--memory-runs N]`
 *
 * Starts its own stack on free loopback ports (with --cluster, the two-node PostgreSQL cluster instead of the dev server), measures Chorus against a plain Express gateway
 * calling the same simulator in the same run (and, in `peer`, against Portkey's gateway), writes bench/results/<label>.{json,md,svg}, and
 * stops every child it started.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { defaultPayloadConverter } from '@temporalio/common';
import { runLoad, summarize, type LatencySummary, type LoadResult } from './lib/load';
import { cpuMeter, readMemory, round, sampleMemory, stopAll } from './lib/processes';
import { BUDGET_VARIANTS, writeReports, type BudgetVariant } from './lib/report';
import { API_KEY, BenchStack, ONE_CALL_LOCAL, TASK_QUEUE } from './lib/stack';
import { NODE_FLAGS, type NodeFlagsProcess } from '../src/process/node-flags';
import { PROVIDER_NAMES } from '../src/pipeline/providers';
import { loadPipelineDirectory } from '../src/pipeline/registry';
import type { PipelineBudget } from '../src/pipeline/budget';
import type { PipelineDefinition, PipelineResult, PipelineRunInput } from '../src/pipeline/types';
import { projectRoot } from '../src/project-root';
import { connectRedisTenantLedger } from '../src/spend/tenant-ledger';
import type { SimulatorStats } from './sim-process';

const SCENARIOS = ['overhead', 'start', 'status-read', 'throughput', 'memory', 'scaling', 'rate-limit', 'peer', 'phases', 'budget', 'stream'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Plan {
  warmup: number;
  overhead: { latencyMs: number; count: number; concurrency: number; maxMs: number };
  start: { count: number };
  /** Runs started one after another per loop, each read through GET /v1/workflows/:id right after its 202 and then every `pollEveryMs` until it closes. */
  statusRead: { latencyMs: number; runs: number; concurrency: number; pollEveryMs: number; maxMs: number };
  throughput: { latencyMs: number; runs: Array<{ concurrency: number; count: number; maxMs: number; abortAfterMs?: number }> };
  /**
   * `runs` runs held open at their first provider call, each with a result long-poll on the API
   * (started through at most `startConcurrency` POSTs at once, for at most `openMaxMs`); memory is
   * sampled throughout. After `holdMs` with all open, `closeSamples` one-call runs complete one at a
   * time (close → long-poll answer with the others still waiting), then the held runs are terminated at once.
   */
  memory: { runs: number; startConcurrency: number; openMaxMs: number; holdMs: number; closeSamples: number };
  scaling: { latencyMs: number; maxActivities: number; concurrency: number; count: number; maxMs: number };
  /** Three workers sharing pacing through Redis, each provider limited to `limitPerSec`. */
  rateLimit: { latencyMs: number; limitPerSec: number; concurrency: number; count: number; maxMs: number };
  /** One OpenAI call, one at a time: directly, through Portkey's gateway, and as a one-step Chorus run in each mode. */
  peer: { latencyMs: number; count: number };
  /** One-call runs one at a time in each mode, each split into phases on one clock (client, server history, simulator). */
  phases: { latencyMs: number; count: number };
  /**
   * Streamed answers through POST /v1/chat/completions (stream: true, token events over Redis) against
   * the simulator's own stream: time to first token at `chunkMs` between tokens, tokens/s with none,
   * and the API's memory while `openStreams` streams stay open.
   */
  stream: { latencyMs: number; chunkMs: number; count: number; rateCount: number; openStreams: number };
  /**
   * The same map of `items` OpenAI calls (one at a time) without a budget, under a run budget, and
   * under a run budget plus a tenant cap (the Redis ledger), `runs` of each, interleaved.
   */
  budget: { latencyMs: number; items: number; runs: number; warmup: number };
}

const PLANS: Record<'quick' | 'full', Plan> = {
  quick: {
    warmup: 10,
    overhead: { latencyMs: 100, count: 40, concurrency: 4, maxMs: 15_000 },
    start: { count: 20 },
    statusRead: { latencyMs: 100, runs: 20, concurrency: 2, pollEveryMs: 25, maxMs: 30_000 },
    throughput: {
      latencyMs: 50,
      runs: [
        { concurrency: 50, count: 300, maxMs: 5_000, abortAfterMs: 15_000 },
        { concurrency: 200, count: 600, maxMs: 5_000, abortAfterMs: 15_000 },
      ],
    },
    memory: { runs: 1000, startConcurrency: 50, openMaxMs: 150_000, holdMs: 3_000, closeSamples: 20 },
    scaling: { latencyMs: 1000, maxActivities: 2, concurrency: 30, count: 24, maxMs: 20_000 },
    rateLimit: { latencyMs: 50, limitPerSec: 15, concurrency: 100, count: 200, maxMs: 40_000 },
    peer: { latencyMs: 50, count: 40 },
    phases: { latencyMs: 50, count: 30 },
    stream: { latencyMs: 50, chunkMs: 10, count: 20, rateCount: 5, openStreams: 100 },
    budget: { latencyMs: 50, items: 6, runs: 15, warmup: 4 },
  },
  full: {
    warmup: 30,
    overhead: { latencyMs: 100, count: 300, concurrency: 4, maxMs: 60_000 },
    start: { count: 100 },
    statusRead: { latencyMs: 100, runs: 100, concurrency: 4, pollEveryMs: 25, maxMs: 60_000 },
    throughput: {
      latencyMs: 50,
      runs: [
        { concurrency: 50, count: 3000, maxMs: 30_000, abortAfterMs: 60_000 },
        { concurrency: 200, count: 6000, maxMs: 30_000, abortAfterMs: 60_000 },
      ],
    },
    memory: { runs: 1000, startConcurrency: 50, openMaxMs: 300_000, holdMs: 10_000, closeSamples: 100 },
    scaling: { latencyMs: 1000, maxActivities: 2, concurrency: 30, count: 60, maxMs: 45_000 },
    rateLimit: { latencyMs: 50, limitPerSec: 15, concurrency: 100, count: 600, maxMs: 90_000 },
    peer: { latencyMs: 50, count: 200 },
    phases: { latencyMs: 50, count: 100 },
    // Each streamed answer takes about a second per path: 40 + 10 pairs keep the scenario near 2 minutes.
    stream: { latencyMs: 50, chunkMs: 10, count: 40, rateCount: 10, openStreams: 300 },
    budget: { latencyMs: 50, items: 6, runs: 50, warmup: 5 },
  },
};

interface CliOptions {
  mode: 'quick' | 'full';
  label: string;
  only: Set<Scenario>;
  sqlitePragmas: string[];
  dynamicConfig: string[];
  workerEnv: Record<string, string>;
  baselineKeepAlive: boolean;
  workers: number;
  cluster: boolean;
  /** Where the API and workers write V8 CPU profiles (`--cpu-prof`), one per process and thread. */
  profileDir?: string;
  /** V8 flags of the API and the workers: the shipped ones unless `--api-node-flags` / `--worker-node-flags` replace them. */
  nodeFlags: Record<NodeFlagsProcess, readonly string[]>;
  /** Runs the memory scenario holds open, in place of the plan's 1,000 (a slope on a slow box). */
  memoryRuns?: number;
}

/** `--api-node-flags '--a --b'`; `none` for no flags (npm drops an empty argument). */
const nodeFlagsArg = (value: string) => (value === 'none' ? [] : value.split(' ').filter(Boolean));

function parseArgs(argv: string[]): CliOptions {
  const options: CliOptions = {
    mode: 'full',
    label: '',
    only: new Set(SCENARIOS),
    sqlitePragmas: [],
    dynamicConfig: [],
    workerEnv: {},
    baselineKeepAlive: true,
    workers: 1,
    cluster: false,
    nodeFlags: { ...NODE_FLAGS },
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--quick') options.mode = 'quick';
    else if (arg === '--full') options.mode = 'full';
    else if (arg === '--label') options.label = value();
    else if (arg === '--only') {
      const names = value().split(',');
      const unknown = names.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
      if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
      options.only = new Set(names as Scenario[]);
    } else if (arg === '--sqlite-pragma') options.sqlitePragmas.push(value());
    else if (arg === '--dc') options.dynamicConfig.push(value());
    else if (arg === '--worker-env') {
      const [key, ...rest] = value().split('=');
      options.workerEnv[key] = rest.join('=');
    } else if (arg === '--baseline-keepalive') options.baselineKeepAlive = value() !== '0';
    else if (arg === '--workers') options.workers = Math.max(1, Math.min(3, Number(value())));
    else if (arg === '--cluster') options.cluster = true;
    else if (arg === '--profile') options.profileDir = value();
    else if (arg === '--api-node-flags') options.nodeFlags.api = nodeFlagsArg(value());
    else if (arg === '--worker-node-flags') options.nodeFlags.worker = nodeFlagsArg(value());
    else if (arg === '--memory-runs') options.memoryRuns = Number(value());
    else throw new Error(`unknown argument ${arg}`);
  }
  options.label ||= options.mode;
  return options;
}

const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Test processes of the other engineer (jest) running now: the run is noisier then. */
function jestProcessesRunning(): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('jest')) count++;
    } catch {
      // the process ended meanwhile
    }
  }
  return count;
}

function machineFacts(stack: BenchStack) {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGb: round(totalmem() / 1024 ** 3),
    kernel: release(),
    node: process.version,
    temporalCli: stack.temporalVersion,
  };
}

function httpClient(): AxiosInstance {
  return axios.create({
    httpAgent: new Agent({ keepAlive: true, maxSockets: Infinity }),
    validateStatus: () => true,
    timeout: 45_000,
  });
}

const prompt = (index: number) => `Why durable execution matters for AI (bench request ${index})`;

async function baselinePipeline(http: AxiosInstance, gatewayUrl: string, index: number, signal?: AbortSignal): Promise<void> {
  const response = await http.post(`${gatewayUrl}/v1/classic`, { prompt: prompt(index) }, { signal });
  if (response.status !== 200) throw new Error(`gateway answered ${response.status}: ${JSON.stringify(response.data).slice(0, 160)}`);
}

const headers = { 'x-api-key': API_KEY };

/**
 * One step per provider, all at once: every provider's queue then has work of its own, so each
 * provider's rate shows its own limit rather than the pace of the step before it.
 */
const FAN_OUT_PIPELINE = {
  name: 'bench-fan-out',
  steps: [{ id: 'all', parallel: PROVIDER_NAMES.map((provider) => ({ id: provider, provider, task: 'generate', prompt: '{{input.prompt}}' })) }],
};

/** The classic pipeline with its calls as local activities (`execution: local`), sent inline. */
const CLASSIC_LOCAL: PipelineDefinition = { ...loadPipelineDirectory(join(projectRoot(), 'pipelines')).get('classic')!, execution: 'local' };

/** One OpenAI call as a one-step run, the phases scenario's unit of work. */
const oneCallPipeline = (execution: 'remote' | 'local'): PipelineDefinition => ({
  name: `bench-one-call-${execution}`,
  execution,
  steps: [{ id: 'draft', provider: 'openai', task: 'generate', prompt: '{{input.prompt}}' }],
});

/** Starts the named pipeline, or an inline definition. */
async function startViaApi(http: AxiosInstance, apiUrl: string, index: number, signal?: AbortSignal, pipeline: string | object = 'classic'): Promise<string> {
  const which = typeof pipeline === 'string' ? { pipeline } : { definition: pipeline };
  const response = await http.post(`${apiUrl}/v1/workflows`, { ...which, input: { prompt: prompt(index) } }, { headers, signal });
  if (response.status !== 202) throw new Error(`POST /v1/workflows answered ${response.status}: ${JSON.stringify(response.data).slice(0, 160)}`);
  return response.data.workflowId as string;
}

/** POST, then long-poll the result until the run closes (at most 4 polls of 30 s). */
/** GET is idempotent: a connection reset (a keep-alive socket the server just closed) is retried, twice at most. */
async function longPoll(http: AxiosInstance, url: string, signal?: AbortSignal, timeoutMs = 40_000) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await http.get(url, { headers, timeout: timeoutMs, signal });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 3 || signal?.aborted || !(code === 'ECONNRESET' || /socket hang up/.test((error as Error).message))) throw error;
    }
  }
}

async function chorusPipeline(
  http: AxiosInstance,
  apiUrl: string,
  index: number,
  signal?: AbortSignal,
  onStarted?: () => void,
  pipeline?: string | object,
): Promise<void> {
  const workflowId = await startViaApi(http, apiUrl, index, signal, pipeline);
  onStarted?.();
  for (let poll = 0; poll < 4; poll++) {
    const response = await longPoll(http, `${apiUrl}/v1/workflows/${encodeURIComponent(workflowId)}/result?waitSeconds=30`, signal);
    if (response.status === 200) {
      if (response.data.status !== 'COMPLETED')
        throw new Error(`run ended ${response.data.status}: ${JSON.stringify(response.data.error ?? {}).slice(0, 160)}`);
      return;
    }
    if (response.status !== 202) throw new Error(`GET result answered ${response.status}: ${JSON.stringify(response.data).slice(0, 160)}`);
  }
  throw new Error(`run ${workflowId} still open after 4 long-polls`);
}

/**
 * Where a run's time goes, from its own history: event timestamps are the server's, so this splits
 * queueing (scheduled → started) from worker processing and provider time (started → completed).
 */
async function historyTimeline(stack: BenchStack, http: AxiosInstance) {
  const postAt = Date.now();
  const workflowId = await startViaApi(http, stack.apiUrl, -2);
  const postedAt = Date.now();
  const response = await http.get(`${stack.apiUrl}/v1/workflows/${encodeURIComponent(workflowId)}/result?waitSeconds=30`, { headers });
  const resultAt = Date.now();
  if (response.status !== 200) throw new Error(`history timeline run answered ${response.status}`);
  const handle = stack.client!.workflow.getHandle(workflowId);
  const events = (await handle.fetchHistory()).events ?? [];
  const ms = (event: (typeof events)[number]) => Number(event.eventTime?.seconds ?? 0) * 1000 + Math.round((event.eventTime?.nanos ?? 0) / 1e6);
  const t0 = ms(events[0]);
  const typeName = (event: (typeof events)[number]) => String(EVENT_TYPE_NAMES[Number(event.eventType)] ?? event.eventType);
  const list = events.map((event) => ({ event: typeName(event), atMs: ms(event) - t0 }));
  const phases: Record<string, number> = {};
  for (let i = 1; i < list.length; i++) {
    const phase = `${list[i - 1].event} → ${list[i].event}`;
    phases[phase] = (phases[phase] ?? 0) + (list[i].atMs - list[i - 1].atMs);
  }
  const closedAt = list[list.length - 1].atMs;
  return {
    totalMs: closedAt,
    /** Client clock (same machine) relative to the first event. */
    client: { postSentMs: postAt - t0, postAnsweredMs: postedAt - t0, resultAnsweredMs: resultAt - t0, resultAfterCloseMs: resultAt - t0 - closedAt },
    events: list,
    phases: Object.entries(phases)
      .map(([phase, totalMs]) => ({ phase, totalMs }))
      .sort((a, b) => b.totalMs - a.totalMs),
  };
}

// The history event types a pipeline run produces, by their proto enum number.
const EVENT_TYPE_NAMES: Record<number, string> = {
  1: 'WorkflowExecutionStarted',
  2: 'WorkflowExecutionCompleted',
  3: 'WorkflowExecutionFailed',
  5: 'WorkflowTaskScheduled',
  6: 'WorkflowTaskStarted',
  7: 'WorkflowTaskCompleted',
  8: 'WorkflowTaskTimedOut',
  9: 'WorkflowTaskFailed',
  10: 'ActivityTaskScheduled',
  11: 'ActivityTaskStarted',
  12: 'ActivityTaskCompleted',
  13: 'ActivityTaskFailed',
  14: 'ActivityTaskTimedOut',
  25: 'MarkerRecorded',
  40: 'UpsertWorkflowSearchAttributes',
};

/** How long a status read takes while a run is going: the first right after its 202, then every read until it closes. */
async function statusReads(stack: BenchStack, http: AxiosInstance, plan: Plan['statusRead']) {
  const firstReads: number[] = [];
  const runningReads: number[] = [];
  const closingReads: number[] = [];
  const load = await runLoad({ count: plan.runs, concurrency: plan.concurrency, maxMs: plan.maxMs }, async (i, signal) => {
    const workflowId = await startViaApi(http, stack.apiUrl, i, signal);
    const url = `${stack.apiUrl}/v1/workflows/${encodeURIComponent(workflowId)}`;
    // A classic run at this latency closes within a few seconds; the bound only stops a run that never does.
    for (let read = 0; read < 2000; read++) {
      const t0 = performance.now();
      const response = await http.get(url, { headers, signal });
      const ms = performance.now() - t0;
      if (response.status !== 200) throw new Error(`GET status answered ${response.status}: ${JSON.stringify(response.data).slice(0, 160)}`);
      if (response.data.status !== 'RUNNING') {
        if (response.data.status !== 'COMPLETED') throw new Error(`run ended ${response.data.status}`);
        closingReads.push(ms);
        return;
      }
      if (!Array.isArray(response.data.steps)) throw new Error('a running run answered without steps (progress not read)');
      (read === 0 ? firstReads : runningReads).push(ms);
      await new Promise((resolve) => setTimeout(resolve, plan.pollEveryMs));
    }
    throw new Error(`run ${workflowId} still running after 2000 reads`);
  });
  const first = summarize(firstReads);
  const whileRunning = summarize([...firstReads, ...runningReads]);
  return {
    ...plan,
    errors: load.errors,
    errorCounts: load.errorCounts,
    firstRead: first,
    whileRunning,
    afterClose: summarize(closingReads),
    targetP50Ms: STATUS_READ_TARGET_MS,
    met: load.errors === 0 && first.p50 <= STATUS_READ_TARGET_MS && whileRunning.p50 <= STATUS_READ_TARGET_MS,
  };
}

/** The issue's goal for a status read of a running run, at every moment of it. */
const STATUS_READ_TARGET_MS = 20;

/** Terminates runs a scenario left open (aborted by its deadline) so they do not load the next one. */
async function terminateLeftovers(stack: BenchStack): Promise<number> {
  const client = stack.client!;
  let terminated = 0;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const open: string[] = [];
    // The dev server is the benchmark's own, so every open run on it is one of ours.
    for await (const info of client.workflow.list({ query: `ExecutionStatus = 'Running'`, pageSize: 1000 })) {
      open.push(info.workflowId);
      if (open.length >= 1000) break;
    }
    if (!open.length) break;
    for (let i = 0; i < open.length; i += 200) {
      await Promise.all(
        open.slice(i, i + 200).map((id) =>
          client.workflow
            .getHandle(id)
            .terminate('benchmark scenario ended')
            .catch(() => undefined),
        ),
      );
    }
    terminated += open.length;
  }
  if (terminated) log(`terminated ${terminated} run(s) the scenario left open`);
  return terminated;
}

interface RunResult {
  load: LoadResult;
  simulator: SimulatorStats;
  /** CPU ms per completed pipeline, by process: on a small machine this bounds throughput. */
  cpuMsPerPipeline: Record<string, number>;
}

async function measured(stack: BenchStack, what: string, load: () => Promise<LoadResult>): Promise<RunResult> {
  await stack.simulatorCall({ type: 'clear' });
  const meter = cpuMeter(stack.pids(), stack.processTrees);
  const result = await load();
  const cpu = meter.stop();
  const cpuMsPerPipeline = Object.fromEntries(Object.entries(cpu).map(([name, ms]) => [name, round(ms / Math.max(1, result.completed), 1)]));
  const simulator = await stack.simulatorCall({ type: 'stats' });
  if (result.errors) {
    await terminateLeftovers(stack);
    if (process.env.BENCH_DEBUG) for (const line of stack.api?.tail() ?? []) log(`[api] ${line}`);
  }
  log(
    `${what}: ${result.completed}/${result.issued} ok, ${result.errors} errors, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ` +
      `${result.throughputPerSec}/s (steady ${result.steadyThroughputPerSec}/s)${result.errors ? ` — ${JSON.stringify(result.errorCounts)}` : ''}; ` +
      `CPU ms/pipeline ${JSON.stringify(cpuMsPerPipeline)}`,
  );
  return { load: result, simulator, cpuMsPerPipeline };
}

/**
 * The same OpenAI chat call four ways, one at a time, the paths alternating so drift in machine
 * load hits all alike: straight to the simulator, through Portkey's gateway, and through Chorus's
 * POST /v1/chat/completions (the same OpenAI request; a durable one-step run) in each execution
 * mode: `openai/gpt-4o-mini` (remote) and `pipeline/bench-one-call-local` (the same call, local).
 */
async function peerSideBySide(stack: BenchStack, http: AxiosInstance, plan: Plan['peer']) {
  const portkeyUrl = await stack.startPortkey();
  await stack.setLatency(plan.latencyMs);
  const openaiUrl = `${stack.simulatorUrl}/openai/v1`;
  const body = (i: number) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt(i) }] });
  const expectOk = (what: string, response: { status: number; data: unknown }) => {
    if (response.status !== 200) throw new Error(`${what} answered ${response.status}: ${JSON.stringify(response.data).slice(0, 160)}`);
  };
  const paths: Record<string, (i: number) => Promise<void>> = {
    direct: async (i) => expectOk('direct', await http.post(`${openaiUrl}/chat/completions`, body(i), { headers: { authorization: 'Bearer sk-bench' } })),
    portkey: async (i) =>
      expectOk(
        'portkey',
        await http.post(`${portkeyUrl}/v1/chat/completions`, body(i), {
          headers: { authorization: 'Bearer sk-bench', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': openaiUrl },
        }),
      ),
    chorusRemote: async (i) =>
      expectOk(
        'chorus',
        await http.post(
          `${stack.apiUrl}/v1/chat/completions`,
          { ...body(i), model: 'openai/gpt-4o-mini' },
          { headers: { authorization: `Bearer ${API_KEY}` } },
        ),
      ),
    chorusLocal: async (i) =>
      expectOk(
        'chorus local',
        await http.post(
          `${stack.apiUrl}/v1/chat/completions`,
          { ...body(i), model: `pipeline/${ONE_CALL_LOCAL}` },
          { headers: { authorization: `Bearer ${API_KEY}` } },
        ),
      ),
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(paths).map((name) => [name, []]));
  // A few of each first: connection pools, the gateway's JIT, the workflow cache.
  for (let i = 0; i < 5; i++) for (const call of Object.values(paths)) await call(-10 - i);
  for (let i = 0; i < plan.count; i++) {
    for (const [name, call] of Object.entries(paths)) {
      const t0 = performance.now();
      await call(i);
      samples[name].push(performance.now() - t0);
    }
  }
  const latency = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, summarize(values)]));
  const overOf = (name: string) => round(latency[name].p50 - latency.direct.p50);
  const overheadOverDirectMsP50 = { portkey: overOf('portkey'), chorusRemote: overOf('chorusRemote'), chorusLocal: overOf('chorusLocal') };
  const gateway = Math.max(overheadOverDirectMsP50.portkey, 0.1);
  const peer = {
    ...plan,
    gateway: '@portkey-ai/gateway',
    latencyMs: latency,
    overheadOverDirectMsP50,
    ratioToGateway: {
      chorusRemote: round(overheadOverDirectMsP50.chorusRemote / gateway, 1),
      chorusLocal: round(overheadOverDirectMsP50.chorusLocal / gateway, 1),
    },
    targetOverDirectMs: ONE_CALL_TARGET_MS,
  };
  log(
    `peer (one OpenAI call, p50 over direct ${latency.direct.p50} ms): Portkey +${overheadOverDirectMsP50.portkey} ms, ` +
      `Chorus remote +${overheadOverDirectMsP50.chorusRemote} ms (${peer.ratioToGateway.chorusRemote}×), local +${overheadOverDirectMsP50.chorusLocal} ms (${peer.ratioToGateway.chorusLocal}×)`,
  );
  return peer;
}

/**
 * Where a one-call run's time goes, run by run, on one clock (everything is on this machine): the
 * client's POST and result answer, the server's history events, and the simulator's arrival of the
 * call. Each phase is a gap between consecutive milestones; the report gives each gap's p50 over
 * `count` sequential runs per mode, so the phases of one mode add up to about its p50 run.
 */
async function oneCallPhases(stack: BenchStack, http: AxiosInstance, plan: Plan['phases']) {
  await stack.setLatency(plan.latencyMs);
  const now = () => performance.timeOrigin + performance.now();
  const modes: Record<string, { totalMs: LatencySummary; phases: Array<{ phase: string } & LatencySummary> }> = {};
  for (const execution of ['remote', 'local'] as const) {
    const gaps = new Map<string, number[]>();
    const totals: number[] = [];
    for (let i = -3; i < plan.count; i++) {
      await stack.simulatorCall({ type: 'clear' });
      const postSent = now();
      const workflowId = await startViaApi(http, stack.apiUrl, i, undefined, oneCallPipeline(execution));
      const postAnswered = now();
      const response = await longPoll(http, `${stack.apiUrl}/v1/workflows/${encodeURIComponent(workflowId)}/result?waitSeconds=30`);
      const resultAnswered = now();
      if (response.status !== 200 || response.data.status !== 'COMPLETED') throw new Error(`phases run answered ${response.status} ${response.data?.status}`);
      // The first runs warm the path up (the workflow cache, the inline definition's first bundle use).
      if (i < 0) continue;
      const events = (await stack.client!.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const { arrivals } = await stack.simulatorCall({ type: 'stats' });
      const seen = new Map<string, number>();
      const milestones = events.map((event) => {
        const name = String(EVENT_TYPE_NAMES[Number(event.eventType)] ?? event.eventType);
        const nth = (seen.get(name) ?? 0) + 1;
        seen.set(name, nth);
        const atMs = Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
        return { name: nth > 1 ? `${name}#${nth}` : name, atMs };
      });
      milestones.push({ name: 'POST sent', atMs: postSent }, { name: 'result answered', atMs: resultAnswered });
      if (arrivals[0] !== undefined) milestones.push({ name: 'call reached the simulator', atMs: arrivals[0] });
      milestones.sort((a, b) => a.atMs - b.atMs);
      for (let m = 1; m < milestones.length; m++) {
        const phase = `${milestones[m - 1].name} → ${milestones[m].name}`;
        gaps.set(phase, [...(gaps.get(phase) ?? []), milestones[m].atMs - milestones[m - 1].atMs]);
      }
      gaps.set('(POST answered after sent)', [...(gaps.get('(POST answered after sent)') ?? []), postAnswered - postSent]);
      totals.push(resultAnswered - postSent);
    }
    // A phase seen in fewer than half the runs is an ordering accident of a millisecond clock, not a phase.
    const phases = [...gaps.entries()].filter(([, values]) => values.length >= totals.length / 2).map(([phase, values]) => ({ phase, ...summarize(values) }));
    modes[execution] = { totalMs: summarize(totals), phases };
    log(
      `phases, one call ${execution} (p50 ${modes[execution].totalMs.p50} ms at ${plan.latencyMs} ms per call): ` +
        phases.map((phase) => `${phase.phase} ${phase.p50} ms (n ${phase.n})`).join('; '),
    );
  }
  return { ...plan, modes };
}

interface StreamedAnswer {
  firstTokenMs: number;
  tokens: number;
  /** From the first token to the last. */
  streamingMs: number;
  text: string;
}

/** POSTs an OpenAI chat request with stream: true and reads its server-sent events to the end. */
async function readChatStream(url: string, body: object, requestHeaders: Record<string, string>, signal?: AbortSignal): Promise<StreamedAnswer> {
  const startedAt = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...requestHeaders },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  if (!response.ok || !response.body) throw new Error(`${url} answered ${response.status}: ${(await response.text()).slice(0, 160)}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let text = '';
  let tokens = 0;
  let firstAt: number | undefined;
  let lastAt = startedAt;
  for await (const piece of response.body) {
    buffer += decoder.decode(piece as Uint8Array, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const data = JSON.parse(line.slice(6)) as { error?: unknown; choices?: { delta?: { content?: string } }[] };
        if (data.error) throw new Error(`stream error: ${JSON.stringify(data.error).slice(0, 160)}`);
        const content = data.choices?.[0]?.delta?.content;
        if (!content) continue;
        lastAt = performance.now();
        firstAt ??= lastAt;
        tokens += 1;
        text += content;
      }
    }
  }
  if (firstAt === undefined) throw new Error(`${url} streamed no text`);
  return { firstTokenMs: firstAt - startedAt, tokens, streamingMs: lastAt - firstAt, text };
}

/**
 * Streaming through Chorus vs straight from the simulator, the paths alternating: the API and a
 * worker restarted with token events on Redis Streams (as `npm start` runs them with redis-server).
 */
async function streamSideBySide(stack: BenchStack, plan: Plan['stream']) {
  const redisUrl = await stack.startRedis();
  await stack.stopWorkers();
  await stack.restartApi({ CHORUS_REDIS_URL: redisUrl });
  await stack.startWorker({ CHORUS_REDIS_URL: redisUrl });
  await stack.setLatency(plan.latencyMs);
  const direct = `${stack.simulatorUrl}/openai/v1/chat/completions`;
  const chorus = `${stack.apiUrl}/v1/chat/completions`;
  const paced = (i: number, chunkMs: number) => `${prompt(i)} [[sim:chunk-ms=${chunkMs}]]`;
  const call = (path: 'direct' | 'chorus', content: string, signal?: AbortSignal) =>
    path === 'direct'
      ? readChatStream(direct, { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }, { authorization: 'Bearer sk-bench' }, signal)
      : readChatStream(chorus, { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content }] }, { authorization: `Bearer ${API_KEY}` }, signal);

  for (let i = 0; i < 3; i++) for (const path of ['direct', 'chorus'] as const) await call(path, paced(-20 - i, plan.chunkMs));
  const firstToken: Record<'direct' | 'chorus', number[]> = { direct: [], chorus: [] };
  let tokensPerAnswer = 0;
  for (let i = 0; i < plan.count; i++) {
    for (const path of ['direct', 'chorus'] as const) {
      const answer = await call(path, paced(i, plan.chunkMs));
      firstToken[path].push(answer.firstTokenMs);
      tokensPerAnswer = answer.tokens;
    }
  }
  // No pause between tokens: how fast the transport itself carries them (worker → Redis → API → client).
  const rates: Record<'direct' | 'chorus', number[]> = { direct: [], chorus: [] };
  for (let i = 0; i < plan.rateCount; i++) {
    for (const path of ['direct', 'chorus'] as const) {
      const answer = await call(path, paced(1000 + i, 0));
      rates[path].push(answer.tokens / Math.max(answer.streamingMs / 1000, 0.001));
    }
  }

  // Open streams held open by slow tokens: the API's resident memory over its idle level, per stream.
  const apiPid = stack.api!.pid;
  await stack.simulatorCall({ type: 'clear' });
  const idleMb = readMemory(apiPid)!.rssMb;
  const abort = new AbortController();
  let streaming = 0;
  const open = Array.from({ length: plan.openStreams }, (_, i) =>
    readChatStream(
      chorus,
      { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: paced(2000 + i, 1000) }] },
      { authorization: `Bearer ${API_KEY}` },
      abort.signal,
    ).catch(() => undefined),
  );
  // Every stream is open once the simulator has all their provider calls (each answering one token a second).
  const started = Date.now();
  let openMb = idleMb;
  while (Date.now() - started < 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stats = await stack.simulatorCall({ type: 'stats' });
    streaming = stats.byProvider.openai ?? 0;
    openMb = Math.max(openMb, readMemory(apiPid)?.rssMb ?? 0);
    if (streaming >= plan.openStreams) break;
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  openMb = Math.max(openMb, readMemory(apiPid)?.rssMb ?? 0);
  abort.abort();
  await Promise.all(open);
  const terminated = await terminateLeftovers(stack);

  const ttft = { direct: summarize(firstToken.direct), chorus: summarize(firstToken.chorus) };
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const stream = {
    ...plan,
    transport: 'redis' as const,
    tokensPerAnswer,
    timeToFirstTokenMs: ttft,
    ttftOverheadMsP50: round(ttft.chorus.p50 - ttft.direct.p50),
    tokensPerSec: { direct: round(median(rates.direct)), chorus: round(median(rates.chorus)) },
    memory: {
      openStreams: plan.openStreams,
      providerCallsOpen: streaming,
      apiIdleRssMb: round(idleMb),
      apiOpenRssMb: round(openMb),
      apiKbPerStream: round(((openMb - idleMb) * 1024) / plan.openStreams),
    },
    leftoversTerminated: terminated,
  };
  log(
    `stream: first token p50 direct ${ttft.direct.p50} ms, Chorus ${ttft.chorus.p50} ms (+${stream.ttftOverheadMsP50}); ` +
      `tokens/s direct ${stream.tokensPerSec.direct}, Chorus ${stream.tokensPerSec.chorus}; ${stream.memory.apiKbPerStream} kB API RSS per open stream`,
  );
  return stream;
}

/** The budget scenario's pipeline: one OpenAI call per item, one at a time, so a run's extra time is its calls' extra time. */
const budgetedFanOut = (budget?: PipelineBudget): PipelineDefinition => ({
  name: 'bench-budget',
  steps: [
    {
      id: 'each',
      map: { over: 'input.items', concurrency: 1, step: { provider: 'openai', task: 'summarize', prompt: 'Summarize: {{item}}', maxOutputTokens: 100 } },
    },
  ],
  ...(budget ? { budget } : {}),
});

/** The workflow queue of the budget scenario's Redis worker: a worker of its own, whose every call holds and commits in the tenant ledger. */
const REDIS_TASK_QUEUE = `${TASK_QUEUE}-redis`;
/** The tenant the Redis worker holds to a (never reached) daily cap; every other tenant's calls are only counted. */
const CAPPED_TENANT = 'bench-capped';
/** Hold + commit pairs timed against the scenario's redis-server straight from this process: the ledger's own cost per call. */
const LEDGER_PROBE_CALLS = 500;

/**
 * What budget checks cost per provider call: the same run (a map of one-at-a-time OpenAI calls)
 * without a budget and under a run budget (workflow state only) on the bench's worker, and on a
 * second worker configured with Redis (which streams tokens, shares breakers and counts every call
 * in the tenant ledger) without a budget and under a run budget plus a tenant cap. Interleaved run
 * by run so drift in machine load hits all alike; each run is started with the input the API built
 * for it (its prices), on its worker's queue, timed from start to result, and the CPU of every
 * process is read around it, so each variant's CPU is its own.
 */
async function budgetChecks(stack: BenchStack, http: AxiosInstance, plan: Plan['budget']) {
  const client = stack.client!;
  await stack.setLatency(plan.latencyMs);
  const redisUrl = await stack.startRedis();
  const redisWorker = await stack.startWorker({
    CHORUS_TASK_QUEUE: REDIS_TASK_QUEUE,
    CHORUS_REDIS_URL: redisUrl,
    CHORUS_TENANT_CAPS: JSON.stringify({ [CAPPED_TENANT]: { dailyUsd: 1_000_000 } }),
  });
  try {
    const items = Array.from({ length: plan.items }, (_, index) => `Report ${index}: the queue kept every job, and nothing was lost.`);
    const probeStart = await http.post(`${stack.apiUrl}/v1/workflows`, { definition: budgetedFanOut({ maxCostUsd: 1000 }), input: { items } }, { headers });
    if (probeStart.status !== 202) throw new Error(`POST /v1/workflows answered ${probeStart.status}: ${JSON.stringify(probeStart.data).slice(0, 160)}`);
    const probe = client.workflow.getHandle(probeStart.data.workflowId as string);
    await probe.result();
    const description = await probe.describe();
    const started = (await probe.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    const budgeted = defaultPayloadConverter.fromPayload(started!.input!.payloads![0]) as PipelineRunInput;
    const { budget: _runBudget, ...unbudgeted } = { ...budgeted, pipeline: budgetedFanOut() };
    const variants: Record<BudgetVariant, { taskQueue: string; input: PipelineRunInput }> = {
      none: { taskQueue: TASK_QUEUE, input: unbudgeted },
      runBudget: { taskQueue: TASK_QUEUE, input: budgeted },
      redisWorker: { taskQueue: REDIS_TASK_QUEUE, input: unbudgeted },
      redisWorkerRunBudgetAndTenantCap: { taskQueue: REDIS_TASK_QUEUE, input: { ...budgeted, tenant: CAPPED_TENANT } },
    };
    const runOnce = async (variant: BudgetVariant) => {
      const { taskQueue, input } = variants[variant];
      const result = (await client.workflow.execute(description.type, {
        workflowId: `bench-budget-${variant}-${randomUUID()}`,
        taskQueue,
        args: [input],
        typedSearchAttributes: description.typedSearchAttributes,
        workflowExecutionTimeout: '2m',
      })) as PipelineResult;
      // The budgeted runs really went through their ledger: spent what they used.
      if (variants[variant].input.budget && !(result.budget && result.budget.spent.tokens > 0)) throw new Error(`a ${variant} run reported no budget spend`);
    };
    for (let i = 0; i < plan.warmup; i++) for (const variant of BUDGET_VARIANTS) await runOnce(variant);

    const runMs: Record<string, number[]> = Object.fromEntries(BUDGET_VARIANTS.map((variant) => [variant, []]));
    const cpuMs: Record<string, Record<string, number>> = Object.fromEntries(BUDGET_VARIANTS.map((variant) => [variant, {}]));
    for (let i = 0; i < plan.runs; i++) {
      for (const variant of BUDGET_VARIANTS) {
        const meter = cpuMeter(stack.pids(), stack.processTrees);
        const t0 = performance.now();
        await runOnce(variant);
        runMs[variant].push(performance.now() - t0);
        for (const [name, ms] of Object.entries(meter.stop())) cpuMs[variant][name] = (cpuMs[variant][name] ?? 0) + ms;
      }
    }
    const calls = plan.runs * plan.items;
    // The processes a run's work lands on: the load generator, the simulator and the idle baseline gateway are the same for all.
    const chorusCpu = (byProcess: Record<string, number>) =>
      Object.entries(byProcess)
        .filter(([name]) => !BUDGET_CPU_EXCLUDED.has(name))
        .reduce((sum, [, ms]) => sum + ms, 0);
    const summaries = Object.fromEntries(
      BUDGET_VARIANTS.map((variant) => {
        const run = summarize(runMs[variant]);
        const cpuPerCall = Object.fromEntries(Object.entries(cpuMs[variant]).map(([name, ms]) => [name, round(ms / calls, 2)]));
        return [
          variant,
          {
            runMs: run,
            msPerCallP50: round(run.p50 / plan.items, 2),
            msPerCallMean: round(run.mean / plan.items, 2),
            cpuMsPerCall: cpuPerCall,
            chorusCpuMsPerCall: round(chorusCpu(cpuMs[variant]) / calls, 2),
          },
        ];
      }),
    ) as Record<BudgetVariant, BudgetVariantSummary>;
    const compare = (variant: BudgetVariant, base: BudgetVariant) => {
      const [v, b] = [summaries[variant], summaries[base]];
      return {
        against: base,
        msPerCallP50: round(v.msPerCallP50 - b.msPerCallP50, 2),
        msPerCallMean: round(v.msPerCallMean - b.msPerCallMean, 2),
        ratioP50: round(v.runMs.p50 / b.runMs.p50, 3),
        cpuMsPerCall: round(v.chorusCpuMsPerCall - b.chorusCpuMsPerCall, 2),
        cpuRatio: round(v.chorusCpuMsPerCall / b.chorusCpuMsPerCall, 3),
      };
    };
    const ledgerOnly = await ledgerProbe(redisUrl);
    const budget = {
      ...plan,
      calls,
      variants: summaries,
      differences: {
        runBudget: compare('runBudget', 'none'),
        redisWorker: compare('redisWorker', 'none'),
        redisWorkerRunBudgetAndTenantCap: compare('redisWorkerRunBudgetAndTenantCap', 'redisWorker'),
      },
      ledgerOnly,
    };
    for (const variant of BUDGET_VARIANTS) {
      const v = summaries[variant];
      log(`budget ${variant}: run p50 ${v.runMs.p50} ms (${v.msPerCallP50} ms/call), CPU ${v.chorusCpuMsPerCall} ms/call ${JSON.stringify(v.cpuMsPerCall)}`);
    }
    log(`budget differences: ${JSON.stringify(budget.differences)}; the ledger alone: ${JSON.stringify(ledgerOnly)}`);
    return budget;
  } finally {
    await stack.stopWorker(redisWorker);
  }
}

const BUDGET_CPU_EXCLUDED: ReadonlySet<string> = new Set(['loadgen', 'simulator', 'baseline-gateway']);

interface BudgetVariantSummary {
  runMs: LatencySummary;
  msPerCallP50: number;
  msPerCallMean: number;
  cpuMsPerCall: Record<string, number>;
  chorusCpuMsPerCall: number;
}

/** One call's ledger work (a hold, then its commit), one call at a time, against the scenario's Redis: ms per call and this process's CPU. */
async function ledgerProbe(redisUrl: string) {
  const ledger = await connectRedisTenantLedger({ redisUrl, scope: 'bench-ledger-probe' });
  const label = { pipeline: 'bench', provider: 'openai' as const, model: 'gpt-4o-mini' };
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  try {
    for (let i = 0; i < LEDGER_PROBE_CALLS; i++) {
      const id = `probe-${i}`;
      const t0 = performance.now();
      await ledger.reserve({ tenant: CAPPED_TENANT, id, costUsd: 0.0001, tokens: 300, label, caps: { dailyUsd: 1_000_000 } }, Date.now(), 30_000);
      await ledger.commit(CAPPED_TENANT, id, { costUsd: 0.00002, tokens: 120 }, label, Date.now());
      latencies.push(performance.now() - t0);
    }
  } finally {
    await ledger.close();
  }
  const used = process.cpuUsage(cpu);
  const latency = summarize(latencies);
  return {
    calls: LEDGER_PROBE_CALLS,
    msP50: latency.p50,
    msP99: latency.p99,
    clientCpuMsPerCall: round((used.user + used.system) / 1000 / LEDGER_PROBE_CALLS, 3),
  };
}

/** A one-step inline pipeline on a provider queue the held runs leave free (they wait at openai): the memory scenario's close samples. */
const ONE_QUICK_CALL = { name: 'bench-close-sample', steps: [{ id: 'summary', provider: 'cohere', task: 'summarize', prompt: '{{input.prompt}}' }] };

/** How long the simulator holds each call while runs are kept open: longer than any memory scenario. */
const PARKED_CALL_MS = 20 * 60_000;

/**
 * Memory with `runs` runs in flight, each with a result long-poll open on the API, and how soon a
 * long-poll answers once its run closes. Every run waits at its first provider call (the simulator
 * holds it), so all of them are open at once however slowly this machine starts them.
 */
/** The API's and the worker's resident memory now, MB. */
const rssMbOf = (pids: Record<'api' | 'worker', number>) => ({
  api: round(readMemory(pids.api)?.rssMb ?? NaN),
  worker: round(readMemory(pids.worker)?.rssMb ?? NaN),
});

async function memoryWithOpenRuns(stack: BenchStack, http: AxiosInstance, plan: Plan['memory']) {
  const pids = { api: stack.api!.pid, worker: stack.workers[0].pid };
  const idleMb = rssMbOf(pids);
  await stack.setLatency(PARKED_CALL_MS);
  const sampler = sampleMemory(pids);
  const errorCounts = new Map<string, number>();
  const countError = (error: unknown) => {
    const key = (error as Error).message.slice(0, 80);
    errorCounts.set(key, (errorCounts.get(key) ?? 0) + 1);
  };
  /** Each open run's long-poll loop: resolves with when it answered 200 and what it said. */
  const waiters = new Map<string, Promise<{ answeredAt: number; status: string; closedAt: string | null } | undefined>>();
  let answered = 0;
  let maxOpen = 0;
  const waitFor = async (workflowId: string) => {
    try {
      for (;;) {
        // A 202 describes the run while it is still open (its progress query included): on a loaded box that can take many seconds.
        const response = await longPoll(http, `${stack.apiUrl}/v1/workflows/${encodeURIComponent(workflowId)}/result?waitSeconds=30`, undefined, 120_000);
        if (response.status === 200) return { answeredAt: Date.now(), status: String(response.data.status), closedAt: response.data.closedAt as string | null };
        if (response.status !== 202) throw new Error(`GET result answered ${response.status}`);
      }
    } catch (error) {
      countError(error);
      return undefined;
    } finally {
      answered++;
    }
  };
  const openStartedAt = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: plan.startConcurrency }, async () => {
      while (next < plan.runs && performance.now() - openStartedAt < plan.openMaxMs) {
        const index = next++;
        try {
          const workflowId = await startViaApi(http, stack.apiUrl, index);
          waiters.set(workflowId, waitFor(workflowId));
          maxOpen = Math.max(maxOpen, waiters.size - answered);
        } catch (error) {
          countError(error);
        }
      }
    }),
  );
  const openMs = round(performance.now() - openStartedAt, 0);
  log(`memory: ${waiters.size} runs open with a long-poll each after ${openMs} ms; holding ${plan.holdMs} ms`);
  await new Promise((resolve) => setTimeout(resolve, plan.holdMs));
  const heldMb = rssMbOf(pids);
  const openPeak = sampler.peakSoFar();

  const client = stack.client!;
  const closeToAnswer = (outcome: Awaited<ReturnType<typeof waitFor>>) => (outcome?.closedAt ? [outcome.answeredAt - Date.parse(outcome.closedAt)] : []);
  // One run completes while every other long-poll still waits: the latency a caller sees. Each is a
  // one-call run the simulator answers at once, started and long-polled like the others.
  const quiet: number[] = [];
  for (let i = 0; i < plan.closeSamples; i++) {
    try {
      const response = await http.post(
        `${stack.apiUrl}/v1/workflows`,
        { definition: ONE_QUICK_CALL, input: { prompt: `Closes at once [[sim:cohere,latency=5]] (bench close sample ${i})` } },
        { headers },
      );
      if (response.status !== 202) throw new Error(`POST /v1/workflows answered ${response.status}`);
      const outcome = await waitFor(response.data.workflowId as string);
      if (outcome && outcome.status !== 'COMPLETED') throw new Error(`close sample ended ${outcome.status}`);
      quiet.push(...closeToAnswer(outcome));
    } catch (error) {
      countError(error);
    }
  }
  const ids = [...waiters.keys()];
  // Then all the others at once, 200 terminations in flight.
  const rest = ids;
  const burstStartedAt = performance.now();
  for (let i = 0; i < rest.length; i += 200) {
    await Promise.all(rest.slice(i, i + 200).map((workflowId) => client.workflow.getHandle(workflowId).terminate('benchmark: close all').catch(countError)));
  }
  const burst = (await Promise.all(rest.map((workflowId) => waiters.get(workflowId)!))).flatMap(closeToAnswer);
  const burstMs = round(performance.now() - burstStartedAt, 0);
  const memory = sampler.stop();
  await terminateLeftovers(stack);
  const result = {
    runs: plan.runs,
    opened: waiters.size,
    maxOpen,
    openMs,
    holdMs: plan.holdMs,
    idleMb,
    heldMb,
    openPeakMb: { api: round(openPeak.api), worker: round(openPeak.worker) },
    memory,
    closeToAnswerMs: { oneAtATime: summarize(quiet), allAtOnce: summarize(burst) },
    allAtOnceMs: burstMs,
    errors: [...errorCounts.values()].reduce((sum, count) => sum + count, 0),
    errorCounts: Object.fromEntries(errorCounts),
  };
  log(
    `memory: ${maxOpen} open at once; API idle ${idleMb.api} → peak ${memory.api.peakSampledRssMb} MB, worker idle ${idleMb.worker} → peak ${memory.worker.peakSampledRssMb} MB; ` +
      `close → answer p50/p95 one at a time ${result.closeToAnswerMs.oneAtATime.p50}/${result.closeToAnswerMs.oneAtATime.p95} ms, ` +
      `all at once ${result.closeToAnswerMs.allAtOnce.p50}/${result.closeToAnswerMs.allAtOnce.p95} ms; ${result.errors} errors ${JSON.stringify(result.errorCounts)}`,
  );
  return result;
}

/** Replaces the workers a scenario started with its own settings by the run's `count` default ones. */
async function startDefaultWorkers(stack: BenchStack, count: number) {
  await stack.stopWorkers();
  for (let i = 0; i < count; i++) await stack.startWorker();
}

/** The issue's goal for a one-call run over a direct call. */
const ONE_CALL_TARGET_MS = 15;

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const plan = PLANS[options.mode];
  const startedAt = new Date();
  const environment = { loadAvgAtStart: loadavg().map((value) => round(value, 2)), jestProcessesAtStart: jestProcessesRunning() };
  const stack = new BenchStack({
    sqlitePragmas: options.sqlitePragmas,
    dynamicConfig: options.dynamicConfig,
    workerEnv: options.workerEnv,
    baselineKeepAlive: options.baselineKeepAlive,
    cluster: options.cluster,
    nodeArgs: options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [],
    nodeFlags: options.nodeFlags,
    log,
  });
  // Every scenario of a run, on an idle box: quick ~6 min, full ~17 min; the limit only stops a run that hangs.
  const hardLimitMs = options.mode === 'quick' ? 600_000 : 1_500_000;
  const hardLimit = setTimeout(() => {
    console.error(`[bench] hard time limit of ${hardLimitMs / 1000} s reached; stopping the stack and writing what was measured`);
    process.exitCode = 2;
    void Promise.all([stack.close(), stopAll()]);
    setTimeout(() => process.exit(2), 30_000).unref();
  }, hardLimitMs);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`[bench] ${signal}: stopping everything`);
      void Promise.all([stack.close(), stopAll()]).finally(() => process.exit(130));
    });
  }

  const results: Record<string, unknown> = {};
  try {
    log(`mode ${options.mode}, scenarios ${[...options.only].join(', ')}; starting the stack in ${stack.tmp}`);
    await stack.start();
    await startDefaultWorkers(stack, options.workers);
    log(
      `Temporal ${stack.temporalAddress}, simulator ${stack.simulatorUrl}, gateway ${stack.gatewayUrl}, API ${stack.apiUrl}, ${stack.workers.length} worker(s)`,
    );
    // A fresh connection pool per scenario: a keep-alive socket idle across the gap between scenarios can
    // be closed by the server (5 s keep-alive timeout) just as it is reused, which the client sees as a reset.
    let http = httpClient();
    const client = stack.client!;

    // Warm up both paths (JIT, connection pools, workflow bundle caches) before measuring anything.
    await stack.setLatency(10);
    await runLoad({ count: plan.warmup, concurrency: 5, maxMs: 30_000 }, (i, signal) => baselinePipeline(http, stack.gatewayUrl, i, signal));
    await runLoad({ count: plan.warmup, concurrency: 5, maxMs: 60_000 }, (i, signal) => chorusPipeline(http, stack.apiUrl, i, signal));

    if (options.only.has('overhead')) {
      http = httpClient();
      const { latencyMs, ...load } = plan.overhead;
      await stack.setLatency(latencyMs);
      const baseline = await measured(stack, `overhead baseline @${latencyMs} ms`, () =>
        runLoad(load, (i, signal) => baselinePipeline(http, stack.gatewayUrl, i, signal)),
      );
      const chorus = await measured(stack, `overhead chorus @${latencyMs} ms`, () =>
        runLoad(load, (i, signal) => chorusPipeline(http, stack.apiUrl, i, signal)),
      );
      const chorusLocal = await measured(stack, `overhead chorus local @${latencyMs} ms`, () =>
        runLoad(load, (i, signal) => chorusPipeline(http, stack.apiUrl, i, signal, undefined, CLASSIC_LOCAL)),
      );
      const b = baseline.load.latencyMs;
      const c = chorus.load.latencyMs;
      const cl = chorusLocal.load.latencyMs;
      const timeline = await historyTimeline(stack, http);
      log(`one run: ${JSON.stringify(timeline.client)}; history: ${timeline.phases.map((phase) => `${phase.phase} ${phase.totalMs} ms`).join(', ')}`);
      results.overhead = {
        simulatorLatencyMs: latencyMs,
        historyTimeline: timeline,
        concurrency: load.concurrency,
        baseline,
        chorus,
        ratio: { p50: round(c.p50 / b.p50, 3), p95: round(c.p95 / b.p95, 3), p99: round(c.p99 / b.p99, 3) },
        overheadPerStepMs: { p50: round((c.p50 - b.p50) / 3), p95: round((c.p95 - b.p95) / 3), p99: round((c.p99 - b.p99) / 3) },
        chorusLocal,
        ratioLocal: { p50: round(cl.p50 / b.p50, 3), p95: round(cl.p95 / b.p95, 3), p99: round(cl.p99 / b.p99, 3) },
        overheadPerStepMsLocal: { p50: round((cl.p50 - b.p50) / 3), p95: round((cl.p95 - b.p95) / 3), p99: round((cl.p99 - b.p99) / 3) },
      };
      log(
        `overhead per step p50: remote ${(results.overhead as { overheadPerStepMs: { p50: number } }).overheadPerStepMs.p50} ms, local ${round((cl.p50 - b.p50) / 3)} ms`,
      );
    }

    if (options.only.has('start')) {
      http = httpClient();
      await stack.setLatency(50);
      // The bare start sends exactly what the API sends: workflow type, arguments and search attributes
      // are copied from a run the API started, so pipeline-definition changes cannot skew the comparison.
      const probe = client.workflow.getHandle(await startViaApi(http, stack.apiUrl, -1));
      const description = await probe.describe();
      const started = (await probe.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
      const args = (started?.input?.payloads ?? []).map((payload) => defaultPayloadConverter.fromPayload(payload));
      const viaApi: number[] = [];
      const bare: number[] = [];
      const ids: string[] = [probe.workflowId];
      // Alternate the two so drift in machine load hits both alike.
      for (let i = 0; i < plan.start.count; i++) {
        let t0 = performance.now();
        ids.push(await startViaApi(http, stack.apiUrl, i));
        viaApi.push(performance.now() - t0);
        const workflowId = `bench-bare-${randomUUID()}`;
        t0 = performance.now();
        await client.workflow.start(description.type, {
          workflowId,
          taskQueue: description.taskQueue,
          args,
          typedSearchAttributes: description.typedSearchAttributes,
        });
        bare.push(performance.now() - t0);
        ids.push(workflowId);
      }
      // Let these runs finish so they do not load the next scenario.
      await client.withDeadline(Date.now() + 60_000, () => Promise.all(ids.map((id) => client.workflow.getHandle(id).result())));
      const api = summarize(viaApi);
      const direct = summarize(bare);
      results.start = {
        count: plan.start.count,
        api,
        bareClient: direct,
        apiOverheadMsP50: round(api.p50 - direct.p50),
        ratioP50: round(api.p50 / direct.p50, 3),
      };
      log(`start latency: API p50 ${api.p50} ms / p99 ${api.p99} ms; bare client p50 ${direct.p50} ms / p99 ${direct.p99} ms`);
    }

    if (options.only.has('status-read')) {
      http = httpClient();
      await stack.setLatency(plan.statusRead.latencyMs);
      const statusRead = await statusReads(stack, http, plan.statusRead);
      results.statusRead = statusRead;
      const { firstRead: f, whileRunning: w } = statusRead;
      log(
        `status read during a run: first read p50 ${f.p50} ms / p95 ${f.p95} ms (n ${f.n}); every read while running p50 ${w.p50} ms / p95 ${w.p95} ms (n ${w.n}); ` +
          `${statusRead.errors} errors; target p50 ≤ ${STATUS_READ_TARGET_MS} ms ${statusRead.met ? 'met' : 'NOT met'}`,
      );
    }

    if (options.only.has('throughput')) {
      http = httpClient();
      await stack.setLatency(plan.throughput.latencyMs);
      const runs = [];
      for (const run of plan.throughput.runs) {
        const baseline = await measured(stack, `throughput baseline c=${run.concurrency}`, () =>
          runLoad(run, (i, signal) => baselinePipeline(http, stack.gatewayUrl, i, signal)),
        );
        const chorus = await measured(stack, `throughput chorus c=${run.concurrency}`, () =>
          runLoad(run, (i, signal) => chorusPipeline(http, stack.apiUrl, i, signal)),
        );
        const chorusLocal = await measured(stack, `throughput chorus local c=${run.concurrency}`, () =>
          runLoad(run, (i, signal) => chorusPipeline(http, stack.apiUrl, i, signal, undefined, CLASSIC_LOCAL)),
        );
        runs.push({
          ...run,
          baseline,
          chorus,
          chorusLocal,
          ratio: round(chorus.load.steadyThroughputPerSec / baseline.load.steadyThroughputPerSec, 3),
          ratioLocal: round(chorusLocal.load.steadyThroughputPerSec / baseline.load.steadyThroughputPerSec, 3),
        });
      }
      results.throughput = { simulatorLatencyMs: plan.throughput.latencyMs, workers: stack.workers.length, runs };
    }

    if (options.only.has('memory')) {
      http = httpClient();
      // The API and workers that served the bursts above keep the heap those grew (V8 seldom hands it back):
      // fresh ones measure what the open runs cost. What the old ones held is reported beside it.
      const servedMb = rssMbOf({ api: stack.api!.pid, worker: stack.workers[0].pid });
      await stack.restartApi({});
      await startDefaultWorkers(stack, options.workers);
      results.memory = { ...(await memoryWithOpenRuns(stack, http, { ...plan.memory, runs: options.memoryRuns ?? plan.memory.runs })), servedMb };
    }

    if (options.only.has('scaling')) {
      http = httpClient();
      const { latencyMs, maxActivities, ...load } = plan.scaling;
      await stack.stopWorkers();
      await stack.setLatency(latencyMs);
      const runs: Array<RunResult & { workers: number }> = [];
      for (let workers = 1; workers <= 3; workers++) {
        await stack.startWorker({ CHORUS_WORKER_MAX_ACTIVITIES: String(maxActivities) });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const run = await measured(stack, `scaling ${workers} worker(s) x ${maxActivities} activity slots`, () =>
          runLoad(load, (i, signal) => chorusPipeline(http, stack.apiUrl, i, signal)),
        );
        runs.push({ workers, ...run });
      }
      await startDefaultWorkers(stack, options.workers);
      results.scaling = {
        simulatorLatencyMs: latencyMs,
        maxActivitiesPerWorker: maxActivities,
        concurrency: load.concurrency,
        // One task queue per provider: each serves maxActivities calls per latency per worker, and every
        // pipeline needs one call from each, so a worker completes at most maxActivities / latency pipelines/s.
        idealPipelinesPerSecPerWorker: round(maxActivities / (latencyMs / 1000), 2),
        runs: runs.map((run) => ({ ...run, speedup: round(run.load.throughputPerSec / runs[0].load.throughputPerSec, 3) })),
      };
    }

    if (options.only.has('rate-limit')) {
      http = httpClient();
      const { latencyMs, limitPerSec, ...load } = plan.rateLimit;
      await stack.stopWorkers();
      await stack.setLatency(latencyMs);
      const redisUrl = await stack.startRedis();
      const limits = Object.fromEntries(PROVIDER_NAMES.map((provider) => [`CHORUS_${provider.toUpperCase()}_MAX_RPS`, String(limitPerSec)]));
      for (let workers = 1; workers <= 3; workers++) await stack.startWorker({ ...limits, CHORUS_REDIS_URL: redisUrl });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const run = await measured(stack, `rate limit ${limitPerSec}/s per provider, 3 workers`, () =>
        runLoad(load, (i, signal) => chorusPipeline(http, stack.apiUrl, i, signal, undefined, FAN_OUT_PIPELINE)),
      );
      const byProvider = run.simulator.steadyRatePerSecByProvider;
      const rateLimit = {
        limitPerSecPerProvider: limitPerSec,
        workers: 3,
        simulatorLatencyMs: latencyMs,
        pipelines: run.load.completed,
        // Each provider's sustained rate against the limit: what the pacing leaves unused.
        utilizationByProvider: Object.fromEntries(Object.entries(byProvider).map(([provider, rate]) => [provider, round(rate / limitPerSec, 3)])),
        steadyRatePerSecByProvider: byProvider,
        meanRatePerSecByProvider: run.simulator.meanRatePerSecByProvider,
        requestsPerSecondByProvider: run.simulator.perSecondByProvider,
        peakRequestsIn1sByProvider: run.simulator.peakRatePerSecByProvider,
        responses429: run.simulator.rateLimited429,
        errors: run.load.errors,
      };
      results.rateLimit = rateLimit;
      log(`rate limit: requests per second ${JSON.stringify(run.simulator.perSecondByProvider)}`);
      log(
        `rate limit: utilization ${JSON.stringify(rateLimit.utilizationByProvider)}, peak per 1 s ${JSON.stringify(run.simulator.peakRatePerSecByProvider)}, 429s ${run.simulator.rateLimited429}`,
      );
      // The scenarios after this one measure the run's own workers, not three paced ones.
      await startDefaultWorkers(stack, options.workers);
    }

    if (options.only.has('peer')) {
      http = httpClient();
      results.peer = await peerSideBySide(stack, http, plan.peer);
    }

    if (options.only.has('phases')) {
      http = httpClient();
      results.phases = await oneCallPhases(stack, http, plan.phases);
    }

    if (options.only.has('budget')) {
      http = httpClient();
      results.budget = await budgetChecks(stack, http, plan.budget);
    }

    // Last: it restarts the API and the workers with Redis.
    if (options.only.has('stream')) results.stream = await streamSideBySide(stack, plan.stream);
  } catch (error) {
    console.error(`[bench] failed: ${(error as Error).stack ?? (error as Error).message}`);
    process.exitCode = 1;
  } finally {
    await stack.close();
    await stopAll();
    stack.removeFiles();
    clearTimeout(hardLimit);
  }

  const report = {
    label: options.label,
    mode: options.mode,
    startedAt: startedAt.toISOString(),
    durationSec: round((Date.now() - startedAt.getTime()) / 1000),
    machine: machineFacts(stack),
    environment: { ...environment, loadAvgAtEnd: loadavg().map((value) => round(value, 2)), jestProcessesAtEnd: jestProcessesRunning() },
    settings: {
      temporal: options.cluster ? 'cluster' : 'dev-server',
      sqlitePragmas: options.cluster ? [] : ['journal_mode=wal', ...options.sqlitePragmas],
      dynamicConfig: options.dynamicConfig,
      workerEnv: options.workerEnv,
      workers: options.workers,
      baselineKeepAlive: options.baselineKeepAlive,
      nodeFlags: options.nodeFlags,
    },
    plan,
    results,
  };
  const files = writeReports(report);
  log(`wrote ${files.join(', ')}`);
}

void main();
