import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './bench-options.js';
import type { Log } from './measured-run.js';
import { PrivateRedis } from './private-redis.js';
import type { SimulatorProcess } from './simulator-process.js';

/**
 * Scenario (b), single triggers over HTTP ingest, is measured by bench/ingest (written with the
 * ingest service). This hook finds it, runs it as a child process against a private Redis
 * (`--json`), and keeps the report it prints. Without the module the scenario is reported as
 * pending, and nothing else depends on it.
 */
export type SingleTriggerResult =
  | { status: 'ok'; module: string; result: unknown }
  | { status: 'pending'; reason: string }
  | { status: 'failed'; module: string; error: string }
  | { status: 'skipped'; reason: string };

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
    {
      /** At the mode's best client count (older reports: the one count they ran). */
      throughput: IngestPhaseFigures & { concurrency?: number };
      paced: (IngestPhaseFigures & { rate: number })[];
    }
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
  deps.log(`single: ${module} in a child process`);
  const redis = await PrivateRedis.start();
  try {
    const result = await runIngestChild(module, options, redis.url, deps.log);
    return { status: 'ok', module, result };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    deps.log(`single: FAILED: ${error}`);
    return { status: 'failed', module, error };
  } finally {
    await redis.stop();
  }
}

/**
 * The ingest bench's load generator runs in a process of its own, like every other load
 * generator here: in the harness's process its garbage collections (the harness holds the
 * latencies of every earlier run) would be charged to ingest's request latency.
 */
function runIngestChild(
  module: string,
  options: BenchOptions,
  redisUrl: string,
  log: Log,
): Promise<unknown> {
  const args = [module, '--json', '--redis-url', redisUrl];
  for (const rate of ingestRates(options.mode === 'quick')) args.push('--rate', String(rate));
  if (options.mode === 'quick') args.push('--quick');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrTail = `${stderrTail}\n${line}`.slice(-2_000);
      log(`  ${line}`);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${module} exited with ${code}: ${stderrTail.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`${module} printed no JSON report: ${stdout.slice(0, 200)}`));
      }
    });
  });
}
