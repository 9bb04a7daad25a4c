import { Producer } from '@flow-dispatcher/producer';
import {
  type Simulator,
  type SimulatorConfigPatch,
  startSimulator,
} from '@flow-dispatcher/simulator';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { afterEach, beforeEach } from 'vitest';
import { WorkerFleet } from './faults.js';
import { fleetEnv } from './fleet.js';

/** What a fault test runs on: a Redis of its own, the simulator, a producer, worker processes. */
export interface FaultRig {
  /** The test's own redis-server (it may kill, stop or freeze it). */
  readonly redis: RedisServerProcess;
  /** The simulator, in the test's process (only child processes are killed). */
  readonly sim: Simulator;
  /** The producer library on the rig's prefix. */
  readonly producer: Producer;
  /** Starts `count` `flow-dispatcher worker` processes on the rig (extra variables on top). */
  workers(count: number, extra?: Record<string, string>): Promise<WorkerFleet>;
  /** The workers started so far, if any. */
  readonly fleet: WorkerFleet | undefined;
}

export interface FaultRigOptions {
  /** QUEUE_PREFIX of the rig. */
  prefix: string;
  /** The simulator's configuration (on top of a port of its own). */
  simulator?: SimulatorConfigPatch;
  /** redis-server arguments, e.g. `['--appendonly', 'yes']`. */
  redisArgs?: string[];
  /** Triggers per chunk job of the producer. @defaultValue the producer's */
  maxChunkSize?: number;
}

/**
 * The set-up and tear-down the fault tests share: before each test a fresh redis-server, the
 * simulator, a producer; after it, every worker process killed (a frozen Redis or worker is woken
 * first, so nothing is left stopped), then the rest closed, whatever the test did to them.
 */
export function useFaultRig(options: FaultRigOptions): FaultRig {
  let redis: RedisServerProcess | undefined;
  let sim: Simulator | undefined;
  let producer: Producer | undefined;
  let fleet: WorkerFleet | undefined;

  beforeEach(async () => {
    redis = await startRedisServer(options.redisArgs ? { args: options.redisArgs } : {});
    sim = await startSimulator({ port: 0, ...options.simulator });
    producer = new Producer({
      redis: redis.url,
      prefix: options.prefix,
      ...(options.maxChunkSize ? { maxChunkSize: options.maxChunkSize } : {}),
    });
  });

  afterEach(async () => {
    for (const child of [redis?.child, ...(fleet?.all ?? []).map((w) => w.child)]) {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
    }
    await fleet?.killAll();
    await producer?.close();
    await sim?.close();
    await redis?.stop();
    fleet = undefined;
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the fault rig's ${what} is used outside a test`);
    return value;
  };
  return {
    get redis() {
      return need(redis, 'redis');
    },
    get sim() {
      return need(sim, 'simulator');
    },
    get producer() {
      return need(producer, 'producer');
    },
    get fleet() {
      return fleet;
    },
    async workers(count, extra = {}) {
      fleet ??= new WorkerFleet(
        fleetEnv({
          redisUrl: need(redis, 'redis').url,
          prefix: options.prefix,
          simulatorUrl: need(sim, 'simulator').url,
          extra,
        }),
      );
      await fleet.start(count);
      return fleet;
    },
  };
}
