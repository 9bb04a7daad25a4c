import type { FlowControl, FlowJobCounts, FlowStatus, HoldView } from '@flow-dispatcher/producer';
import type { RedisConnection, RedisKeys } from '@flow-dispatcher/shared';
import { defaults } from '@flow-dispatcher/shared/config';
import { type ActivityTotals, statsWindow, sumBuckets } from './stats-window.js';

/** The fleet-wide limits as workers last published them; null where nothing was published. */
export interface LimitsView {
  apiUsed: number | null;
  apiMax: number | null;
  /** Calls the fleet may spend of the org's rolling 24 h allocation (apiMax × SF_DAILY_API_SHARE). */
  budgetCalls: number | null;
  concurrencyLimit: number | null;
  inflight: number | null;
  /** Epoch ms until which calls are paused after a limit error. */
  pausedUntil: number | null;
  pauseCause: string | null;
}

/** What `flow-dispatcher stats --json` prints: one reading of the whole fleet. */
export interface StatsSnapshot {
  at: string;
  /** The complete stats buckets the rates and totals cover. */
  window: { from: string; to: string; seconds: number };
  backlog: {
    /** Triggers stored and not yet settled, over every flow. */
    triggers: number;
    /** Chunk jobs by BullMQ state, over every flow. */
    chunks: FlowJobCounts;
  };
  /** Per second over the window. */
  rates: {
    succeeded: number;
    retried: number;
    dead: number;
    calls: number;
    inputsPerCall: number | null;
  };
  /** Counts over the window. */
  totals: ActivityTotals;
  limits: LimitsView;
  pausedAll: boolean;
  pausedFlows: string[];
  /** Every flow is held (Salesforce refused the org), and why. */
  heldAll: HoldView | null;
  /** Held flows (calls stopped, triggers waiting), with why. */
  heldFlows: { flow: string; reason: string; code: string }[];
  /** Held flows' names (kept for scripts that read `stats --json`; see heldFlows). */
  openCircuits: string[];
  deadLetters: number;
  flows: FlowStatus[];
}

export interface SnapshotSources {
  redis: RedisConnection;
  keys: RedisKeys;
  control: FlowControl;
  bucketSeconds: number;
}

/** Reads everything `stats` shows: flow statuses, stats buckets, limits, dead-letter count. */
export async function readStatsSnapshot(
  { redis, keys, control, bucketSeconds }: SnapshotSources,
  windowSeconds: number,
  nowMs = Date.now(),
): Promise<StatsSnapshot> {
  const window = statsWindow(nowMs, windowSeconds, bucketSeconds, defaults.statsSettleMs);
  // Stats buckets and limits are fleet-wide (one slot: one pipeline, one node); dead letters are
  // counted in every queue partition.
  const pipeline = redis.pipeline();
  for (const bucket of window.buckets) pipeline.hgetall(keys.stats(bucket));
  pipeline.hgetall(keys.limits);
  const [status, results, deadLetterCounts] = await Promise.all([
    control.status(),
    pipeline.exec(),
    Promise.all(keys.allPartitions.map((partition) => redis.zcard(partition.deadLetters))),
  ]);
  if (!results) throw new Error('Redis pipeline aborted');
  const answers = results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
  const buckets = answers.slice(0, window.buckets.length) as Record<string, string>[];
  const limitsHash = (answers[window.buckets.length] ?? {}) as Record<string, string>;
  const deadLetters = deadLetterCounts.reduce((sum, n) => sum + n, 0);

  const totals = sumBuckets(buckets);
  const seconds = window.toSec - window.fromSec;
  const chunks: FlowJobCounts = { waiting: 0, active: 0, delayed: 0, prioritized: 0, failed: 0 };
  for (const flow of status.flows) {
    for (const state of Object.keys(chunks) as (keyof FlowJobCounts)[]) {
      chunks[state] += flow.jobs[state];
    }
  }
  return {
    at: new Date(nowMs).toISOString(),
    window: {
      from: new Date(window.fromSec * 1_000).toISOString(),
      to: new Date(window.toSec * 1_000).toISOString(),
      seconds,
    },
    backlog: { triggers: status.flows.reduce((sum, f) => sum + f.pending, 0), chunks },
    rates: {
      succeeded: totals.succeeded / seconds,
      retried: totals.retried / seconds,
      dead: totals.dead / seconds,
      calls: totals.calls / seconds,
      inputsPerCall: totals.calls > 0 ? totals.inputs / totals.calls : null,
    },
    totals,
    limits: limitsView(limitsHash),
    pausedAll: status.pausedAll,
    pausedFlows: status.flows.filter((f) => f.paused).map((f) => f.flow),
    heldAll: status.heldAll,
    heldFlows: status.flows.flatMap((f) =>
      f.held ? [{ flow: f.flow, reason: f.held.reason, code: f.held.code }] : [],
    ),
    openCircuits: status.flows.filter((f) => f.circuitOpen).map((f) => f.flow),
    deadLetters,
    flows: status.flows,
  };
}

/** The limits HASH, each field a number, or null when absent or not a number. */
export function limitsView(hash: Record<string, string>): LimitsView {
  const num = (field: string) => {
    const raw = hash[field];
    if (raw === undefined || raw.trim() === '') return null;
    const n = Number(raw);
    return Number.isFinite(n) ? n : null;
  };
  const cause = hash.pauseCause;
  return {
    apiUsed: num('apiUsed'),
    apiMax: num('apiMax'),
    budgetCalls: num('budgetCalls'),
    concurrencyLimit: num('concurrencyLimit'),
    inflight: num('inflight'),
    pausedUntil: num('pausedUntil'),
    pauseCause: cause === undefined || cause === '' ? null : cause,
  };
}
