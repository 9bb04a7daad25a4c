import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerTimeline } from '../bench/dist/answer-timeline.js';
import { type BenchOptions, parseBenchArgs } from '../bench/dist/bench-options.js';
import { median, quantile, summarizeLatencies } from '../bench/dist/latency-summary.js';
import { meanInFlight } from '../bench/dist/measured-run.js';
import { parseRedisCpuMs } from '../bench/dist/private-redis.js';
import { benchReport } from '../bench/dist/report-table.js';
import { type BenchResult, runBench } from '../bench/dist/run-bench.js';
import { clusterPhaseFigures } from '../bench/dist/scenarios/cluster/cluster-phase.js';
import {
  parseDurationBuckets,
  phaseFigures,
  type Sample,
} from '../bench/dist/scenarios/single/ingest-figures.js';
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
    expect(result.schema).toBe(2);
    expect(result.single.status).toBe('skipped');
    expect(result.cluster.status).toBe('skipped');
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

describe('bench options', () => {
  const parse = (argv: string[], env: Record<string, string> = {}) => {
    const options = parseBenchArgs(argv, env, '/out');
    if (options === 'help') throw new Error('unexpected --help');
    return options;
  };

  it("gives each scenario its own defaults, the full run's and the quick one's", () => {
    const full = parse([]);
    expect(full.scenarios).toEqual(['drain', 'paced', 'bound', 'single']);
    expect([full.latencyMs, full.cluster.latencyMs]).toEqual([50, 20]);
    expect([full.bulkTriggers, full.cluster.triggers]).toEqual([1_000_000, 100_000]);
    expect(full.pacedRates).toEqual([1_000, 5_000]);
    expect(full.single).toEqual({
      rates: [1_000, 2_000, 5_000],
      durationMs: 10_000,
      throughputDurationMs: 4_000,
      rounds: 3,
      warmupMs: 2_000,
      concurrencies: [64, 128, 256],
      redisUrl: undefined,
    });
    expect(full.cluster).toEqual({
      triggers: 100_000,
      chunkSize: 1_000,
      partitions: [1, 3],
      latencyMs: 20,
      clusterUrl: undefined,
    });
    const quick = parse(['--quick']);
    expect([quick.bulkTriggers, quick.cluster.triggers]).toEqual([100_000, 20_000]);
    expect(quick.single).toMatchObject({
      rates: [2_000],
      durationMs: 3_000,
      throughputDurationMs: 3_000,
      rounds: 1,
      warmupMs: 1_000,
    });
  });

  it('hands a shared flag to every scenario that has the setting', () => {
    const options = parse(
      [
        '--quick',
        '--latency-ms=7',
        '--triggers=5000',
        '--rates=2000',
        '--rates=500',
        '--paced-ms=800',
        '--clients=8,2,8',
        '--partitions=3',
        '--scenarios=cluster',
        '--scenarios=single',
      ],
      { PRODUCER_CHUNK_SIZE: '250', INGEST_LINGER_MS: '5' },
    );
    expect(options.scenarios).toEqual(['cluster', 'single']);
    expect([options.latencyMs, options.cluster.latencyMs]).toEqual([7, 7]);
    expect([options.bulkTriggers, options.cluster.triggers]).toEqual([5_000, 5_000]);
    expect([options.pacedRates, options.single.rates]).toEqual([
      [500, 2_000],
      [500, 2_000],
    ]);
    expect([options.pacedDurationMs, options.single.durationMs]).toEqual([800, 800]);
    expect([options.chunkSize, options.cluster.chunkSize]).toEqual([250, 250]);
    expect(options.single.concurrencies).toEqual([2, 8]);
    expect(options.cluster.partitions).toEqual([3]);
    expect(options.ingestEnv).toEqual({ INGEST_LINGER_MS: '5' });
    // The flag wins over the environment.
    expect(parse(['--chunk-size=100'], { PRODUCER_CHUNK_SIZE: '250' }).cluster.chunkSize).toBe(100);
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

  it('takes the median of the rounds', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
  });

  it("sums an ingest phase's samples: rate, latencies, jobs and where the CPU went", () => {
    const sample = (ms: number[], failed: number, extra: Partial<Sample> = {}): Sample => ({
      results: [
        ...ms.map((m) => ({ ok: true, ms: m })),
        ...Array(failed).fill({ ok: false, ms: 1 }),
      ],
      elapsedMs: 1_000,
      cpuMs: 400,
      machineCpu: { busy: 1_500, steal: 20, ingest: 400, redis: 100, generator: 300 },
      jobs: 3,
      stored: ms.length,
      buckets: new Map([
        [0.005, 1],
        [0.025, 2],
        [Number.POSITIVE_INFINITY, 2],
      ]),
      ...extra,
    });
    const figures = phaseFigures([sample([1, 2, 3], 1), sample([4, 100], 0)]);
    expect(figures).toEqual({
      requests: 6,
      accepted: 5,
      failed: 1,
      perSecond: 3, // 5 accepted over 2 s, rounded
      // Failed requests' latencies count too: [1, 1, 2, 3, 4, 100].
      p50Ms: 2,
      p99Ms: 100,
      maxMs: 100,
      jobs: 6,
      stored: 5,
      ingestCpuPercent: 40,
      // % of one core over the 2 s: busy 3,000 ms → 150; the rest is busy − the three.
      cpu: { busy: 150, ingest: 40, redis: 10, generator: 30, rest: 70, steal: 2 },
      // Ingest's histogram, summed: 2 of 4 within 5 ms, all 4 within 25 ms.
      server: { p50AtMostMs: 5, p99AtMostMs: 25, within25msPercent: 100 },
    });
    // One unreadable probe: no machine shares rather than wrong ones.
    expect(phaseFigures([sample([1], 0, { machineCpu: null, cpuMs: null })]).cpu).toBeNull();
  });

  it("reads ingest's request-duration histogram for the triggers route only", () => {
    const metrics = [
      '# TYPE flow_dispatcher_ingest_request_duration_seconds histogram',
      'flow_dispatcher_ingest_request_duration_seconds_bucket{le="0.025",route="triggers"} 7',
      'flow_dispatcher_ingest_request_duration_seconds_bucket{le="+Inf",route="triggers"} 9',
      'flow_dispatcher_ingest_request_duration_seconds_bucket{le="0.025",route="status"} 50',
    ].join('\n');
    expect(parseDurationBuckets(metrics)).toEqual(
      new Map([
        [0.025, 7],
        [Number.POSITIVE_INFINITY, 9],
      ]),
    );
  });

  it("turns the cluster masters' CPU before and after a phase into per-node figures", () => {
    const figures = clusterPhaseFigures(
      { 'a:1': 1_000, 'b:2': 500 },
      { 'a:1': 1_030, 'b:2': 510 },
      20_000,
      400,
    );
    expect(figures).toEqual({
      triggers: 20_000,
      elapsedMs: 400,
      perSecond: 50_000,
      redisCpuMs: { 'a:1': 30, 'b:2': 10 },
      redisCpuMsPer1000: { 'a:1': 1.5, 'b:2': 0.5 },
      redisCpuMsPer1000Total: 2,
      workerCpuPercent: null,
    });
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
