import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRedis } from '@flow-dispatcher/shared';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SingleReport } from '../bench/dist/scenarios/single/ingest-modes.js';
import { singleLines } from '../bench/dist/scenarios/single/single-report.js';
import { runSingleScenario } from '../bench/dist/scenarios/single/single-scenario.js';
import { checkTargets } from '../bench/dist/targets.js';

const RUN_JS = fileURLToPath(new URL('../bench/dist/run.js', import.meta.url));

/**
 * Smoke runs of the bench's single scenario (`pnpm bench --scenarios single`: HTTP ingest, group
 * commit against one job per trigger), tiny enough to take seconds, so the scenario does not rot
 * between the runs people make by hand. They check that the report is whole and consistent with
 * what reached Redis, never how fast anything was.
 */
describe('bench single scenario smoke run', () => {
  let dir: string;
  let redis: RedisServerProcess;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fd-bench-single-'));
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('measures both modes at every client count and a fixed rate, reports where the CPU went, and leaves a lent Redis as it found it', async () => {
    const report: SingleReport = await runSingleScenario(
      {
        rates: [300],
        durationMs: 500,
        throughputDurationMs: 400,
        rounds: 1,
        warmupMs: 200,
        concurrencies: [2, 8],
        redisUrl: redis.url,
      },
      {},
      { dir, log: () => {} },
    );

    expect(Object.keys(report.modes).sort()).toEqual(['group-commit', 'one-job-per-trigger']);
    for (const [mode, figures] of Object.entries(report.modes)) {
      const phases = [...figures.byConcurrency, ...figures.paced];
      expect(figures.byConcurrency.map((f) => f.concurrency)).toEqual([2, 8]);
      expect(figures.paced.map((f) => f.rate)).toEqual([300]);
      for (const phase of phases) {
        expect(phase.failed, mode).toBe(0);
        expect(phase.accepted, mode).toBe(phase.requests);
        expect(phase.accepted, mode).toBeGreaterThan(0);
        // What reached Redis: every accepted trigger is stored (the pending counter), in jobs on
        // the flow's wait list: one per trigger, or at least one for a phase's worth of them.
        expect(phase.stored, mode).toBe(phase.accepted);
        if (mode === 'one-job-per-trigger') expect(phase.jobs).toBe(phase.accepted);
        else {
          expect(phase.jobs).toBeGreaterThanOrEqual(1);
          expect(phase.jobs).toBeLessThanOrEqual(phase.accepted);
        }
        // Every request went through ingest's own request histogram.
        expect(phase.server.p99AtMostMs).not.toBeNull();
        if (process.platform === 'linux') {
          expect(phase.cpu).not.toBeNull();
          // Every probe read something: each of the three worked in every phase.
          expect(phase.cpu?.ingest).toBeGreaterThan(0);
          expect(phase.cpu?.redis).toBeGreaterThan(0);
          expect(phase.cpu?.generator).toBeGreaterThan(0);
          expect(phase.cpu?.busy).toBeGreaterThan(0);
          expect(Number.isFinite(phase.cpu?.steal)).toBe(true);
        }
      }
      // A mode's throughput is its best client count.
      const best = Math.max(...figures.byConcurrency.map((f) => f.perSecond));
      expect(figures.throughput.perSecond).toBe(best);
    }
    // Eight clients send concurrently: group commit packs them into fewer jobs than triggers.
    const packed = report.modes['group-commit'].byConcurrency.find((f) => f.concurrency === 8);
    expect(packed?.jobs).toBeLessThan(packed?.accepted ?? 0);

    expect(report.roundRatios).toHaveLength(1);
    expect(report.speedup).toBe(report.roundRatios[0]);
    expect(Object.keys(report.ratioByConcurrency).sort()).toEqual(['2', '8']);

    // The lent Redis: each mode wrote under a prefix of its own, removed at the end.
    const client = createRedis(redis.url);
    try {
      expect(await client.dbsize()).toBe(0);
    } finally {
      client.disconnect();
    }

    // The harness's report and targets read it.
    const outcome = { status: 'ok' as const, result: report };
    const lines = singleLines(outcome).join('\n');
    for (const phase of ['2 clients', '8 clients', '300 req/s'])
      for (const mode of ['group-commit', 'one-job-per-trigger'])
        expect(lines).toContain(`${mode}, ${phase}`);
    expect(lines).toContain(`${report.speedup}×`);
    const targets = checkTargets([], outcome);
    const speedup = targets.find((t) => t.target.startsWith('single-trigger ingest'));
    expect(speedup?.pass).toBe(report.speedup >= 3);
    // Not measured: this run's only fixed rate is 300 req/s.
    expect(targets.find((t) => t.target.startsWith('ingest request p99'))?.pass).toBeNull();
  }, 90_000);

  it('runs alone from the command line on a private Redis, and writes its report', () => {
    const run = spawnSync(
      process.execPath,
      [
        RUN_JS,
        '--quick',
        '--name=single-smoke',
        '--scenarios=single',
        '--clients=4',
        '--rates=200',
        '--paced-ms=400',
        '--saturation-ms=300',
        `--out=${dir}`,
      ],
      { encoding: 'utf8', timeout: 90_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('group-commit, 4 clients (best)');
    expect(run.stdout).toContain('one-job-per-trigger, 200 req/s');
    const files = readdirSync(dir).filter((f) => f.endsWith('-single-smoke.json'));
    expect(files).toHaveLength(1);
    const result = JSON.parse(readFileSync(join(dir, files[0] as string), 'utf8'));
    expect(result.schema).toBe(2);
    expect(result.runs).toEqual([]);
    expect(result.failures).toEqual([]);
    expect(result.cluster.status).toBe('skipped');
    expect(result.single.status).toBe('ok');
    expect(result.single.result.settings).toMatchObject({
      rates: [200],
      durationMs: 400,
      throughputDurationMs: 300,
      rounds: 1,
      concurrencies: [4],
    });
    for (const figures of Object.values(result.single.result.modes as SingleReport['modes'])) {
      for (const phase of [...figures.byConcurrency, ...figures.paced]) {
        expect(phase.failed).toBe(0);
        expect(phase.stored).toBe(phase.accepted);
      }
    }
    // Nothing to chart: no system runs.
    expect(existsSync(join(dir, files[0]?.replace(/\.json$/, '.svg') ?? ''))).toBe(false);
  }, 120_000);

  it.each([
    '--clients x',
    '--clients 0',
    '--rates 2k',
    '--rounds 0',
    '--scenarios single,bogus',
    '--redis-url redis://127.0.0.1:1,127.0.0.1:2',
    '--cluster-url redis://127.0.0.1:1',
    '--bogus',
  ])('refuses %s with one line and exit 2, before starting anything', (flags) => {
    const run = spawnSync(process.execPath, [RUN_JS, ...flags.split(' ')], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^bench: .+ \(see --help\)\n$/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
