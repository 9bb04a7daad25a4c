import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchOptions } from './bench-options.js';
import type { Log } from './measured-run.js';
import { PrivateRedis } from './private-redis.js';
import type { SimulatorProcess } from './simulator-process.js';

/**
 * Scenario (b), single triggers over HTTP ingest, is measured by `runIngestBench(options)` of
 * bench/ingest (written with the ingest service). This hook finds it, calls it with a private
 * Redis and the bench's simulator, and keeps what it returns. Until it exists the scenario is
 * reported as pending, and nothing else depends on it.
 */
export type SingleTriggerResult =
  | { status: 'ok'; module: string; result: unknown }
  | { status: 'pending'; reason: string }
  | { status: 'failed'; module: string; error: string }
  | { status: 'skipped'; reason: string };

/** What the hook hands to `runIngestBench`. */
export interface IngestBenchHookOptions {
  quick: boolean;
  /** A private, empty redis-server for the ingest runs. */
  redisUrl: string;
  /** The bench's simulator (fixed latency), for runs that also drain through a worker. */
  simulatorUrl: string;
  latencyMs: number;
  /** Fixed request rates, requests/s (each request carries one trigger). */
  rates: number[];
  workers: number;
  log: Log;
}

/** One phase of the ingest bench (see bench/ingest/README.md). */
export interface IngestPhaseFigures {
  requests: number;
  accepted: number;
  failed: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  jobs: number;
  ingestCpuPercent: number | null;
}

/** The part of `runIngestBench`'s answer the harness reads (the rest is kept as is). */
export interface IngestReport {
  modes: Record<
    string,
    { throughput: IngestPhaseFigures; paced: (IngestPhaseFigures & { rate: number })[] }
  >;
  speedup: number;
  targets: Record<string, boolean | null>;
}

/** The ingest report when it has the expected shape, else undefined (pure). */
export function asIngestReport(result: unknown): IngestReport | undefined {
  const value = result as Partial<IngestReport> | null;
  if (!value || typeof value !== 'object') return undefined;
  if (typeof value.speedup !== 'number' || typeof value.modes !== 'object' || !value.modes) {
    return undefined;
  }
  return value as IngestReport;
}

/** Request rates for the ingest bench: the issue's 1,000/s and 5,000/s, and issue 3's 2,000/s. */
export function ingestRates(quick: boolean): number[] {
  return quick ? [2_000] : [1_000, 2_000, 5_000];
}

/** Where the ingest bench may be, compiled or plain JS (BENCH_INGEST_MODULE overrides). */
const CANDIDATES = [
  '../ingest/dist/index.js',
  '../ingest/dist/run-ingest-bench.js',
  '../ingest/index.js',
  '../ingest/run-ingest-bench.js',
  './ingest/index.js',
  './ingest/run-ingest-bench.js',
];

export function findIngestBench(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.BENCH_INGEST_MODULE) return env.BENCH_INGEST_MODULE;
  for (const candidate of CANDIDATES) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  return undefined;
}

export async function runIngestScenario(
  options: BenchOptions,
  deps: { sim: SimulatorProcess; workDir: string; log: Log },
): Promise<SingleTriggerResult> {
  const module = findIngestBench();
  if (!module) {
    const reason = 'bench/ingest (runIngestBench) is not there yet';
    deps.log(`single: pending: ${reason}`);
    return { status: 'pending', reason };
  }
  deps.log(`single: runIngestBench from ${module}`);
  const redis = await PrivateRedis.start();
  try {
    const loaded = (await import(pathToFileURL(module).href)) as {
      runIngestBench?: (options: IngestBenchHookOptions) => Promise<unknown>;
    };
    if (typeof loaded.runIngestBench !== 'function') {
      return { status: 'failed', module, error: 'the module has no runIngestBench export' };
    }
    const result = await loaded.runIngestBench({
      quick: options.mode === 'quick',
      redisUrl: redis.url,
      simulatorUrl: deps.sim.url,
      latencyMs: options.latencyMs,
      rates: ingestRates(options.mode === 'quick'),
      workers: options.workers,
      log: deps.log,
    });
    return { status: 'ok', module, result };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    deps.log(`single: FAILED: ${error}`);
    return { status: 'failed', module, error };
  } finally {
    await redis.stop();
  }
}
