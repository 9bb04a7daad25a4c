import { CLUSTER_SLOTS, crc16, keySlot } from './key-slot.js';

/**
 * Queue partitions: QUEUE_PARTITIONS sets of keys, each under its own hash tag, so that a Redis
 * Cluster can spread them over its masters. Everything written in one transaction (a chunk job,
 * its idempotency keys, the flow registry, the pending counter; a call's outcomes and dead letters)
 * lives in one partition; fleet-wide state (limits, token, circuits, stats, the fleet pause) stays
 * in partition 0.
 */

/** Most partitions: a worker keeps one BullMQ consumer (and blocking connection) per flow per partition. */
export const MAX_QUEUE_PARTITIONS = 128;

/** The slot range `[from, to)` that `redis-cli --cluster create` gives master `index` of `count`. */
export function slotRange(index: number, count: number): { from: number; to: number } {
  // redis-cli rounds each boundary (lround), so do we: 3 masters → 0-5460, 5461-10922, 10923-16383.
  return {
    from: Math.round((index * CLUSTER_SLOTS) / count),
    to: Math.round(((index + 1) * CLUSTER_SLOTS) / count),
  };
}

/**
 * The hash-tagged key root of each of `count` partitions (index = partition), e.g. `{fd}`,
 * `{fd.p1.0}`, `{fd.p2.4}`. Partition 0 is `{prefix}`, exactly the root of a deployment without
 * partitions. The slots 0..16383 are cut into `count` equal ranges, the way `redis-cli --cluster
 * create` lays out `count` masters; partition 0 takes the range its slot falls in and each other
 * partition, in order, takes one of the remaining ranges: its root is the first `{prefix.p<p>.<i>}`
 * (i = 0, 1, …) whose slot falls in the middle three quarters of that range (a margin for
 * clusters whose boundaries differ by a few slots). Deterministic: every process computes the
 * same roots. A different `count` gives different roots for partitions 1 and up, so change
 * QUEUE_PARTITIONS only with an empty backlog (see docs/scaling.md).
 * `.` cannot appear in a QUEUE_PREFIX, so no other prefix's partition 0 can collide with these.
 */
export function partitionRoots(prefix: string, count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_QUEUE_PARTITIONS) {
    throw new RangeError(`partition count must be 1 to ${MAX_QUEUE_PARTITIONS}, got ${count}`);
  }
  const first = `{${prefix}}`;
  const firstRange = Math.min(count - 1, rangeOf(keySlot(first), count));
  const roots = [first];
  let partition = 1;
  for (let range = 0; range < count; range++) {
    if (range === firstRange) continue;
    const { from, to } = slotRange(range, count);
    const margin = Math.floor((to - from) / 8);
    for (let i = 0; ; i++) {
      const root = `{${prefix}.p${partition}.${i}}`;
      const slot = keySlot(root);
      if (slot >= from + margin && slot < to - margin) {
        roots.push(root);
        break;
      }
    }
    partition++;
  }
  return roots;
}

/** Which of `count` equal slot ranges holds `slot`. */
function rangeOf(slot: number, count: number): number {
  for (let index = 0; index < count; index++) {
    if (slot < slotRange(index, count).to) return index;
  }
  return count - 1;
}

/**
 * The partitions of a layout of `from` partitions whose keys a layout of `to` partitions does not
 * have (their roots differ): triggers waiting there would be consumed by nobody. Partition 0 is
 * the same in every layout, so going from 1 partition to more leaves nothing behind.
 */
export function partitionsLeftBehind(prefix: string, from: number, to: number): number[] {
  const kept = new Set(partitionRoots(prefix, to));
  return partitionRoots(prefix, from).flatMap((root, partition) =>
    kept.has(root) ? [] : [partition],
  );
}

/**
 * The partition of an idempotency key of a flow: a key always lands in the same partition, so
 * its repeat is checked, and its trigger read, on the node that holds it.
 */
export function partitionOfKey(flow: string, key: string, count: number): number {
  if (count <= 1) return 0;
  return crc16(`${flow}\n${key}`) % count;
}
