/**
 * `npm run bench:spend`: what holding a provider call to its tenant's caps costs. Starts its own
 * redis-server on a free loopback port, then measures one call's ledger work (a hold before it is
 * sent, its commit after it answers) at several concurrencies: latency per call (p50, p99),
 * calls per second, and the CPU of this process (the worker's side) and of redis-server per call.
 * The same calls without a ledger cost none of this: the run budget alone is workflow state.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { connectRedisTenantLedger } from '../src/spend/tenant-ledger';
import { startProcess, waitUntil } from '../src/process/child-process';
import { redisAnswers, redisServerArgs } from '../src/process/redis';
import { freeLoopbackPort } from '../src/observability/metrics-server';

const CALLS = 4000;
const CONCURRENCIES = [1, 16, 64];
const label = { pipeline: 'bench', provider: 'openai', model: 'gpt-4o-mini' };

/** User + system CPU seconds of a process, from /proc (Linux). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
  const port = await freeLoopbackPort();
  const redis = startProcess('redis', 'redis-server', redisServerArgs(port), { PATH: process.env.PATH }, () => undefined);
  await waitUntil(`redis-server on ${port}`, () => redisAnswers(port), 10_000, 100);
  const ledger = await connectRedisTenantLedger({ redisUrl: `redis://127.0.0.1:${port}`, scope: 'bench' });
  const rows: string[] = [];
  try {
    for (const concurrency of CONCURRENCIES) {
      const latencies: number[] = [];
      let next = 0;
      const ownCpu = process.cpuUsage();
      const redisCpu = cpuSecondsOf(redis.child.pid!);
      const startedAt = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < CALLS) {
            const id = `c${concurrency}-${next++}`;
            const now = Date.now();
            const began = performance.now();
            await ledger.reserve({ tenant: 'acme', id, costUsd: 0.0001, tokens: 300, label, caps: { dailyUsd: 1e6, monthlyUsd: 1e7 } }, now, 30_000);
            await ledger.commit('acme', id, { costUsd: 0.00002, tokens: 120 }, label, now);
            latencies.push(performance.now() - began);
          }
        }),
      );
      const seconds = (performance.now() - startedAt) / 1000;
      const own = process.cpuUsage(ownCpu);
      const redisSeconds = cpuSecondsOf(redis.child.pid!) - redisCpu;
      latencies.sort((a, b) => a - b);
      rows.push(
        `| ${concurrency} | ${percentile(latencies, 50).toFixed(2)} | ${percentile(latencies, 99).toFixed(2)} | ${Math.round(CALLS / seconds)} | ` +
          `${(((own.user + own.system) / 1000 / CALLS) * 1000).toFixed(0)} | ${((redisSeconds / CALLS) * 1e6).toFixed(0)} |`,
      );
    }
  } finally {
    await ledger.close();
    await redis.stop(2000);
  }
  console.log(`Tenant ledger: hold + commit per provider call, ${CALLS} calls per row, one redis-server on loopback\n`);
  console.log('| concurrency | p50 ms | p99 ms | calls/s | worker CPU µs/call | redis CPU µs/call |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
