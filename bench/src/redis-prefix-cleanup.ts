import type { Redis } from 'ioredis';

/**
 * Removes every key of one server that starts with `{prefix` (every key of a deployment under
 * QUEUE_PREFIX `prefix`, each partition's included): what a scenario wrote to a Redis it was
 * lent. One UNLINK per key, pipelined: on a cluster node the keys belong to different slots.
 */
export async function unlinkPrefix(node: Redis, prefix: string): Promise<void> {
  const stream = node.scanStream({ match: `{${prefix}*`, count: 1_000 });
  for await (const keys of stream as AsyncIterable<string[]>) {
    if (keys.length === 0) continue;
    const pipeline = node.pipeline();
    for (const key of keys) pipeline.unlink(key);
    await pipeline.exec();
  }
}
