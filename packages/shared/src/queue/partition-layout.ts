import { ConfigError } from '../config/config-error.js';
import type { Logger } from '../observability/logger.js';
import type { RedisConnection } from '../redis/redis-connection.js';
import { partitionsLeftBehind } from './queue-partitions.js';
import { RedisKeys } from './redis-keys.js';

/**
 * Guards QUEUE_PARTITIONS. The key roots of partitions 1 and up depend on the count, so triggers
 * (and dead letters) stored under one count sit where a fleet running another count never looks.
 * The fleet's count is kept in Redis (`{prefix}:partitions`). Workers own it and may change it
 * (`checkPartitionLayout`); ingest and the producer library follow it (`requirePartitionLayout`).
 */

/**
 * A worker's check at start-up: started with a count other than the recorded one, it looks at the
 * partitions the new count leaves behind. If anything is pending or dead there, it refuses to
 * start (a ConfigError naming QUEUE_PARTITIONS, exit 2) and says how to change the count safely;
 * if they are empty, it records the new count.
 */
export async function checkPartitionLayout(
  redis: RedisConnection,
  keys: RedisKeys,
  logger: Logger,
): Promise<void> {
  const count = keys.partitionCount;
  const previous = parseLayout(await redis.get(keys.partitionLayout));
  if (previous === count) return;
  if (previous !== undefined) {
    let pending = 0;
    let dead = 0;
    for (const partition of partitionsLeftBehind(keys.prefix, previous, count)) {
      const old = RedisKeys.forPartition(keys.prefix, partition, previous);
      for (const n of await redis.hvals(old.pending)) pending += Math.max(0, Number(n) || 0);
      dead += await redis.zcard(old.deadLetters);
    }
    if (pending > 0 || dead > 0) {
      throw new ConfigError(
        'QUEUE_PARTITIONS',
        `the fleet ran with ${previous} partitions and ${pending} trigger(s) pending and ${dead} dead letter(s) are in partitions that ${count} does not have: set QUEUE_PARTITIONS=${previous} again, let the backlog drain (flow-dispatcher drain) and replay or purge the dead letters, then change it everywhere at once`,
      );
    }
    logger.info({ from: previous, to: count }, 'queue partitions changed');
  }
  await redis.set(keys.partitionLayout, String(count));
}

/**
 * The check of whatever writes triggers or reads them back (ingest, the producer library, the
 * CLI's operator commands): it follows the fleet's count and never changes it. With no count
 * recorded yet (a new deployment, no worker started yet) it records its own, so that a worker
 * started later with another one finds the triggers written meanwhile; with another count recorded
 * it throws a ConfigError naming QUEUE_PARTITIONS (code CONFIG_INVALID): writing anyway would put
 * triggers where no worker reads.
 */
export async function requirePartitionLayout(
  redis: RedisConnection,
  keys: RedisKeys,
): Promise<void> {
  const count = keys.partitionCount;
  if ((await redis.set(keys.partitionLayout, String(count), 'NX')) === 'OK') return;
  const recorded = parseLayout(await redis.get(keys.partitionLayout));
  // A value that is not a count (none, or garbage) is the workers' to replace; nothing to follow.
  if (recorded === undefined || recorded === count) return;
  throw new ConfigError(
    'QUEUE_PARTITIONS',
    `is ${count} here but the fleet runs with ${recorded} (recorded in Redis by its workers): triggers written with ${count} would land where no worker reads. Set QUEUE_PARTITIONS=${recorded}, or to change the count start the workers with the new one first (docs/scaling.md)`,
  );
}

/** The recorded count, or undefined for none or a value that is not one. */
function parseLayout(stored: string | null): number | undefined {
  const value = stored === null ? Number.NaN : Number(stored);
  return Number.isInteger(value) && value >= 1 ? value : undefined;
}
