import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LatencySummary, LoadResult } from './load';
import { round } from './processes';

/** The budget scenario's runs: on the bench's worker without and with a run budget; on a Redis worker without, and with a run budget and a tenant cap. */
export const BUDGET_VARIANTS = ['none', 'runBudget', 'redisWorker', 'redisWorkerRunBudgetAndTenantCap'] as const;
export type BudgetVariant = (typeof BUDGET_VARIANTS)[number];

interface Run {
  load: LoadResult;
  simulator: { meanRatePerSec: number; peakRatePerSec: number; rateLimited429: number };
}

/** The shape run.ts writes; every scenario is optional because `--only` can skip it. */
export interface BenchReport {
  label: string;
  mode: string;
  startedAt: string;
  durationSec: number;
  machine: { cores: number; cpuModel: string; memoryGb: number; kernel: string; node: string; temporalCli: string };
  environment: { loadAvgAtStart: number[]; loadAvgAtEnd: number[]; jestProcessesAtStart: number; jestProcessesAtEnd: number };
  settings: Record<string, unknown>;
  results: {
    overhead?: {
      simulatorLatencyMs: number;
      concurrency: number;
      baseline: Run;
      chorus: Run;
      ratio: Record<'p50' | 'p95' | 'p99', number>;
      overheadPerStepMs: Record<'p50' | 'p95' | 'p99', number>;
      /** The same pipeline with `execution: local` (absent in runs recorded before modes existed). */
      chorusLocal?: Run;
      ratioLocal?: Record<'p50' | 'p95' | 'p99', number>;
      overheadPerStepMsLocal?: Record<'p50' | 'p95' | 'p99', number>;
    };
    start?: { count: number; api: LatencySummary; bareClient: LatencySummary; apiOverheadMsP50: number; ratioP50: number };
    statusRead?: {
      latencyMs: number;
      runs: number;
      concurrency: number;
      pollEveryMs: number;
      errors: number;
      firstRead: LatencySummary;
      whileRunning: LatencySummary;
      afterClose: LatencySummary;
      targetP50Ms: number;
      met: boolean;
    };
    throughput?: {
      simulatorLatencyMs: number;
      workers: number;
      runs: Array<{ concurrency: number; baseline: Run; chorus: Run; ratio: number; chorusLocal?: Run; ratioLocal?: number }>;
    };
    peer?: {
      latencyMs: Record<'direct' | 'portkey' | 'chorusRemote' | 'chorusLocal', LatencySummary>;
      count: number;
      overheadOverDirectMsP50: Record<'portkey' | 'chorusRemote' | 'chorusLocal', number>;
      ratioToGateway: Record<'chorusRemote' | 'chorusLocal', number>;
      targetOverDirectMs: number;
    };
    phases?: {
      latencyMs: number;
      count: number;
      modes: Record<string, { totalMs: LatencySummary; phases: Array<{ phase: string } & LatencySummary> }>;
    };
    stream?: {
      latencyMs: number;
      chunkMs: number;
      count: number;
      transport: 'redis';
      tokensPerAnswer: number;
      timeToFirstTokenMs: Record<'direct' | 'chorus', LatencySummary>;
      ttftOverheadMsP50: number;
      tokensPerSec: Record<'direct' | 'chorus', number>;
      memory: { openStreams: number; providerCallsOpen: number; apiIdleRssMb: number; apiOpenRssMb: number; apiKbPerStream: number };
    };
    budget?: {
      latencyMs: number;
      items: number;
      runs: number;
      calls: number;
      variants: Record<
        BudgetVariant,
        { runMs: LatencySummary; msPerCallP50: number; msPerCallMean: number; cpuMsPerCall: Record<string, number>; chorusCpuMsPerCall: number }
      >;
      differences: Record<
        Exclude<BudgetVariant, 'none'>,
        { against: BudgetVariant; msPerCallP50: number; msPerCallMean: number; ratioP50: number; cpuMsPerCall: number; cpuRatio: number }
      >;
      ledgerOnly: { calls: number; msP50: number; msP99: number; clientCpuMsPerCall: number };
    };
    memory?: {
      runs: number;
      opened: number;
      maxOpen: number;
      openMs: number;
      holdMs: number;
      idleMb: Record<'api' | 'worker', number>;
      heldMb: Record<'api' | 'worker', number>;
      openPeakMb: Record<'api' | 'worker', number>;
      memory: Record<'api' | 'worker', { peakSampledRssMb: number; lifetimeHwmMb: number }>;
      closeToAnswerMs: Record<'oneAtATime' | 'allAtOnce', LatencySummary>;
      allAtOnceMs: number;
      errors: number;
      errorCounts: Record<string, number>;
      /** RSS of the API and worker that served the scenarios before, replaced by fresh ones for this one (absent in runs before that). */
      servedMb?: Record<'api' | 'worker', number>;
    };
    scaling?: {
      simulatorLatencyMs: number;
      maxActivitiesPerWorker: number;
      concurrency: number;
      idealPipelinesPerSecPerWorker: number;
      runs: Array<Run & { workers: number; speedup: number }>;
    };
    rateLimit?: {
      limitPerSecPerProvider: number;
      workers: number;
      simulatorLatencyMs: number;
      pipelines: number;
      utilizationByProvider: Record<string, number>;
      steadyRatePerSecByProvider: Record<string, number>;
      meanRatePerSecByProvider: Record<string, number>;
      requestsPerSecondByProvider: Record<string, number[]>;
      peakRequestsIn1sByProvider: Record<string, number>;
      responses429: number;
      errors: number;
    };
  };
}

const RESULTS_DIR = resolve(__dirname, '..', '..', '..', 'bench', 'results');

export function writeReports(report: BenchReport): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const base = join(RESULTS_DIR, report.label);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(report));
  writeFileSync(`${base}.svg`, svg(report));
  return [`${base}.json`, `${base}.md`, `${base}.svg`];
}

const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? '✅ met' : '❌ not met');
const errorsOf = (run: Run) => (run.load.errors ? `${run.load.errors} ❗` : '0');

export function markdown(report: BenchReport): string {
  const { machine, environment, results } = report;
  const lines: string[] = [];
  lines.push(`# Chorus benchmark — ${report.label} (${report.mode})`, '');
  lines.push(
    `${report.startedAt}, ${report.durationSec} s. ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGb} GB, Node ${machine.node}, ` +
      `${machine.temporalCli.replace(/\n/g, ' ')}. Load average ${environment.loadAvgAtStart.join(' / ')} at start, ${environment.loadAvgAtEnd.join(' / ')} at end; ` +
      `jest processes running: ${environment.jestProcessesAtStart} at start, ${environment.jestProcessesAtEnd} at end.`,
    '',
    `Settings: \`${JSON.stringify(report.settings)}\``,
    '',
    'Everything runs on this one machine: Temporal dev server (SQLite), simulator, baseline gateway, API, workers and the load generator share the cores. ' +
      'Numbers are ratios against the plain Express gateway measured in the same run.',
    '',
  );

  const overhead = results.overhead;
  const throughputRuns = results.throughput?.runs ?? [];
  const best = (pick: (run: (typeof throughputRuns)[number]) => Run | undefined) =>
    Math.max(...throughputRuns.map((run) => pick(run)?.load.steadyThroughputPerSec ?? NaN).filter(Number.isFinite), 0);
  const bestChorus = best((run) => run.chorus);
  const bestLocal = best((run) => run.chorusLocal);
  const peer = results.peer;
  const scaling2 = results.scaling ? scalingSpeedups(results.scaling)[1]?.steadyPipelines : undefined;
  lines.push('## Targets', '', '| target | measured | verdict |', '| --- | --- | --- |');
  const local = overhead?.overheadPerStepMsLocal;
  lines.push(
    `| overhead per durable step ≤ 20 ms at p50 (stretch 5 ms) | ${overhead ? `remote ${overhead.overheadPerStepMs.p50} ms${local ? `, local ${local.p50} ms` : ''}` : '—'} | ` +
      `${overhead ? `remote ${verdict(overhead.overheadPerStepMs.p50 <= 20)}${local ? `, local ${verdict(local.p50 <= 20)}` : ''}` : verdict(undefined)} |`,
  );
  lines.push(
    `| one-call run ≤ ${peer?.targetOverDirectMs ?? 15} ms over a direct call (p50) | ` +
      `${peer ? `remote +${peer.overheadOverDirectMsP50.chorusRemote} ms, local +${peer.overheadOverDirectMsP50.chorusLocal} ms (Portkey +${peer.overheadOverDirectMsP50.portkey} ms)` : '—'} | ` +
      `${peer ? `remote ${verdict(peer.overheadOverDirectMsP50.chorusRemote <= peer.targetOverDirectMs)}, local ${verdict(peer.overheadOverDirectMsP50.chorusLocal <= peer.targetOverDirectMs)}` : verdict(undefined)} |`,
  );
  const reads = results.statusRead;
  lines.push(
    `| status read of a running run ≤ 20 ms at p50, first read included | ` +
      `${reads ? `first read ${reads.firstRead.p50} ms, every read ${reads.whileRunning.p50} ms (p95 ${reads.whileRunning.p95} ms)${reads.errors ? `, ${reads.errors} errors` : ''}` : '—'} | ${verdict(reads?.met)} |`,
  );
  lines.push(
    `| ≥ 100 three-step pipelines/s | ${throughputRuns.length ? `remote ${bestChorus}/s, local ${bestLocal || '—'}/s (best steady rate)` : '—'} | ${verdict(throughputRuns.length ? Math.max(bestChorus, bestLocal) >= 100 : undefined)} |`,
  );
  lines.push(
    `| 2 workers ≥ 1.8× one worker (provider slots the bottleneck) | ${scaling2 !== undefined ? `${scaling2}× (steady rate)` : '—'} | ${verdict(scaling2 === undefined ? undefined : scaling2 >= 1.8)} |`,
  );
  // Recorded runs before the open-runs scenario carry a different memory section.
  const held = results.memory?.openPeakMb ? results.memory : undefined;
  const inFlight = held && held.maxOpen < 1000 ? `(${held.maxOpen} in flight) ` : '';
  lines.push(
    `| worker RSS ≤ 300 MB with 1,000 in flight | ${held ? `${inFlight}${held.openPeakMb.worker} MB` : '—'} | ${verdict(held && held.maxOpen >= 1000 && held.openPeakMb.worker <= 300)} |`,
  );
  lines.push(
    `| API RSS ≤ 150 MB with 1,000 open long-polls | ${held ? `${inFlight}${held.openPeakMb.api} MB` : '—'} | ${verdict(held && held.maxOpen >= 1000 && held.openPeakMb.api <= 150)} |`,
  );
  // Runs recorded before the rate-limit scenario existed carry a different rateLimit section.
  const rate = results.rateLimit?.utilizationByProvider ? results.rateLimit : undefined;
  const utilization = rate ? Math.min(...Object.values(rate.utilizationByProvider)) : undefined;
  const peak = rate ? Math.max(...Object.values(rate.peakRequestsIn1sByProvider)) : undefined;
  lines.push(
    `| rate-limit utilization ≥ 95 % with zero 429s | ` +
      `${rate ? `${Math.round(utilization! * 1000) / 10} % (lowest provider), ${rate.responses429} × 429` : '—'} | ${verdict(rate && utilization! >= 0.95 && rate.responses429 === 0)} |`,
  );
  lines.push(
    `| no 1 s window above the limit + 5 % (the scale test's rule) | ` +
      `${rate ? `at most ${peak} requests in 1 s at a limit of ${rate.limitPerSecPerProvider}/s` : '—'} | ${verdict(rate && peak! <= rate.limitPerSecPerProvider * 1.05)} |`,
  );
  lines.push('');

  if (overhead) {
    lines.push(
      `## Overhead — simulator latency ${overhead.simulatorLatencyMs} ms per call, concurrency ${overhead.concurrency}`,
      '',
      '| path | n | errors | p50 ms | p95 ms | p99 ms | max ms |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const [name, run] of [
      ['baseline (Express + axios)', overhead.baseline],
      ['Chorus remote (API → Temporal → worker)', overhead.chorus],
      ...(overhead.chorusLocal ? ([['Chorus local (local activities)', overhead.chorusLocal]] as const) : []),
    ] as const) {
      const l = run.load.latencyMs;
      lines.push(`| ${name} | ${l.n} | ${errorsOf(run)} | ${l.p50} | ${l.p95} | ${l.p99} | ${l.max} |`);
    }
    lines.push(`| **ratio Chorus / baseline** | | | ${overhead.ratio.p50}× | ${overhead.ratio.p95}× | ${overhead.ratio.p99}× | |`);
    lines.push(
      `| **overhead per step** (Δ / 3) | | | ${overhead.overheadPerStepMs.p50} ms | ${overhead.overheadPerStepMs.p95} ms | ${overhead.overheadPerStepMs.p99} ms | |`,
    );
    if (overhead.ratioLocal && overhead.overheadPerStepMsLocal) {
      const [r, o] = [overhead.ratioLocal, overhead.overheadPerStepMsLocal];
      lines.push(`| **ratio local / baseline** | | | ${r.p50}× | ${r.p95}× | ${r.p99}× | |`);
      lines.push(`| **overhead per step, local** (Δ / 3) | | | ${o.p50} ms | ${o.p95} ms | ${o.p99} ms | |`);
    }
    lines.push('');
  }

  if (peer) {
    lines.push(
      `## Peer side by side — one OpenAI call, ${peer.count} sequential each, interleaved`,
      '',
      '| path | p50 ms | p95 ms | p99 ms | over direct (p50) | ÷ gateway overhead |',
      '| --- | --- | --- | --- | --- | --- |',
      ...(
        [
          ['direct (axios → simulator)', peer.latencyMs.direct, 0, ''],
          ['Portkey gateway (@portkey-ai/gateway)', peer.latencyMs.portkey, peer.overheadOverDirectMsP50.portkey, '1×'],
          [
            'Chorus /v1/chat/completions, openai/gpt-4o-mini (remote)',
            peer.latencyMs.chorusRemote,
            peer.overheadOverDirectMsP50.chorusRemote,
            `${peer.ratioToGateway.chorusRemote}×`,
          ],
          [
            'Chorus /v1/chat/completions, pipeline/bench-one-call-local',
            peer.latencyMs.chorusLocal,
            peer.overheadOverDirectMsP50.chorusLocal,
            `${peer.ratioToGateway.chorusLocal}×`,
          ],
        ] as const
      ).map(([name, l, over, ratio]) => `| ${name} | ${l.p50} | ${l.p95} | ${l.p99} | ${over} ms | ${ratio} |`),
      '',
    );
  }

  if (results.phases) {
    const { latencyMs, count, modes } = results.phases;
    lines.push(`## Where a one-call run's time goes — ${count} sequential runs per mode, ${latencyMs} ms per provider call`, '');
    for (const [mode, { totalMs, phases }] of Object.entries(modes)) {
      lines.push(
        `${mode}: POST sent → result answered p50 ${totalMs.p50} ms (p95 ${totalMs.p95} ms).`,
        '',
        '| phase (client, server history and simulator on one clock) | p50 ms | p95 ms | n |',
        '| --- | --- | --- | --- |',
        ...phases.map((phase) => `| ${phase.phase} | ${phase.p50} | ${phase.p95} | ${phase.n} |`),
        '',
      );
    }
  }

  const budget = results.budget;
  if (budget) {
    const names: Record<BudgetVariant, string> = {
      none: 'no budget',
      runBudget: 'run budget',
      redisWorker: 'Redis worker, no budget',
      redisWorkerRunBudgetAndTenantCap: 'Redis worker, run budget + tenant cap',
    };
    const cpuOf = (byProcess: Record<string, number>) =>
      Object.entries(byProcess)
        .filter(([name, ms]) => !['loadgen', 'simulator', 'baseline-gateway'].includes(name) && ms > 0)
        .map(([name, ms]) => `${name} ${ms}`)
        .join(', ');
    const signed = (value: number) => `${value >= 0 ? '+' : ''}${value}`;
    lines.push(
      `## Budget checks — the same run with and without budgets, ${budget.runs} runs each, interleaved`,
      '',
      `A map of ${budget.items} OpenAI calls, one at a time, ${budget.latencyMs} ms provider latency; ${budget.calls} calls per variant, each run timed from its start to its result. ` +
        'CPU: every process but the load generator, the simulator and the gateway. A Redis worker (CHORUS_REDIS_URL) streams tokens, shares its breakers ' +
        'and counts every call in the tenant ledger, capped or not: a tenant cap adds only its check to that.',
      '',
      '| variant | run p50 ms | ms per call (p50) | difference, ms per call | CPU ms per call | difference, CPU ms per call | CPU by process, ms per call |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...BUDGET_VARIANTS.map((variant) => {
        const v = budget.variants[variant];
        const d = variant === 'none' ? undefined : budget.differences[variant];
        const against = d ? ` vs ${names[d.against]}` : '';
        return (
          `| ${names[variant]} | ${v.runMs.p50} | ${v.msPerCallP50} | ${d ? `${signed(d.msPerCallP50)} (${d.ratioP50}×)${against}` : ''} | ` +
          `${v.chorusCpuMsPerCall} | ${d ? `${signed(d.cpuMsPerCall)} (${d.cpuRatio}×)` : ''} | ${cpuOf(v.cpuMsPerCall)} |`
        );
      }),
      '',
      `The ledger alone (a hold and its commit, ${budget.ledgerOnly.calls} calls one at a time from the bench process): p50 ${budget.ledgerOnly.msP50} ms, ` +
        `p99 ${budget.ledgerOnly.msP99} ms, ${budget.ledgerOnly.clientCpuMsPerCall} ms client CPU per call.`,
      '',
    );
  }

  const stream = results.stream;
  if (stream) {
    const { direct, chorus } = stream.timeToFirstTokenMs;
    lines.push(
      `## Streaming — POST /v1/chat/completions with stream: true (token events on ${stream.transport}) vs the simulator's own stream`,
      '',
      `${stream.count} answers each, interleaved, ${stream.tokensPerAnswer} tokens each, ${stream.chunkMs} ms between tokens, ${stream.latencyMs} ms provider latency.`,
      '',
      '| measure | direct | Chorus | Chorus − direct |',
      '| --- | --- | --- | --- |',
      `| time to first token p50 | ${direct.p50} ms | ${chorus.p50} ms | +${stream.ttftOverheadMsP50} ms |`,
      `| time to first token p95 | ${direct.p95} ms | ${chorus.p95} ms | +${round(chorus.p95 - direct.p95)} ms |`,
      `| tokens/s, no pause between tokens (median) | ${stream.tokensPerSec.direct} | ${stream.tokensPerSec.chorus} | |`,
      `| API memory per open stream (${stream.memory.openStreams} open) | | ${stream.memory.apiKbPerStream} kB (RSS ${stream.memory.apiIdleRssMb} → ${stream.memory.apiOpenRssMb} MB) | |`,
      '',
    );
  }

  if (results.start) {
    const { api, bareClient } = results.start;
    lines.push(
      `## Start latency (${results.start.count} sequential starts each, interleaved)`,
      '',
      '| path | p50 ms | p95 ms | p99 ms |',
      '| --- | --- | --- | --- |',
      `| POST /v1/workflows | ${api.p50} | ${api.p95} | ${api.p99} |`,
      `| bare client.workflow.start | ${bareClient.p50} | ${bareClient.p95} | ${bareClient.p99} |`,
      `| API cost at p50 | ${results.start.apiOverheadMsP50} ms (${results.start.ratioP50}×) | | |`,
      '',
    );
  }

  if (reads) {
    lines.push(
      `## Status read during a run — ${reads.runs} classic runs (simulator latency ${reads.latencyMs} ms), ${reads.concurrency} at a time`,
      '',
      `Each run is read with GET /v1/workflows/:id right after its 202, then every ${reads.pollEveryMs} ms until it closes. Errors: ${reads.errors}.`,
      '',
      '| read | n | p50 ms | p95 ms | p99 ms | max ms |',
      '| --- | --- | --- | --- | --- | --- |',
      ...(
        [
          ['first read, right after the 202', reads.firstRead],
          ['every read while RUNNING (first included)', reads.whileRunning],
          ['the read that saw it closed', reads.afterClose],
        ] as const
      ).map(([name, l]) => `| ${name} | ${l.n} | ${l.p50} | ${l.p95} | ${l.p99} | ${l.max} |`),
      '',
    );
  }

  if (results.throughput) {
    lines.push(
      `## Throughput — simulator latency ${results.throughput.simulatorLatencyMs} ms, ${results.throughput.workers} worker process(es), default worker settings`,
      '',
      '| concurrency | path | completed | errors | pipelines/s (all) | pipelines/s (steady) | p50 ms | p99 ms | provider req/s |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const run of results.throughput.runs) {
      for (const [name, r] of [
        ['baseline', run.baseline],
        ['Chorus remote', run.chorus],
        ...(run.chorusLocal ? ([['Chorus local', run.chorusLocal]] as const) : []),
      ] as const) {
        const l = r.load;
        lines.push(
          `| ${run.concurrency} | ${name} | ${l.completed}/${l.issued} | ${errorsOf(r)} | ${l.throughputPerSec} | ${l.steadyThroughputPerSec} | ${l.latencyMs.p50} | ${l.latencyMs.p99} | ${r.simulator.meanRatePerSec} |`,
        );
      }
      lines.push(`| ${run.concurrency} | **Chorus remote / baseline** | | | | **${run.ratio}×** | | | |`);
      if (run.ratioLocal !== undefined) lines.push(`| ${run.concurrency} | **Chorus local / baseline** | | | | **${run.ratioLocal}×** | | | |`);
    }
    lines.push('');
  }

  if (results.memory?.openPeakMb) {
    const m = results.memory;
    const { oneAtATime, allAtOnce } = m.closeToAnswerMs;
    lines.push(
      `## Memory — ${m.runs} runs in flight, each with a result long-poll on the API (1 worker)`,
      '',
      `Every run waits at its first provider call (the simulator holds it). ${m.opened} runs were opened in ${m.openMs} ms (at most ${m.maxOpen} open at once), ` +
        `held ${m.holdMs / 1000} s, then ${oneAtATime.n} one-call runs were started and completed one at a time with all of them still waiting, and the held runs were terminated all at once (${m.allAtOnceMs} ms until every long-poll answered). ` +
        `${m.errors} errors${m.errors ? ` ${JSON.stringify(m.errorCounts)}` : ''}.` +
        (m.servedMb
          ? ` The API and the worker are fresh processes: the ones that served the scenarios before had ${m.servedMb.api} MB and ${m.servedMb.worker} MB (heap those bursts grew and V8 kept).`
          : ''),
      '',
      '| process | idle RSS MB | peak while opening and holding | RSS at the end of the hold | peak over the whole scenario (closes included) | VmHWM (process lifetime) |',
      '| --- | --- | --- | --- | --- | --- |',
      ...(['api', 'worker'] as const).map(
        (name) =>
          `| ${name === 'api' ? 'API' : 'worker'} | ${m.idleMb[name]} | ${m.openPeakMb[name]} | ${m.heldMb[name]} | ${m.memory[name].peakSampledRssMb} | ${m.memory[name].lifetimeHwmMb} |`,
      ),
      '',
      '| run closed → its long-poll answered (server close time to client) | n | p50 ms | p95 ms | max ms |',
      '| --- | --- | --- | --- | --- |',
      `| a one-call run completing, 1 at a time, the held long-polls still open | ${oneAtATime.n} | ${oneAtATime.p50} | ${oneAtATime.p95} | ${oneAtATime.max} |`,
      `| the held runs terminated all at once (200 terminations in flight; a terminated run's answer includes a progress query, up to 3 s) | ${allAtOnce.n} | ${allAtOnce.p50} | ${allAtOnce.p95} | ${allAtOnce.max} |`,
      '',
    );
  }

  if (results.scaling) {
    const s = results.scaling;
    lines.push(
      `## Scaling — ${s.maxActivitiesPerWorker} activity slots per provider queue per worker, simulator latency ${s.simulatorLatencyMs} ms, concurrency ${s.concurrency}`,
      '',
      `Slot-bound ideal: ${s.idealPipelinesPerSecPerWorker} pipelines/s per worker.`,
      '',
      '| workers | completed | errors | pipelines/s (whole run) | speedup vs 1 | steady pipelines/s | speedup vs 1 | provider req/s | speedup vs 1 | p50 ms |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    const speedups = scalingSpeedups(s);
    s.runs.forEach((run, i) => {
      lines.push(
        `| ${run.workers} | ${run.load.completed}/${run.load.issued} | ${errorsOf(run)} | ${run.load.throughputPerSec} | ${speedups[i].pipelines}× | ` +
          `${run.load.steadyThroughputPerSec} | ${speedups[i].steadyPipelines}× | ${run.simulator.meanRatePerSec} | ${speedups[i].requests}× | ${run.load.latencyMs.p50} |`,
      );
    });
    lines.push(
      '',
      'The verdict reads the steady rate (completions between the 10th and 90th percentile): a whole run of N pipelines also holds the pipeline depth ' +
        '(its last pipeline still makes two more calls after its first), the same fixed time for any number of workers, which caps the whole-run ratio ' +
        'below 1.8× for a small N (at 2 pipelines/s per worker, 1 s calls and N = 24: (12 + 2) / (6 + 2) = 1.75×).',
    );
    lines.push('');
  }

  if (rate) {
    const r = rate;
    lines.push(
      '## Rate-limit utilization',
      '',
      `${r.workers} workers pacing through one Redis, every provider limited to ${r.limitPerSecPerProvider} requests/s, ${r.pipelines} pipelines ` +
        `(simulator latency ${r.simulatorLatencyMs} ms), every pipeline one call to each provider at once. Utilization is each provider's ` +
        `sustained rate (between its 10th and 90th percentile request) divided by the limit. 429 answers: ${r.responses429}; errors: ${r.errors}.`,
      '',
      '| provider | sustained req/s | utilization | mean req/s (whole span) | most requests in any 1 s | requests in each second |',
      '|---|---|---|---|---|---|',
      ...Object.keys(r.steadyRatePerSecByProvider).map(
        (provider) =>
          `| ${provider} | ${r.steadyRatePerSecByProvider[provider]} | ${Math.round(r.utilizationByProvider[provider] * 1000) / 10} % | ` +
          `${r.meanRatePerSecByProvider[provider]} | ${r.peakRequestsIn1sByProvider[provider]} | ${r.requestsPerSecondByProvider[provider].join(' ')} |`,
      ),
      '',
    );
  }
  lines.push('![latency and throughput](./' + report.label + '.svg)', '');
  return lines.join('\n');
}

/**
 * Speedup over one worker, from completed/elapsed (a closed loop whose count is a few times its
 * concurrency ramps and drains, which the 10–90 % "steady" window misreads) and from the provider
 * request rate the simulator saw, which counts busy activity slots directly.
 */
export function scalingSpeedups(scaling: NonNullable<BenchReport['results']['scaling']>) {
  const [first] = scaling.runs;
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  return scaling.runs.map((run) => ({
    pipelines: ratio(run.load.throughputPerSec, first.load.throughputPerSec),
    steadyPipelines: ratio(run.load.steadyThroughputPerSec, first.load.steadyThroughputPerSec),
    requests: ratio(run.simulator.meanRatePerSec, first.simulator.meanRatePerSec),
  }));
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLORS = { baseline: '#6b7280', chorus: '#2563eb' };

/** Two panels drawn by hand: the latency CDF of the overhead scenario, and throughput bars. */
export function svg(report: BenchReport): string {
  const width = 920;
  const height = 400;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(latencyPanel(report, 50, 40, 360, 280));
  parts.push(throughputPanel(report, 500, 40, 390, 280));
  parts.push(
    `<text x="${width / 2}" y="${height - 10}" text-anchor="middle" fill="#374151">${escapeXml(`${report.label}: ${report.machine.cores} cores, Node ${report.machine.node}, ${report.startedAt}`)}</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function axisTicks(max: number, count = 5): number[] {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw) ?? raw;
  return Array.from({ length: Math.floor(max / step) + 1 }, (_, i) => i * step);
}

function latencyPanel(report: BenchReport, x: number, y: number, w: number, h: number): string {
  const overhead = report.results.overhead;
  const out = [`<text x="${x}" y="${y - 15}" font-size="13" font-weight="bold">End-to-end latency, 3 provider calls (CDF)</text>`];
  if (!overhead) return out.concat(`<text x="${x}" y="${y + 20}">overhead scenario not run</text>`).join('\n');
  const curves = [
    { name: 'baseline', values: overhead.baseline.load.latencyCurve, color: COLORS.baseline },
    { name: 'Chorus', values: overhead.chorus.load.latencyCurve, color: COLORS.chorus },
  ];
  const all = curves.flatMap((curve) => curve.values);
  const lo = Math.floor(Math.min(...all) / 10) * 10;
  const hi = Math.ceil(percentileOf(all, 0.995) / 10) * 10;
  const sx = (v: number) => x + ((Math.min(v, hi) - lo) / (hi - lo || 1)) * w;
  const sy = (p: number) => y + h - p * h;
  out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#d1d5db"/>`);
  for (const p of [0, 0.25, 0.5, 0.75, 0.95, 1]) {
    out.push(`<line x1="${x}" x2="${x + w}" y1="${sy(p)}" y2="${sy(p)}" stroke="#f3f4f6"/>`);
    out.push(`<text x="${x - 5}" y="${sy(p) + 4}" text-anchor="end">p${Math.round(p * 100)}</text>`);
  }
  for (const tick of axisTicks(hi - lo)) {
    const v = lo + tick;
    out.push(`<text x="${sx(v)}" y="${y + h + 14}" text-anchor="middle">${v}</text>`);
  }
  out.push(`<text x="${x + w / 2}" y="${y + h + 30}" text-anchor="middle">ms (simulator ${overhead.simulatorLatencyMs} ms per call)</text>`);
  curves.forEach((curve, index) => {
    const points = curve.values.map((v, i) => `${sx(v).toFixed(1)},${sy(curve.values.length > 1 ? i / (curve.values.length - 1) : 1).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${curve.color}" stroke-width="2" points="${points.join(' ')}"/>`);
    out.push(`<rect x="${x + 10}" y="${y + 10 + index * 16}" width="10" height="10" fill="${curve.color}"/>`);
    const l = curve.name === 'baseline' ? overhead.baseline.load.latencyMs : overhead.chorus.load.latencyMs;
    out.push(`<text x="${x + 25}" y="${y + 19 + index * 16}">${curve.name}: p50 ${l.p50} ms, p99 ${l.p99} ms</text>`);
  });
  return out.join('\n');
}

function percentileOf(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function throughputPanel(report: BenchReport, x: number, y: number, w: number, h: number): string {
  const out = [`<text x="${x}" y="${y - 15}" font-size="13" font-weight="bold">Completed pipelines/s</text>`];
  const bars: Array<{ group: string; name: string; value: number; color: string }> = [];
  for (const run of report.results.throughput?.runs ?? []) {
    bars.push({ group: `c=${run.concurrency}`, name: 'baseline', value: run.baseline.load.steadyThroughputPerSec, color: COLORS.baseline });
    bars.push({ group: `c=${run.concurrency}`, name: 'Chorus', value: run.chorus.load.steadyThroughputPerSec, color: COLORS.chorus });
  }
  for (const run of report.results.scaling?.runs ?? []) {
    bars.push({
      group: `${run.workers}w×${report.results.scaling?.maxActivitiesPerWorker}`,
      name: 'Chorus',
      value: run.load.throughputPerSec,
      color: '#16a34a',
    });
  }
  if (!bars.length) return out.concat(`<text x="${x}" y="${y + 20}">throughput scenarios not run</text>`).join('\n');
  const max = Math.max(...bars.map((bar) => (Number.isFinite(bar.value) ? bar.value : 0)), 1) * 1.1;
  const slot = w / bars.length;
  out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#d1d5db"/>`);
  for (const tick of axisTicks(max)) {
    const ty = y + h - (tick / max) * h;
    out.push(`<line x1="${x}" x2="${x + w}" y1="${ty}" y2="${ty}" stroke="#f3f4f6"/>`);
    out.push(`<text x="${x - 5}" y="${ty + 4}" text-anchor="end">${tick}</text>`);
  }
  bars.forEach((bar, i) => {
    const value = Number.isFinite(bar.value) ? bar.value : 0;
    const bh = (value / max) * h;
    const bx = x + i * slot + slot * 0.15;
    out.push(`<rect x="${bx.toFixed(1)}" y="${(y + h - bh).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${bh.toFixed(1)}" fill="${bar.color}"/>`);
    out.push(`<text x="${(bx + slot * 0.35).toFixed(1)}" y="${(y + h - bh - 4).toFixed(1)}" text-anchor="middle">${value}</text>`);
    out.push(`<text x="${(bx + slot * 0.35).toFixed(1)}" y="${y + h + 14}" text-anchor="middle">${escapeXml(bar.group)}</text>`);
    out.push(`<text x="${(bx + slot * 0.35).toFixed(1)}" y="${y + h + 27}" text-anchor="middle" fill="#6b7280">${bar.name}</text>`);
  });
  out.push(
    `<text x="${x + w / 2}" y="${y + h + 42}" text-anchor="middle">steady rate at simulator 50 ms (grey/blue); worker scaling, 5 slots each (green)</text>`,
  );
  return out.join('\n');
}
