/**
 * The cluster scenario: the same workload with each QUEUE_PARTITIONS setting (1 and 3 by default)
 * on one 3-master Redis Cluster, to see what partitioning costs and where the Redis work goes.
 * Per setting, on a fresh prefix:
 *
 *   1. write: the producer library (in the harness's process) enqueues `triggers` triggers of one
 *      flow (chunks of `chunkSize`, without keys: round robin over the partitions), 4 chunk writes
 *      at a time;
 *   2. drain: a `flow-dispatcher worker` process is started with the flow paused (so its start-up
 *      is not measured), the flow is resumed, and the worker drains the triggers into the
 *      simulator (in the harness's process, `latencyMs` per call): triggers delivered per second,
 *      from the resume to the last delivery.
 *
 * Each phase reads every master's CPU (INFO cpu) before and after, so the figures say how much
 * Redis CPU 1,000 triggers cost on each node, and the worker's own CPU. On a small machine the
 * harness, the worker and the three masters share the cores: three partitions cannot be faster
 * there, and the figures show the overhead of partitioning, not the gain of spreading Redis over
 * machines. The per-node CPU per 1,000 triggers is the number to size a cluster with
 * (docs/scaling.md).
 */
import { join } from 'node:path';
import { FlowControl, Producer } from '@flow-dispatcher/producer';
import { connectRedis, isCluster } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { startRedisCluster } from '@flow-dispatcher/testkit';
import type { Cluster } from 'ioredis';
import { CLI_BIN } from '../../bench-paths.js';
import { startCli, stopCli } from '../../cli-process.js';
import type { Log } from '../../measured-run.js';
import { readCpuMs } from '../../process-probe.js';
import { unlinkPrefix } from '../../redis-prefix-cleanup.js';
import { BENCH_FLOW } from '../../workload.js';
import { masterMemoryBytes, mastersOf } from './cluster-nodes.js';
import { type ClusterPhaseFigures, measureClusterPhase } from './cluster-phase.js';
import type { ClusterSettings } from './cluster-settings.js';

/** One QUEUE_PARTITIONS setting's figures. */
export interface ClusterRun {
  partitions: number;
  /** `1 partition`, `3 partitions`. */
  name: string;
  /** The master (`host:port`) of each partition, by partition. */
  partitionMasters: string[];
  write: ClusterPhaseFigures;
  drain: ClusterPhaseFigures;
}

/** What the cluster scenario measured (kept whole in the bench's JSON, `cluster.result`). */
export interface ClusterReport {
  settings: ClusterSettings;
  runs: ClusterRun[];
  note: string;
}

/** A drain that delivers nothing new for this long has failed. */
const DRAIN_STALL_MS = 60_000;

export async function runClusterScenario(
  settings: ClusterSettings,
  workerEnv: Record<string, string>,
  deps: { dir: string; log: Log },
): Promise<ClusterReport> {
  const own = settings.clusterUrl ? undefined : await startRedisCluster({ masters: 3 });
  const clusterUrl = settings.clusterUrl ?? (own?.url as string);
  const admin = connectRedis(clusterUrl);
  const sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: settings.latencyMs } });
  const runs: ClusterRun[] = [];
  const prefixes: string[] = [];
  try {
    if (!isCluster(admin)) throw new Error(`${clusterUrl} does not name a Redis Cluster`);
    await admin.ping();
    for (const partitions of settings.partitions) {
      const prefix = `bench-cl${partitions}-${Date.now().toString(36)}`;
      prefixes.push(prefix);
      runs.push(
        await measureSetting(partitions, prefix, {
          admin,
          clusterUrl,
          sim,
          settings,
          workerEnv,
          ...deps,
        }),
      );
    }
  } finally {
    if (isCluster(admin)) {
      for (const prefix of prefixes)
        for (const node of admin.nodes('master')) await unlinkPrefix(node, prefix).catch(() => {});
    }
    admin.disconnect();
    await sim.close();
    await own?.stop();
  }
  return {
    settings,
    runs,
    note: 'The harness (load generator and simulator), the worker and every master share this machine: partitions show their overhead here, not the gain of spreading Redis over machines. Size with redisCpuMsPer1000 (per node).',
  };
}

interface SettingContext {
  admin: Cluster;
  clusterUrl: string;
  sim: Simulator;
  settings: ClusterSettings;
  workerEnv: Record<string, string>;
  dir: string;
  log: Log;
}

async function measureSetting(
  partitions: number,
  prefix: string,
  ctx: SettingContext,
): Promise<ClusterRun> {
  const { admin, sim, settings } = ctx;
  const name = `${partitions} partition${partitions === 1 ? '' : 's'}`;
  sim.reset();
  const producer = new Producer({
    redis: ctx.clusterUrl,
    prefix,
    partitions,
    maxChunkSize: settings.chunkSize,
  });
  const control = new FlowControl(producer.redis, producer.keys);
  try {
    const partitionMasters = await mastersOf(
      admin,
      producer.keys.allPartitions.map((k) => k.pending),
    );
    ctx.log(`  cluster: ${name}: partitions on ${partitionMasters.join(', ')}`);
    const inputs = Array.from({ length: settings.triggers }, (_, i) => ({
      IndividualId: `0PKcl${String(partitions).padStart(3, '0')}${String(i).padStart(10, '0')}`,
      TelephoneNumber: '+15550100',
    }));
    const memoryBefore = await masterMemoryBytes(admin);
    const write = await measureClusterPhase(admin, settings.triggers, async () => {
      await producer.triggerMany(BENCH_FLOW, inputs, { concurrency: 4 });
    });
    write.redisBytesPerTrigger = Math.round(
      ((await masterMemoryBytes(admin)) - memoryBefore) / settings.triggers,
    );
    ctx.log(`  cluster: ${name}: write ${describeClusterPhase(write)}`);
    const before = sim.stats();
    // The worker starts with the flow paused: its start-up is not part of the drain.
    await control.pause(BENCH_FLOW);
    const logFile = join(ctx.dir, `cluster-${partitions}-worker.log`);
    const worker = await startCli(
      [CLI_BIN, 'worker'],
      {
        PATH: process.env.PATH,
        REDIS_URL: ctx.clusterUrl,
        QUEUE_PREFIX: prefix,
        QUEUE_PARTITIONS: String(partitions),
        SF_LOGIN_URL: sim.url,
        SF_CLIENT_ID: 'sim-client-id',
        SF_CLIENT_SECRET: 'sim-client-secret',
        METRICS_PORT: '0',
        LOG_LEVEL: 'info',
        WORKER_MAX_BUFFERED_TRIGGERS: '20000',
        ...ctx.workerEnv,
      },
      logFile,
      '"msg":"worker ready"',
    );
    try {
      // Let the worker's consumers come up on the paused flow before the clock starts.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const pid = worker.child.pid ?? -1;
      const cpuBefore = readCpuMs(pid);
      const drain = await measureClusterPhase(admin, settings.triggers, async () => {
        await control.resume(BENCH_FLOW);
        await waitDelivered(sim, before.deliveries.unique + settings.triggers, logFile);
      });
      const cpuAfter = readCpuMs(pid);
      drain.workerCpuPercent =
        cpuBefore === null || cpuAfter === null
          ? null
          : Math.round(((cpuAfter - cpuBefore) * 100) / drain.elapsedMs);
      // The simulator counts a delivery when it runs an input, and a call once it has answered
      // it: read the counts once the last calls are answered (at most 10 s).
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
        if (sim.calls().every((call) => call.status !== 'in-flight')) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const after = sim.stats();
      drain.calls = after.invokeCalls.total - before.invokeCalls.total;
      drain.delivered = after.deliveries.unique - before.deliveries.unique;
      drain.duplicates = after.deliveries.duplicates - before.deliveries.duplicates;
      // The last answers are recorded just after the simulator counts them.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      drain.redisBytesPerTrigger = Math.round(
        ((await masterMemoryBytes(admin)) - memoryBefore) / settings.triggers,
      );
      ctx.log(`  cluster: ${name}: drain ${describeClusterPhase(drain)}`);
      return { partitions, name, partitionMasters, write, drain };
    } finally {
      await stopCli(worker.child);
    }
  } finally {
    await control.close();
    await producer.close();
  }
}

/** Polls the simulator every 20 ms until `target` distinct IndividualIds were delivered. */
async function waitDelivered(sim: Simulator, target: number, logFile: string): Promise<void> {
  let last = -1;
  let lastProgressAt = Date.now();
  for (;;) {
    const delivered = sim.stats().deliveries.unique;
    if (delivered >= target) return;
    if (delivered !== last) {
      last = delivered;
      lastProgressAt = Date.now();
    } else if (Date.now() - lastProgressAt > DRAIN_STALL_MS) {
      throw new Error(
        `the drain delivered nothing for ${DRAIN_STALL_MS / 1_000} s (${delivered} of ${target}); see ${logFile}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One phase's figures as a progress line (pure). */
export function describeClusterPhase(f: ClusterPhaseFigures): string {
  const worker = f.workerCpuPercent === null ? '' : `, worker CPU ${f.workerCpuPercent}%`;
  const calls = f.calls === undefined ? '' : `, ${f.calls} calls`;
  const memory =
    f.redisBytesPerTrigger === undefined
      ? ''
      : `, ${f.redisBytesPerTrigger} bytes of Redis memory per trigger`;
  const nodes = Object.entries(f.redisCpuMsPer1000)
    .map(([node, ms]) => `${node} ${ms}`)
    .join(', ');
  return `${f.perSecond} triggers/s (${f.triggers} in ${f.elapsedMs} ms)${calls}${worker}${memory}; Redis CPU ms per 1,000 triggers: ${nodes} (total ${f.redisCpuMsPer1000Total})`;
}
