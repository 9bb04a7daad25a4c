/**
 * The arithmetic of `flow-dispatcher stats` over the fleet's stats buckets (pure).
 *
 * Workers add their counts to a HASH per 10-second bucket every `defaults.statsFlushMs` (see the
 * worker's fleet-stats.ts). A bucket is complete once it has ended and every worker has flushed
 * into it, which `settleMs` (`defaults.statsSettleMs`: two flushes) stands for. Rates are taken
 * over complete buckets only, so a bucket still filling never makes the fleet look slower than it
 * is.
 */

export interface StatsWindow {
  /** Epoch seconds: start of the first bucket, end of the last (exclusive). */
  fromSec: number;
  toSec: number;
  /** Bucket start times (epoch seconds), oldest first. */
  buckets: number[];
}

export function statsWindow(
  nowMs: number,
  windowSeconds: number,
  bucketSeconds: number,
  settleMs: number,
): StatsWindow {
  const toSec = Math.floor((nowMs - settleMs) / 1_000 / bucketSeconds) * bucketSeconds;
  const count = Math.max(1, Math.round(windowSeconds / bucketSeconds));
  const buckets = Array.from({ length: count }, (_, i) => toSec - (count - i) * bucketSeconds);
  return { fromSec: toSec - count * bucketSeconds, toSec, buckets };
}

export interface ActivityTotals {
  succeeded: number;
  retried: number;
  dead: number;
  calls: number;
  inputs: number;
  /** Calls by HTTP status (or `reset`, `timeout`, ... when no status came back). */
  statuses: Record<string, number>;
}

/** Sums bucket hashes (HGETALL answers; missing buckets are empty objects). */
export function sumBuckets(hashes: readonly Record<string, string>[]): ActivityTotals {
  const totals: ActivityTotals = {
    succeeded: 0,
    retried: 0,
    dead: 0,
    calls: 0,
    inputs: 0,
    statuses: {},
  };
  for (const hash of hashes) {
    for (const [field, raw] of Object.entries(hash)) {
      const n = Number(raw);
      if (!Number.isFinite(n)) continue;
      if (field.startsWith('status:')) {
        const status = field.slice('status:'.length);
        totals.statuses[status] = (totals.statuses[status] ?? 0) + n;
      } else if (
        field === 'succeeded' ||
        field === 'retried' ||
        field === 'dead' ||
        field === 'calls' ||
        field === 'inputs'
      ) {
        totals[field] += n;
      }
    }
  }
  return totals;
}
