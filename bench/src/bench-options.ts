import { parseArgs } from 'node:util';
import { parseRedisUrl } from '@flow-dispatcher/shared';
import type { ClusterSettings } from './scenarios/cluster/cluster-settings.js';
import type { SingleSettings } from './scenarios/single/single-settings.js';
import type { SystemId } from './systems/system-driver.js';

export type ScenarioGroup = 'drain' | 'paced' | 'bound' | 'single' | 'cluster';

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
  /** Ingest environment passed through from the bench's own (INGEST_LINGER_MS). */
  ingestEnv: Record<string, string>;
  bound: {
    /** SF_MAX_CONCURRENCY of the bound-concurrency run; the simulator refuses calls above it. */
    concurrency: number;
    /** Simulator daily allocation and SF_DAILY_API_SHARE of the bound-daily run. */
    dailyLimit: number;
    dailyShare: number;
    durationMs: number;
  };
  /** Single triggers over HTTP ingest, group commit against one job per trigger. */
  single: SingleSettings;
  /** One queue partition against several, on a Redis Cluster. */
  cluster: ClusterSettings;
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

/** Ingest variables passed through to every ingest process of the bench when they are set. */
export const INGEST_ENV_PASSTHROUGH = ['INGEST_LINGER_MS'] as const;

const ALL_SYSTEMS: SystemId[] = ['B0', 'B1', 'B2', 'ours', 'ours-ingest'];
const ALL_SCENARIOS: ScenarioGroup[] = ['drain', 'paced', 'bound', 'single', 'cluster'];
/** `cluster` needs a Redis Cluster (redis-cli to make one) and sizes docs/scaling.md: asked for. */
const DEFAULT_SCENARIOS: ScenarioGroup[] = ['drain', 'paced', 'bound', 'single'];

/** The full run (the figures) and the quick one (under 2 minutes): every default. */
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
    // The issue's 1,000/s and 5,000/s, and issue 3's 2,000/s.
    singleRates: [1_000, 2_000, 5_000],
    singleDurationMs: 10_000,
    singleThroughputDurationMs: 4_000,
    singleRounds: 3,
    singleWarmupMs: 2_000,
    clusterTriggers: 100_000,
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
    singleRates: [2_000],
    singleDurationMs: 3_000,
    singleThroughputDurationMs: 3_000,
    singleRounds: 1,
    singleWarmupMs: 1_000,
    clusterTriggers: 20_000,
  },
} as const satisfies Record<string, Record<string, unknown>>;

/** Defaults that do not depend on --quick. */
const FIXED_DEFAULTS = {
  latencyMs: 50,
  /** Calls to the cluster scenario's simulator are shorter: its figures are Redis's. */
  clusterLatencyMs: 20,
  workers: 2,
  chunkSize: 1_000,
  singleClients: [64, 128, 256],
  clusterPartitions: [1, 3],
} as const;

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
  readonly code = 'USAGE';
}

export const benchUsage = `Usage: pnpm bench [--quick] [options]

Runs ours and the baselines B0, B1, B2 on a private redis-server and one simulator, HTTP ingest's
two modes side by side, and (when asked) one queue partition against three on a Redis Cluster;
prints a table, writes bench/results/<timestamp>-<name>.json and .svg. See bench/README.md.
A LIST is comma-separated, or the flag given again.

  --quick                 a run under 2 minutes (smaller backlogs, one fixed rate, short phases)
  --name NAME             result file name suffix (default: full or quick)
  --scenarios LIST        any of drain,paced,bound,single,cluster (default drain,paced,bound,single)
  --systems LIST          any of B0,B1,B2,ours,ours-ingest (default all): drain, paced, bound
  --latency-ms MS         simulated Salesforce latency (default 50; cluster: 20)
  --workers N             consumer/worker processes per queued system (default 2)
  --triggers N            backlog of a drain: ours and B0 (default 1,000,000; quick 100,000),
                          cluster: per setting (default 100,000; quick 20,000)
  --per-call-triggers N   backlog drained by B1 and B2
  --chunk-size N          triggers per chunk job of the producer (default PRODUCER_CHUNK_SIZE or 1,000)
  --rates LIST            fixed rates, per second: paced runs (default 1000,5000; quick 1000),
                          single's fixed-rate phases (default 1000,2000,5000; quick 2000)
  --paced-ms MS           length of each fixed-rate run: paced (default 15,000), single (10,000);
                          quick 3,000
  --b1-concurrency N|tune B1 calls in flight in a burst
  --b2-concurrency N|tune B2 worker concurrency per process
  --cpu-prof              profile ours' workers (node --cpu-prof) and summarise
  --out DIR               result directory (default bench/results)

single (HTTP ingest: group commit against one job per trigger, the write path alone):
  --clients LIST          closed-loop clients of the saturation phases (default 64,128,256)
  --saturation-ms MS      length of each saturation phase (default 4,000; quick 3,000)
  --rounds N              saturation rounds, the modes taking turns (default 3; quick 1)
  --redis-url URL         a Redis to use under fresh prefixes, removed after (default: a private one)

cluster (one queue partition against several, on a Redis Cluster):
  --partitions LIST       QUEUE_PARTITIONS settings to compare (default 1,3)
  --cluster-url URL       a Redis Cluster to use under fresh prefixes, removed after
                          (default: a private 3-master cluster; needs redis-cli)

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

/** The items of a LIST flag: comma-separated, or the flag given again. */
function items(raw: string[] | undefined): string[] | undefined {
  return raw?.flatMap((value) => value.split(',')).map((item) => item.trim());
}

function list<T extends string>(flag: string, raw: string[] | undefined, allowed: readonly T[]) {
  const given = items(raw) as T[] | undefined;
  for (const item of given ?? []) {
    if (!allowed.includes(item)) {
      throw new BenchUsageError(`${flag}: ${item} is not one of ${allowed.join(', ')}`);
    }
  }
  return given;
}

/** A LIST of whole numbers ≥ `min`, ascending, each once. */
function numbers(flag: string, raw: string[] | undefined, min: number): number[] | undefined {
  const given = items(raw)?.map((item) => wholeNumber(flag, item, min) as number);
  return given && [...new Set(given)].sort((a, b) => a - b);
}

function concurrency(flag: string, raw: string | undefined): number | 'tune' | undefined {
  if (raw === 'tune') return 'tune';
  return wholeNumber(flag, raw, 1);
}

function redisUrl(flag: string, raw: string | undefined, cluster: boolean): string | undefined {
  if (raw === undefined) return undefined;
  let kind: string;
  try {
    kind = parseRedisUrl(raw).kind;
  } catch (err) {
    throw new BenchUsageError(`${flag}: ${(err as Error).message}`);
  }
  if ((kind === 'cluster') !== cluster) {
    throw new BenchUsageError(
      `${flag} wants ${cluster ? 'a Redis Cluster (host:port,host:port,…)' : 'one Redis server'}`,
    );
  }
  return raw;
}

function passthrough(
  names: readonly string[],
  env: Record<string, string | undefined>,
): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') picked[name] = value;
  }
  return picked;
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
  const envNumber = (name: string, fallback: number) =>
    wholeNumber(name, env[name] === '' ? undefined : env[name], 1) ?? fallback;
  const latencyMs = wholeNumber('--latency-ms', values['latency-ms'], 0);
  const triggers = wholeNumber('--triggers', values.triggers, 1);
  const rates = numbers('--rates', values.rates, 1);
  const pacedMs = wholeNumber('--paced-ms', values['paced-ms'], 100);
  const chunkSize =
    wholeNumber('--chunk-size', values['chunk-size'], 1) ??
    envNumber('PRODUCER_CHUNK_SIZE', FIXED_DEFAULTS.chunkSize);
  return {
    name: values.name ?? mode,
    mode,
    latencyMs: latencyMs ?? FIXED_DEFAULTS.latencyMs,
    workers: wholeNumber('--workers', values.workers, 1) ?? FIXED_DEFAULTS.workers,
    bulkTriggers: triggers ?? preset.bulkTriggers,
    perCallTriggers:
      wholeNumber('--per-call-triggers', values['per-call-triggers'], 1) ?? preset.perCallTriggers,
    warmupTriggers: preset.warmupTriggers,
    pacedRates: rates ?? [...preset.pacedRates],
    pacedDurationMs: pacedMs ?? preset.pacedDurationMs,
    pacedWarmupMs: preset.pacedWarmupMs,
    systems: list('--systems', values.systems, ALL_SYSTEMS) ?? ALL_SYSTEMS,
    scenarios: list('--scenarios', values.scenarios, ALL_SCENARIOS) ?? DEFAULT_SCENARIOS,
    b1Concurrency:
      concurrency('--b1-concurrency', values['b1-concurrency']) ?? preset.b1Concurrency,
    b2Concurrency:
      concurrency('--b2-concurrency', values['b2-concurrency']) ?? preset.b2Concurrency,
    tuneCandidates: [25, 50, 100, 200, 400, 800],
    tuneTriggers: preset.tuneTriggers,
    chunkSize,
    producerLanes: 4,
    lingerMs: wholeNumber('DISPATCH_LINGER_MS', env.DISPATCH_LINGER_MS || undefined, 0) ?? 200,
    maxInputs: envNumber('SF_MAX_INPUTS_PER_CALL', 200),
    sfConcurrency: envNumber('SF_MAX_CONCURRENCY', 25),
    workerEnv: passthrough(WORKER_ENV_PASSTHROUGH, env),
    ingestEnv: passthrough(INGEST_ENV_PASSTHROUGH, env),
    bound: {
      concurrency: 4,
      dailyLimit: 2_000,
      dailyShare: 0.05,
      durationMs: preset.boundDurationMs,
    },
    single: {
      rates: rates ?? [...preset.singleRates],
      durationMs: pacedMs ?? preset.singleDurationMs,
      throughputDurationMs:
        wholeNumber('--saturation-ms', values['saturation-ms'], 100) ??
        preset.singleThroughputDurationMs,
      rounds: wholeNumber('--rounds', values.rounds, 1) ?? preset.singleRounds,
      warmupMs: preset.singleWarmupMs,
      concurrencies: numbers('--clients', values.clients, 1) ?? [...FIXED_DEFAULTS.singleClients],
      redisUrl: redisUrl('--redis-url', values['redis-url'], false),
    },
    cluster: {
      triggers: triggers ?? preset.clusterTriggers,
      chunkSize,
      partitions: numbers('--partitions', values.partitions, 1) ?? [
        ...FIXED_DEFAULTS.clusterPartitions,
      ],
      latencyMs: latencyMs ?? FIXED_DEFAULTS.clusterLatencyMs,
      clusterUrl: redisUrl('--cluster-url', values['cluster-url'], true),
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
      scenarios: { type: 'string', multiple: true },
      systems: { type: 'string', multiple: true },
      'latency-ms': { type: 'string' },
      workers: { type: 'string' },
      triggers: { type: 'string' },
      'per-call-triggers': { type: 'string' },
      'chunk-size': { type: 'string' },
      rates: { type: 'string', multiple: true },
      'paced-ms': { type: 'string' },
      'b1-concurrency': { type: 'string' },
      'b2-concurrency': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      out: { type: 'string' },
      clients: { type: 'string', multiple: true },
      'saturation-ms': { type: 'string' },
      rounds: { type: 'string' },
      'redis-url': { type: 'string' },
      partitions: { type: 'string', multiple: true },
      'cluster-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
