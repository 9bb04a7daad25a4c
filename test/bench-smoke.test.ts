import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerTimeline } from '../bench/dist/answer-timeline.js';
import { type BenchOptions, parseBenchArgs } from '../bench/dist/bench-options.js';
import { quantile, summarizeLatencies } from '../bench/dist/latency-summary.js';
import { meanInFlight } from '../bench/dist/measured-run.js';
import { parseRedisCpuMs } from '../bench/dist/private-redis.js';
import { benchReport } from '../bench/dist/report-table.js';
import { type BenchResult, runBench } from '../bench/dist/run-bench.js';
import { throughputLatencySvg } from '../bench/dist/svg-chart.js';

/**
 * A smoke run of the bench harness (`pnpm bench`), tiny enough to take seconds, so the harness
 * does not rot between the runs people make by hand. It checks that the records are sane and
 * consistent with the simulator's own record, never how fast anything was.
 */
describe('bench harness smoke run', () => {
  let outDir: string;
  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'fd-bench-smoke-'));
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  function smokeOptions(): BenchOptions {
    const parsed = parseBenchArgs(
      [
        '--quick',
        '--name=smoke',
        '--workers=1',
        '--triggers=2000',
        '--per-call-triggers=300',
        '--rates=200',
        '--paced-ms=1000',
        '--scenarios=drain,paced',
        '--b1-concurrency=20',
        '--b2-concurrency=20',
        `--out=${outDir}`,
      ],
      {},
      outDir,
    );
    if (parsed === 'help') throw new Error('unexpected --help');
    return { ...parsed, warmupTriggers: 200, pacedWarmupMs: 300, stallMs: 15_000 };
  }

  let result: BenchResult;

  it('runs every system through the drain and the paced scenario (HTTP ingest: paced only)', async () => {
    result = await runBench(smokeOptions(), () => {});
    expect(result.failures).toEqual([]);
    expect(result.runs.map((r) => r.id).sort()).toEqual(
      [
        'drain/B0',
        'drain/B1',
        'drain/B2',
        'drain/ours',
        'paced-200/B0',
        'paced-200/B1',
        'paced-200/B2',
        'paced-200/ours',
        'paced-200/ours-ingest',
      ].sort(),
    );
  }, 180_000);

  it('delivered every trigger exactly once, per the simulator record', () => {
    for (const run of result.runs) {
      const expected = run.id.startsWith('drain/')
        ? run.system === 'B1' || run.system === 'B2'
          ? 300
          : 2_000
        : 200;
      expect({ id: run.id, status: run.status, triggers: run.triggers }).toEqual({
        id: run.id,
        status: 'ok',
        triggers: expected,
      });
      expect({ id: run.id, ...run.delivery }).toEqual({
        id: run.id,
        expected,
        unique: expected,
        total: expected,
        duplicates: 0,
        lost: 0,
        undelivered: 0,
        failed: 0,
      });
      // No faults are injected: every input was sent once.
      expect({ id: run.id, inputs: run.salesforce.inputs }).toEqual({
        id: run.id,
        inputs: expected,
      });
    }
  });

  it('keeps records that agree with themselves', () => {
    for (const run of result.runs) {
      const { latencyMs, salesforce, throughput, timeline, timing } = run;
      expect(latencyMs.count).toBe(run.triggers);
      expect(latencyMs.p50).not.toBeNull();
      expect(latencyMs.p50 as number).toBeLessThanOrEqual(latencyMs.p99 as number);
      expect(latencyMs.p99 as number).toBeLessThanOrEqual(latencyMs.max as number);
      expect(latencyMs.p50 as number).toBeGreaterThanOrEqual(0);
      expect(timeline.counts.reduce((a, b) => a + b, 0)).toBe(run.triggers);
      expect(timing.writeStartAt).toBeLessThanOrEqual(timing.writeEndAt);
      expect(timing.releaseAt).toBeLessThanOrEqual(timing.lastAnswerAt);
      expect(throughput.endToEnd).toBeGreaterThan(0);
      if (run.system === 'B1' || run.system === 'B2') {
        expect({ id: run.id, calls: salesforce.calls }).toEqual({
          id: run.id,
          calls: run.triggers,
        });
      } else {
        // Batched: at least one call per 200 inputs, and fewer calls than triggers.
        expect(salesforce.calls).toBeGreaterThanOrEqual(Math.ceil(run.triggers / 200));
        expect(salesforce.calls).toBeLessThan(run.triggers);
      }
      expect(salesforce.callsPerTrigger).toBeCloseTo(salesforce.calls / run.triggers, 10);
      const roles = run.processes.map((p) => p.role);
      expect(roles).toEqual(expect.arrayContaining(['producer', 'redis', 'simulator']));
      if (run.system !== 'B1')
        expect(roles.some((r) => r === 'worker' || r === 'consumer')).toBe(true);
      if (process.platform === 'linux') {
        for (const p of run.processes) {
          expect(p.cpuMs).not.toBeNull();
          expect(p.cpuMs as number).toBeGreaterThanOrEqual(0);
          expect(p.peakRssMb as number).toBeGreaterThan(0);
        }
      }
    }
  });

  it('reports the runs as a table, a chart and the targets', () => {
    const report = benchReport(result, { json: 'x.json', svg: 'x.svg' });
    for (const run of result.runs) expect(report).toContain(run.id);
    const svg = throughputLatencySvg(result.runs, 'smoke');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const name of [
      'ours (library)',
      'ours via HTTP ingest',
      'B0 raw list',
      'B1 direct',
      'B2 BullMQ',
    ]) {
      expect(svg).toContain(name);
    }
    expect(result.targets.length).toBeGreaterThan(0);
    expect(() => JSON.stringify(result)).not.toThrow();
  });
});

describe('bench harness arithmetic', () => {
  it('takes nearest-rank quantiles', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(sorted, 0.5)).toBe(50);
    expect(quantile(sorted, 0.99)).toBe(99);
    expect(quantile(new Float64Array(0), 0.5)).toBeNull();
    expect(summarizeLatencies(Float64Array.from([30, 10, 20]))).toEqual({
      count: 3,
      p50: 20,
      p99: 30,
      max: 30,
      mean: 20,
    });
  });

  it('buckets answers in time and finds the busiest second', () => {
    const answers = Float64Array.from([1_000, 1_050, 1_150, 2_500, 2_550, 2_560]);
    const timeline = answerTimeline(answers, 1_000, 100);
    expect(timeline.counts).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
    expect(timeline.peakPerSecond).toBe(3);
  });

  it("sums Redis's own CPU counters", () => {
    const info =
      '# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.250000\r\nused_cpu_sys_children:9.0\r\n';
    expect(parseRedisCpuMs(info)).toBeCloseTo(3_750, 6);
  });

  it('measures calls in flight over a window from the call record', () => {
    const call = (startedAt: number, endedAt: number | null) =>
      ({ startedAt, endedAt, status: endedAt === null ? 'in-flight' : 200 }) as never;
    // Two calls of 50 ms inside a 100 ms window, one cut by its end: 125 ms busy of 100.
    const result = meanInFlight([call(0, 50), call(50, 100), call(75, null)], 0, 100);
    expect(result).toEqual({
      mean: 1.25,
      meanCallMs: 50,
      calls: 3,
      firstCallAfterMs: 0,
      steadyMean: 1.25,
    });
    // The first call 20 ms after the window opens: the ramp is left out of the steady mean.
    const late = meanInFlight([call(20, 70), call(70, 100)], 0, 100);
    expect(late).toMatchObject({ mean: 0.8, firstCallAfterMs: 20, steadyMean: 1 });
  });
});
