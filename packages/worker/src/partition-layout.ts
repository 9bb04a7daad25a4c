import {
  ConfigError,
  type Logger,
  partitionsLeftBehind,
  type RedisConnection,
  RedisKeys,
} from '@flow-dispatcher/shared';

/**
 * Guards a change of QUEUE_PARTITIONS. The key roots of partitions 1 and up depend on the count,
 * so triggers (and dead letters) stored under one count sit where a fleet running another count
 * never looks. The fleet's count is kept in Redis (`{prefix}:partitions`); a worker started with a
 * different one checks the partitions the new count leaves behind: if anything is pending or dead
 * there, it refuses to start (a ConfigError naming QUEUE_PARTITIONS, exit 2) and says how to
 * change the count safely; if they are empty, it records the new count.
 */
export async function checkPartitionLayout(
  redis: RedisConnection,
  keys: RedisKeys,
  logger: Logger,
): Promise<void> {
  const count = keys.partitionCount;
  const stored = await redis.get(keys.partitionLayout);
  const previous = stored === null ? Number.NaN : Number(stored);
  if (previous === count) return;
  if (Number.isInteger(previous) && previous >= 1) {
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
