import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisClusterProcess, startRedisCluster } from '@flow-dispatcher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterLines } from '../bench/dist/scenarios/cluster/cluster-report.js';
import {
  type ClusterReport,
  runClusterScenario,
} from '../bench/dist/scenarios/cluster/cluster-scenario.js';

/**
 * A smoke run of the bench's cluster scenario (`pnpm bench --scenarios cluster`: one queue
 * partition against three on a Redis Cluster), tiny enough to take seconds, so the scenario does
 * not rot between the runs people make by hand. It checks that every trigger reached the
 * simulator once, that every master was measured, and that the lent cluster is left empty; never
 * how fast anything was.
 */
describe('bench cluster scenario smoke run', () => {
  let dir: string;
  let cluster: RedisClusterProcess;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fd-bench-cluster-'));
    cluster = await startRedisCluster({ masters: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes and drains each partition setting, measures every master, and cleans up', async () => {
    const report: ClusterReport = await runClusterScenario(
      {
        triggers: 2_000,
        chunkSize: 100,
        partitions: [1, 3],
        latencyMs: 5,
        clusterUrl: cluster.url,
      },
      {},
      { dir, log: () => {} },
    );

    const masters = (await cluster.nodes()).filter((n) => n.role === 'master');
    const masterAddresses = masters.map((m) => `127.0.0.1:${m.port}`).sort();
    expect(report.runs.map((r) => [r.partitions, r.name])).toEqual([
      [1, '1 partition'],
      [3, '3 partitions'],
    ]);
    for (const run of report.runs) {
      // Each partition has a master; three partitions are spread over the three masters.
      expect(run.partitionMasters).toHaveLength(run.partitions);
      expect(new Set(run.partitionMasters).size).toBe(run.partitions);
      for (const master of run.partitionMasters) expect(masterAddresses).toContain(master);
      // What reached the simulator: every trigger once, in batched calls.
      expect({ name: run.name, delivered: run.drain.delivered, dup: run.drain.duplicates }).toEqual(
        { name: run.name, delivered: 2_000, dup: 0 },
      );
      expect(run.drain.calls).toBeGreaterThanOrEqual(2_000 / 200);
      expect(run.drain.calls).toBeLessThan(2_000);
      for (const phase of [run.write, run.drain]) {
        expect(phase.triggers).toBe(2_000);
        expect(phase.perSecond).toBeGreaterThan(0);
        // Every master was read before and after the phase.
        expect(Object.keys(phase.redisCpuMs).sort()).toEqual(masterAddresses);
        expect(phase.redisCpuMsPer1000Total).toBeGreaterThan(0);
      }
      // The masters holding partitions did the work of the drain.
      for (const master of run.partitionMasters)
        expect(run.drain.redisCpuMs[master], `${run.name} ${master}`).toBeGreaterThan(0);
      // Triggers waiting in Redis take memory.
      expect(run.write.redisBytesPerTrigger).toBeGreaterThan(0);
      if (process.platform === 'linux') expect(run.drain.workerCpuPercent).toBeGreaterThan(0);
    }

    // The lent cluster: each setting wrote under a prefix of its own, removed at the end.
    for (const master of masters) {
      const node = cluster.node(master.port);
      try {
        expect(await node.dbsize(), `127.0.0.1:${master.port}`).toBe(0);
      } finally {
        node.disconnect();
      }
    }

    const lines = clusterLines({ status: 'ok', result: report }).join('\n');
    for (const row of ['1 partition, write', '1 partition, drain', '3 partitions, drain'])
      expect(lines).toContain(row);
  }, 120_000);
});
