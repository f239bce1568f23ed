import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** A child the benchmark started; every one is stopped when the benchmark ends, however it ends. */
export interface BenchChild {
  name: string;
  child: ChildProcess;
  pid: number;
  exited: Promise<number | string>;
  /** Last output lines, printed when something goes wrong. */
  tail(): string[];
  stop(graceMs?: number): Promise<void>;
}

const children = new Set<BenchChild>();

// Last resort: whatever path ends the process, no child outlives it.
process.on('exit', () => {
  for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Environment for Chorus children: no real provider keys or endpoints, so load can only reach the simulator. */
export function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/_API_KEY$|_BASE_URL$|^TEMPORAL_|^CHORUS_/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

function track(name: string, child: ChildProcess, onLine?: (line: string) => void): BenchChild {
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (lines.length > 40) lines.shift();
      onLine?.(line);
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', () => resolve('spawn-error'));
  });
  const managed: BenchChild = {
    name,
    child,
    pid: child.pid ?? -1,
    exited,
    tail: () => [...lines],
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(killer);
      }
      children.delete(managed);
    },
  };
  children.add(managed);
  return managed;
}

export function spawnChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, onLine?: (line: string) => void): BenchChild {
  return track(name, spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }), onLine);
}

/** A Node child with an IPC channel (simulator, baseline gateway). */
export function forkChild(name: string, modulePath: string, env: NodeJS.ProcessEnv): BenchChild {
  return track(name, fork(modulePath, [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }));
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop()));
}

/** Resolves with a line the child prints that matches `pattern`; rejects if it exits or time runs out. */
export function waitForLine(target: BenchChild, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${target.name}: no line matching ${pattern} within ${timeoutMs} ms\n${target.tail().join('\n')}`)),
      timeoutMs,
    );
    const onLine = (line: string) => {
      if (!pattern.test(line)) return;
      clearTimeout(timer);
      resolve(line);
    };
    for (const stream of [target.child.stdout, target.child.stderr]) if (stream) createInterface({ input: stream }).on('line', onLine);
    void target.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${target.name} exited (${code}) before printing ${pattern}\n${target.tail().join('\n')}`));
    });
  });
}

/** Asks the kernel for a free loopback port; the tiny race until the child binds it is acceptable here. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export { waitUntil } from '../../src/process/child-process';

export interface MemoryReading {
  /** Current resident set, MB. */
  rssMb: number;
  /** Peak resident set over the process's life (VmHWM), MB. */
  hwmMb: number;
}

export function readMemory(pid: number): MemoryReading | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Samples the RSS of some processes until stopped; reports the highest sample and the final VmHWM. */
export function sampleMemory(pids: Record<string, number>, everyMs = 100) {
  const peak: Record<string, number> = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  const timer = setInterval(() => {
    for (const [name, pid] of Object.entries(pids)) {
      const reading = readMemory(pid);
      if (reading) peak[name] = Math.max(peak[name], reading.rssMb);
    }
  }, everyMs);
  return {
    /** The highest sample of each process so far. */
    peakSoFar: () => ({ ...peak }),
    stop() {
      clearInterval(timer);
      return Object.fromEntries(
        Object.entries(pids).map(([name, pid]) => [name, { peakSampledRssMb: round(peak[name]), lifetimeHwmMb: round(readMemory(pid)?.hwmMb ?? NaN) }]),
      );
    },
  };
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

const TICKS_PER_SECOND = 100;

/** The fields of /proc/<pid>/stat after the command name, or undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const fields = statFields(pid);
  return fields ? ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND : NaN;
}

/**
 * CPU time of a process and all its descendants, in ms: each living one's own time plus what the
 * children it reaped used (a PostgreSQL postmaster forks a backend per connection).
 */
export function cpuTreeMs(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = Number(statFields(Number(entry))?.[1]);
    if (parent) children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  if (!statFields(pid)) return NaN;
  let ticks = 0;
  const pending = [pid];
  while (pending.length) {
    const current = pending.pop()!;
    const fields = statFields(current);
    if (!fields) continue;
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    pending.push(...(children.get(current) ?? []));
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** CPU ms each process spends between `start` and `stop`; the bench process itself is `loadgen`. */
export function cpuMeter(pids: Record<string, number>, /** Names measured with their descendants (cpuTreeMs). */ trees: ReadonlySet<string> = new Set()) {
  const all = { ...pids, loadgen: process.pid };
  const read = (name: string, pid: number) => (trees.has(name) ? cpuTreeMs(pid) : cpuMs(pid));
  const before = Object.fromEntries(Object.entries(all).map(([name, pid]) => [name, read(name, pid)]));
  return {
    stop(): Record<string, number> {
      return Object.fromEntries(Object.entries(all).map(([name, pid]) => [name, round(read(name, pid) - before[name], 0)]));
    },
  };
}
