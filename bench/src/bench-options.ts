import { parseArgs } from 'node:util';
import type { SystemId } from './systems/system-driver.js';

export type ScenarioGroup = 'drain' | 'paced' | 'bound' | 'single';

/** Everything a bench run can be told. Durations end in `Ms`. */
export interface BenchOptions {
  /** Part of the result file names: `<timestamp>-<name>.json`. */
  name: string;
  mode: 'full' | 'quick';
  /** Fixed latency of every simulated invoke call. @defaultValue 50 */
  latencyMs: number;
  /** Consumer processes of every queued system (ours: `flow-dispatcher worker` processes). */
  workers: number;
  /** Backlog drained by ours and B0. @defaultValue 1,000,000 (quick: 100,000) */
  bulkTriggers: number;
  /** Backlog drained by B1 and B2, which make one call per trigger. */
  perCallTriggers: number;
  /** Triggers sent through each system before it is measured. */
  warmupTriggers: number;
  /** Fixed rates of the paced scenario, triggers/s. */
  pacedRates: number[];
  pacedDurationMs: number;
  /** A paced run first runs this long at its rate, unmeasured (its warm-up). */
  pacedWarmupMs: number;
  systems: SystemId[];
  scenarios: ScenarioGroup[];
  /** B1's calls in flight in a burst, or `tune`: the best of `tuneCandidates` on a short run. */
  b1Concurrency: number | 'tune';
  /** B2's BullMQ Worker concurrency per process, or `tune`. */
  b2Concurrency: number | 'tune';
  tuneCandidates: number[];
  tuneTriggers: number;
  /** Ours: triggers per chunk job of `triggerMany` (PRODUCER_CHUNK_SIZE). */
  chunkSize: number;
  /** Ours: chunk writes in flight in `triggerMany`. */
  producerLanes: number;
  /** Ours' linger (DISPATCH_LINGER_MS), also B0's. */
  lingerMs: number;
  /** Inputs per call (SF_MAX_INPUTS_PER_CALL), ours and B0. */
  maxInputs: number;
  /** Calls in flight (SF_MAX_CONCURRENCY): ours' setting; B0 gets the same across its consumers. */
  sfConcurrency: number;
  /** Worker environment passed through from the bench's own (DISPATCH_*, SF_*, WORKER_*). */
  workerEnv: Record<string, string>;
  bound: {
    /** SF_MAX_CONCURRENCY of the bound-concurrency run; the simulator refuses calls above it. */
    concurrency: number;
    /** Simulator daily allocation and SF_DAILY_API_SHARE of the bound-daily run. */
    dailyLimit: number;
    dailyShare: number;
    durationMs: number;
  };
  /** Stop waiting for a run when nothing settled for this long. */
  stallMs: number;
  /** Profile ours' workers with `node --cpu-prof` and summarise the profiles. */
  cpuProfile: boolean;
  /** Where results are written. */
  outDir: string;
}

/** Worker variables the bench passes through from its own environment when they are set. */
export const WORKER_ENV_PASSTHROUGH = [
  'DISPATCH_LINGER_MS',
  'SF_MAX_INPUTS_PER_CALL',
  'SF_MAX_CONCURRENCY',
  'SF_DAILY_API_SHARE',
  'WORKER_MAX_BUFFERED_TRIGGERS',
  'WORKER_LOCK_DURATION_MS',
  'WORKER_STALLED_INTERVAL_MS',
  'LOG_LEVEL',
] as const;

const ALL_SYSTEMS: SystemId[] = ['B0', 'B1', 'B2', 'ours', 'ours-ingest'];
const ALL_SCENARIOS: ScenarioGroup[] = ['drain', 'paced', 'bound', 'single'];

/** The full run (the figures) and the quick one (under 2 minutes). */
export const benchPresets = {
  full: {
    bulkTriggers: 1_000_000,
    perCallTriggers: 30_000,
    warmupTriggers: 2_000,
    pacedRates: [1_000, 5_000],
    pacedDurationMs: 15_000,
    pacedWarmupMs: 2_000,
    b1Concurrency: 'tune',
    b2Concurrency: 'tune',
    tuneTriggers: 4_000,
    boundDurationMs: 20_000,
  },
  quick: {
    bulkTriggers: 100_000,
    perCallTriggers: 5_000,
    warmupTriggers: 1_000,
    pacedRates: [1_000],
    pacedDurationMs: 3_000,
    pacedWarmupMs: 1_000,
    // What the full run's tuning found on the 2-core machine (see README).
    b1Concurrency: 400,
    b2Concurrency: 400,
    tuneTriggers: 2_000,
    boundDurationMs: 5_000,
  },
} as const satisfies Record<string, Record<string, unknown>>;

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
  readonly code = 'USAGE';
}

export const benchUsage = `Usage: pnpm bench [--quick] [options]

Runs ours and the baselines B0, B1, B2 on a private redis-server and one simulator, prints a table,
writes bench/results/<timestamp>-<name>.json and .svg. See bench/README.md.

  --quick                 a run under 2 minutes (100,000-trigger backlogs, one paced rate)
  --name NAME             result file name suffix (default: full or quick)
  --latency-ms MS         simulated Salesforce latency (default 50)
  --workers N             consumer/worker processes per queued system (default 2)
  --triggers N            backlog drained by ours and B0
  --per-call-triggers N   backlog drained by B1 and B2
  --rates R1,R2           paced rates, triggers/s
  --paced-ms MS           duration of each paced run
  --systems LIST          any of B0,B1,B2,ours,ours-ingest (default all)
  --scenarios LIST        any of drain,paced,bound,single (default all)
  --b1-concurrency N|tune B1 calls in flight in a burst
  --b2-concurrency N|tune B2 worker concurrency per process
  --cpu-prof              profile ours' workers (node --cpu-prof) and summarise
  --out DIR               result directory (default bench/results)
  --help
`;

function wholeNumber(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw.replace(/_/g, ''));
  if (!/^\d[\d_]*$/.test(raw) || value < min) {
    throw new BenchUsageError(
      `${flag} must be a whole number ≥ ${min}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function list<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[]) {
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim()) as T[];
  for (const item of items) {
    if (!allowed.includes(item)) {
      throw new BenchUsageError(`${flag}: ${item} is not one of ${allowed.join(', ')}`);
    }
  }
  return items;
}

function concurrency(flag: string, raw: string | undefined): number | 'tune' | undefined {
  if (raw === 'tune') return 'tune';
  return wholeNumber(flag, raw, 1);
}

/** Parses the command line and the environment into options (pure but for its inputs). */
export function parseBenchArgs(
  argv: string[],
  env: Record<string, string | undefined>,
  defaultOutDir: string,
): BenchOptions | 'help' {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const mode = values.quick ? 'quick' : 'full';
  const preset = benchPresets[mode];
  const workerEnv: Record<string, string> = {};
  for (const name of WORKER_ENV_PASSTHROUGH) {
    const value = env[name];
    if (value !== undefined && value !== '') workerEnv[name] = value;
  }
  const envNumber = (name: string, fallback: number) =>
    wholeNumber(name, env[name] === '' ? undefined : env[name], 1) ?? fallback;
  const rates = values.rates?.split(',').map((r) => wholeNumber('--rates', r.trim(), 1) ?? 0);
  return {
    name: values.name ?? mode,
    mode,
    latencyMs: wholeNumber('--latency-ms', values['latency-ms'], 0) ?? 50,
    workers: wholeNumber('--workers', values.workers, 1) ?? 2,
    bulkTriggers: wholeNumber('--triggers', values.triggers, 1) ?? preset.bulkTriggers,
    perCallTriggers:
      wholeNumber('--per-call-triggers', values['per-call-triggers'], 1) ?? preset.perCallTriggers,
    warmupTriggers: preset.warmupTriggers,
    pacedRates: rates ?? [...preset.pacedRates],
    pacedDurationMs: wholeNumber('--paced-ms', values['paced-ms'], 100) ?? preset.pacedDurationMs,
    pacedWarmupMs: preset.pacedWarmupMs,
    systems: list('--systems', values.systems, ALL_SYSTEMS) ?? ALL_SYSTEMS,
    scenarios: list('--scenarios', values.scenarios, ALL_SCENARIOS) ?? ALL_SCENARIOS,
    b1Concurrency:
      concurrency('--b1-concurrency', values['b1-concurrency']) ?? preset.b1Concurrency,
    b2Concurrency:
      concurrency('--b2-concurrency', values['b2-concurrency']) ?? preset.b2Concurrency,
    tuneCandidates: [25, 50, 100, 200, 400, 800],
    tuneTriggers: preset.tuneTriggers,
    chunkSize: envNumber('PRODUCER_CHUNK_SIZE', 1_000),
    producerLanes: 4,
    lingerMs: wholeNumber('DISPATCH_LINGER_MS', env.DISPATCH_LINGER_MS || undefined, 0) ?? 200,
    maxInputs: envNumber('SF_MAX_INPUTS_PER_CALL', 200),
    sfConcurrency: envNumber('SF_MAX_CONCURRENCY', 25),
    workerEnv,
    bound: {
      concurrency: 4,
      dailyLimit: 2_000,
      dailyShare: 0.05,
      durationMs: preset.boundDurationMs,
    },
    stallMs: 20_000,
    cpuProfile: values['cpu-prof'] === true,
    outDir: values.out ?? defaultOutDir,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      name: { type: 'string' },
      'latency-ms': { type: 'string' },
      workers: { type: 'string' },
      triggers: { type: 'string' },
      'per-call-triggers': { type: 'string' },
      rates: { type: 'string' },
      'paced-ms': { type: 'string' },
      systems: { type: 'string' },
      scenarios: { type: 'string' },
      'b1-concurrency': { type: 'string' },
      'b2-concurrency': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
