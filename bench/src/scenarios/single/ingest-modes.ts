/**
 * The single scenario's measurement, run inside its load generator process: single-trigger
 * requests against `flow-dispatcher ingest` in two modes of the same binary, one ingest process
 * each, side by side (each under a fresh prefix), warmed up, then taking turns so that a slow
 * spell of the shared machine falls on both modes rather than on one:
 *
 *   1. saturation: `rounds` rounds; in each, for each client count, each mode in turn (the first
 *      alternating between rounds) gets that many closed-loop clients for `throughputDurationMs`:
 *      triggers accepted/s. A mode's throughput is its best over the client counts: with a
 *      linger, group commit's answer time sets how many requests a few clients can send (Little's
 *      law), so only enough clients find what the server can take, while one job per trigger is
 *      saturated by a few. The speed-up is the median of the rounds' ratios of the two bests, so
 *      a slow spell moves one round rather than the figure;
 *   2. latency at fixed rates (open loop), each mode in turn per rate, for `durationMs`; each
 *      latency counts from the moment its request was due, so falling behind shows.
 *
 * No worker drains Redis meanwhile: the figures are the ingest write path alone.
 */
import { join } from 'node:path';
import { createRedis, RedisKeys } from '@flow-dispatcher/shared';
import type { Redis } from 'ioredis';
import { startIngestCli, stopCli } from '../../cli-process.js';
import { median, roundTo } from '../../latency-summary.js';
import { unlinkPrefix } from '../../redis-prefix-cleanup.js';
import { BENCH_INGEST_TOKEN } from '../../workload.js';
import {
  describeIngestPhase,
  type PhaseFigures,
  phaseFigures,
  type Sample,
} from './ingest-figures.js';
import { type IngestUnderLoad, sampleIngestPhase } from './ingest-phase.js';
import {
  closedLoop,
  ingestRequests,
  openLoop,
  type SendRequest,
  SINGLE_FLOW,
} from './ingest-requests.js';
import type { SingleSettings } from './single-settings.js';

export const INGEST_MODES = ['one-job-per-trigger', 'group-commit'] as const;
export type IngestMode = (typeof INGEST_MODES)[number];

export interface ModeFigures {
  /** The saturation phases at the mode's best client count. */
  throughput: PhaseFigures & { concurrency: number };
  byConcurrency: (PhaseFigures & { concurrency: number })[];
  paced: (PhaseFigures & { rate: number })[];
}

/** What the single scenario measured (kept whole in the bench's JSON, `single.result`). */
export interface SingleReport {
  settings: SingleSettings;
  modes: Record<IngestMode, ModeFigures>;
  /** Median over the rounds of group commit's best / one job per trigger's best. */
  speedup: number;
  /** Each round's ratio of the bests. */
  roundRatios: number[];
  /** The median ratio at each client count. */
  ratioByConcurrency: Record<number, number>;
  /** All rounds of each mode's best client count taken together. */
  overallRatio: number;
}

export interface IngestModesContext {
  redisUrl: string;
  /** The Redis was lent: remove what each mode wrote at the end. */
  shared: boolean;
  /** Ingest settings beyond the scenario's own (INGEST_LINGER_MS from the bench's environment). */
  env: Record<string, string>;
  /** NODE_OPTIONS of the ingest processes: the image's default (deploy/docker/Dockerfile). */
  nodeOptions: string;
  /** Where the ingest processes' logs go. */
  dir: string;
  /** Cores of the machine, for the progress lines. */
  cpus: number;
  log: (line: string) => void;
}

interface RunningMode extends IngestUnderLoad {
  send: SendRequest;
  stop: () => Promise<void>;
}

export async function measureIngestModes(
  settings: SingleSettings,
  ctx: IngestModesContext,
): Promise<SingleReport> {
  const redis = createRedis(ctx.redisUrl, { connectionName: 'bench-single' });
  const running = new Map<IngestMode, RunningMode>();
  const prefixes: string[] = [];
  const stamp = Date.now().toString(36);
  try {
    for (const mode of INGEST_MODES) {
      // A fresh prefix per mode and run: nothing is flushed, so a lent Redis is safe to use.
      const prefix = `bench-${mode === 'group-commit' ? 'gc' : 'per'}-${stamp}`;
      prefixes.push(prefix);
      const started = await startMode(mode, prefix, redis, settings, ctx);
      running.set(mode, started);
      ctx.log(`single: ${mode}: ingest pid ${started.pid} on ${started.url}`);
    }
    const get = (mode: IngestMode) => running.get(mode) as RunningMode;
    for (const mode of INGEST_MODES)
      await closedLoop(get(mode).send, settings.concurrencies[0] ?? 64, settings.warmupMs);

    const samples = new Map<string, Sample[]>();
    const key = (mode: IngestMode, clients: number) => `${mode}@${clients}`;
    const ratiosAt: Record<number, number[]> = {};
    const roundRatios: number[] = [];
    for (let r = 0; r < settings.rounds; r++) {
      // Alternate which mode goes first, so neither always follows the other.
      const order = r % 2 === 0 ? INGEST_MODES : [...INGEST_MODES].reverse();
      const best: Partial<Record<IngestMode, number>> = {};
      for (const clients of settings.concurrencies) {
        const perSecond: Partial<Record<IngestMode, number>> = {};
        for (const mode of order) {
          const ingest = get(mode);
          const one = await sampleIngestPhase(ingest, redis, () =>
            closedLoop(ingest.send, clients, settings.throughputDurationMs),
          );
          samples.set(key(mode, clients), [...(samples.get(key(mode, clients)) ?? []), one]);
          const figures = phaseFigures([one]);
          perSecond[mode] = figures.perSecond;
          best[mode] = Math.max(best[mode] ?? 0, figures.perSecond);
          ctx.log(
            `single: ${mode}: throughput round ${r + 1}, ${clients} clients: ${describeIngestPhase(figures, ctx.cpus)}`,
          );
        }
        ratiosAt[clients] = [...(ratiosAt[clients] ?? []), groupCommitRatio(perSecond)];
      }
      roundRatios.push(groupCommitRatio(best));
    }
    const modes = {} as Record<IngestMode, ModeFigures>;
    for (const mode of INGEST_MODES) {
      const byConcurrency = settings.concurrencies.map((clients) => ({
        concurrency: clients,
        ...phaseFigures(samples.get(key(mode, clients)) ?? []),
      }));
      const throughput = byConcurrency.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
      modes[mode] = { throughput, byConcurrency, paced: [] };
    }
    for (const rate of settings.rates) {
      for (const mode of INGEST_MODES) {
        const ingest = get(mode);
        const paced = phaseFigures([
          await sampleIngestPhase(ingest, redis, () =>
            openLoop(ingest.send, rate, settings.durationMs),
          ),
        ]);
        modes[mode].paced.push({ rate, ...paced });
        ctx.log(`single: ${mode}: at ${rate} req/s ${describeIngestPhase(paced, ctx.cpus)}`);
      }
    }
    return {
      settings,
      modes,
      // The median of the rounds' ratios: one slow spell moves one round, not the figure.
      speedup: roundTo(median(roundRatios), 2),
      roundRatios: roundRatios.map((r) => roundTo(r, 2)),
      ratioByConcurrency: Object.fromEntries(
        settings.concurrencies.map((c) => [c, roundTo(median(ratiosAt[c] ?? []), 2)]),
      ),
      overallRatio: roundTo(
        groupCommitRatio({
          'group-commit': modes['group-commit'].throughput.perSecond,
          'one-job-per-trigger': modes['one-job-per-trigger'].throughput.perSecond,
        }),
        2,
      ),
    };
  } finally {
    for (const mode of running.values()) await mode.stop();
    if (ctx.shared) for (const prefix of prefixes) await unlinkPrefix(redis, prefix);
    redis.disconnect();
  }
}

/** Group commit's accepted triggers per second over one job per trigger's (pure). */
export function groupCommitRatio(perSecond: Partial<Record<IngestMode, number>>): number {
  return (perSecond['group-commit'] ?? 0) / Math.max(1, perSecond['one-job-per-trigger'] ?? 0);
}

async function startMode(
  mode: IngestMode,
  prefix: string,
  redis: Redis,
  settings: SingleSettings,
  ctx: IngestModesContext,
): Promise<RunningMode> {
  const keys = new RedisKeys(prefix);
  const ingest = await startIngestCli(
    {
      PATH: process.env.PATH,
      NODE_OPTIONS: ctx.nodeOptions,
      REDIS_URL: ctx.redisUrl,
      QUEUE_PREFIX: prefix,
      INGEST_TOKENS: BENCH_INGEST_TOKEN,
      INGEST_MAX_BACKLOG: '1000000000',
      LOG_LEVEL: 'info',
      ...ctx.env,
      INGEST_GROUP_COMMIT: mode === 'group-commit' ? 'on' : 'off',
    },
    join(ctx.dir, `single-${mode}-ingest.log`),
  );
  // A connection per client, so that no client waits for another's connection.
  const requests = ingestRequests(ingest.url, Math.max(...settings.concurrencies));
  return {
    pid: ingest.child.pid ?? -1,
    url: ingest.url,
    // Chunk jobs carry a BullMQ priority (README, "Priorities"): they wait in `prioritized`;
    // `wait` holds any written without one.
    jobs: async () => {
      const queue = `${keys.bullPrefix}:${SINGLE_FLOW}`;
      const [waiting, prioritized] = await Promise.all([
        redis.llen(`${queue}:wait`),
        redis.zcard(`${queue}:prioritized`),
      ]);
      return waiting + prioritized;
    },
    stored: async () => Number((await redis.hget(keys.pending, SINGLE_FLOW)) ?? 0),
    send: requests.send,
    async stop() {
      await requests.close();
      await stopCli(ingest.child);
    },
  };
}
