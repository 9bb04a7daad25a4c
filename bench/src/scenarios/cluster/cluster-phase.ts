import type { Cluster } from 'ioredis';
import { roundTo } from '../../latency-summary.js';
import { masterCpuMs } from './cluster-nodes.js';

/** What one phase (write or drain) of one setting measured. */
export interface ClusterPhaseFigures {
  triggers: number;
  elapsedMs: number;
  /** Triggers written (write) or delivered (drain) per second. */
  perSecond: number;
  /** CPU each master spent in the phase, by `host:port`. */
  redisCpuMs: Record<string, number>;
  /** The same per 1,000 triggers. */
  redisCpuMsPer1000: Record<string, number>;
  /** Over every master. */
  redisCpuMsPer1000Total: number;
  /** The worker process (drain only; 100 = one core). */
  workerCpuPercent: number | null;
  /**
   * Memory per trigger over every master (`used_memory` delta from before the write, per
   * trigger): after the write, what a waiting trigger takes; after the drain, what its outcome
   * record keeps taking for RESULT_TTL_MS.
   */
  redisBytesPerTrigger?: number;
  /** Drain only, from the simulator: Salesforce calls made, IndividualIds delivered, and deliveries beyond the first. */
  calls?: number;
  delivered?: number;
  duplicates?: number;
}

/** Runs `body` and measures it, with every master's CPU. */
export async function measureClusterPhase(
  admin: Cluster,
  triggers: number,
  body: () => Promise<void>,
): Promise<ClusterPhaseFigures> {
  const before = await masterCpuMs(admin);
  const started = performance.now();
  await body();
  const elapsedMs = performance.now() - started;
  return clusterPhaseFigures(before, await masterCpuMs(admin), triggers, elapsedMs);
}

/** A phase's figures from the masters' CPU before and after it (pure). */
export function clusterPhaseFigures(
  before: Record<string, number>,
  after: Record<string, number>,
  triggers: number,
  elapsedMs: number,
): ClusterPhaseFigures {
  const redisCpuMs: Record<string, number> = {};
  const redisCpuMsPer1000: Record<string, number> = {};
  let total = 0;
  for (const [node, ms] of Object.entries(after)) {
    const spent = ms - (before[node] ?? 0);
    redisCpuMs[node] = Math.round(spent);
    redisCpuMsPer1000[node] = roundTo((spent * 1_000) / triggers, 2);
    total += spent;
  }
  return {
    triggers,
    elapsedMs: Math.round(elapsedMs),
    perSecond: Math.round((triggers * 1_000) / elapsedMs),
    redisCpuMs,
    redisCpuMsPer1000,
    redisCpuMsPer1000Total: roundTo((total * 1_000) / triggers, 2),
    workerCpuPercent: null,
  };
}
