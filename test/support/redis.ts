import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The shared Redis of the machine (CI starts one); tests isolate themselves by key prefix. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A QUEUE_PREFIX no other test uses. */
export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(4).toString('hex')}`;
}

/** Keys under a prefix (hash-tagged as flow-dispatcher writes them). */
export async function keysUnder(url: string, prefix: string): Promise<string[]> {
  const redis = new Redis(url);
  try {
    const keys: string[] = [];
    const stream = redis.scanStream({ match: `{${prefix}}*`, count: 1_000 });
    for await (const batch of stream as AsyncIterable<string[]>) keys.push(...batch);
    return keys;
  } finally {
    redis.disconnect();
  }
}

export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const keys = await keysUnder(url, prefix);
  if (keys.length === 0) return;
  const redis = new Redis(url);
  try {
    for (let i = 0; i < keys.length; i += 1_000) await redis.unlink(...keys.slice(i, i + 1_000));
  } finally {
    redis.disconnect();
  }
}
