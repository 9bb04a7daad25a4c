import { Redis, type RedisOptions } from 'ioredis';

/**
 * Opens an ioredis connection for `url` (redis:// or rediss://, with an optional password).
 * `maxRetriesPerRequest: null` is what BullMQ requires of the connections it blocks on, and it
 * also means a command issued while Redis is away waits for the reconnect instead of failing
 * after a few tries; callers that must answer quickly (ingest) pass their own value.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // Reconnect forever, backing off to at most 2 s between tries.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 2_000),
    ...options,
  });
}
