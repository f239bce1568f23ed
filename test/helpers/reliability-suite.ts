import { Client, Connection } from '@temporalio/client';
import type { Env } from '../../src/config/env';
import type { TemporalSettings } from '../../src/config/temporal';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator/server';
import { startRedis } from './redis';
import { ProcessPool, requireBuilt } from './reliability';
import { testTemporalSettings } from './stack';

export interface ReliabilitySuiteOptions {
  /** Built entry points the suite starts as processes (checked before anything starts). */
  entries: string[];
  /** Starts an in-process provider simulator with these options for the whole suite. */
  simulator?: SimulatorOptions;
  /** Starts a throwaway redis-server for the whole suite. */
  redis?: boolean;
}

/** What a reliability suite shares; the connection, simulator and Redis exist once its beforeAll ran. */
export interface ReliabilitySuite {
  readonly pool: ProcessPool;
  readonly temporal: TemporalSettings;
  readonly connection: Connection;
  readonly simulator: RunningSimulator;
  readonly redis: { url: string };
  client(): Client;
  /** A worker process's environment: the suite's Temporal server and task queue, calls sent to `simulatorUrl`. */
  workerEnv(simulatorUrl: string): Env;
}

/**
 * The setup every reliability suite repeated: a process pool, a connection to the test Temporal
 * server on the suite's own task queue, optionally a simulator and Redis, all stopped after the suite
 * (also when a test failed half-way). Call it at the top of a `describe`.
 */
export function reliabilitySuite(name: string, options: ReliabilitySuiteOptions): ReliabilitySuite {
  const pool = new ProcessPool();
  const temporal = testTemporalSettings(name);
  let connection: Connection | undefined;
  let simulator: RunningSimulator | undefined;
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the suite's ${what} is not started (used before beforeAll, or not asked for)`);
    return value;
  };

  beforeAll(async () => {
    requireBuilt(...options.entries);
    if (options.simulator) simulator = await startSimulator(options.simulator);
    if (options.redis) redis = await startRedis();
    connection = await Connection.connect({ address: temporal.address });
  });
  afterAll(async () => {
    await pool.stopAll();
    await connection?.close();
    await simulator?.close();
    await redis?.stop();
  });

  return {
    pool,
    temporal,
    get connection() {
      return started(connection, 'Temporal connection');
    },
    get simulator() {
      return started(simulator, 'simulator');
    },
    get redis() {
      return started(redis, 'Redis');
    },
    client: () => new Client({ connection: started(connection, 'Temporal connection') }),
    workerEnv: (simulatorUrl) => ({ TEMPORAL_ADDRESS: temporal.address, CHORUS_TASK_QUEUE: temporal.taskQueue, CHORUS_SIMULATOR_URL: simulatorUrl }),
  };
}
