import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runIngestBench } from '../bench/ingest/index.js';

/**
 * A smoke run of bench/ingest (`node bench/ingest/index.js`), tiny enough to take seconds, so the
 * benchmark does not rot between the runs people make by hand. It checks that the report is
 * whole and consistent with what reached Redis, never how fast anything was.
 */
describe('ingest bench smoke run', () => {
  it('measures both modes at every client count and a fixed rate, and reports where the CPU went', async () => {
    const report = await runIngestBench({
      rates: [300],
      durationMs: 500,
      throughputDurationMs: 400,
      rounds: 1,
      warmupMs: 200,
      concurrency: [8, 2],
      log: () => {},
    });

    expect(report.settings.concurrencies).toEqual([2, 8]);
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
    const packed = report.modes['group-commit']?.byConcurrency.find((f) => f.concurrency === 8);
    expect(packed?.jobs).toBeLessThan(packed?.accepted ?? 0);

    expect(report.roundRatios).toHaveLength(1);
    expect(report.speedup).toBe(report.roundRatios[0]);
    expect(Object.keys(report.ratioByConcurrency).sort()).toEqual(['2', '8']);
    expect(typeof report.targets['group commit ≥ 3× one job per trigger']).toBe('boolean');
    // Not measured: this run's only fixed rate is 300 req/s.
    expect(report.targets['p99 < 25 ms at 2,000 req/s (group commit)']).toBeNull();
  }, 60_000);

  it.each(['--concurrency x', '--concurrency 0', '--rate 2k', '--bogus'])(
    'refuses %s with one line and exit 2, before starting anything',
    (flags) => {
      const bench = fileURLToPath(new URL('../bench/ingest/index.js', import.meta.url));
      const run = spawnSync(process.execPath, [bench, ...flags.split(' ')], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^ingest-bench: .+\n$/);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    },
  );
});
