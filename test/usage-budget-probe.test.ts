import { createLogger, createMetrics, RedisKeys } from '@flow-dispatcher/shared';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageBudget } from '../packages/salesforce/dist/fleet/usage-budget.js';

/**
 * The budget probe runs detached (`void probe()` when an acquire finds the budget closed): it
 * must settle, never reject, or the worker dies of an unhandled rejection.
 */
describe('the budget probe', () => {
  let server: RedisServerProcess | undefined;

  afterEach(async () => {
    await server?.stop();
  });

  it('settles when Redis goes away while GET /limits says the allocation is still spent', async () => {
    server = await startRedisServer();
    const running = server;
    // No offline queue and no retries: a command to a Redis that is gone fails at once.
    const redis = new Redis(running.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    await new Promise((resolve) => redis.once('ready', resolve));
    let released = 0;
    const budget = new UsageBudget({
      redis,
      keys: new RedisKeys('probe'),
      logger: createLogger({ level: 'silent' }),
      metrics: createMetrics({ defaultMetrics: false }),
      holder: 'h',
      maxConcurrency: 5,
      dailyApiShare: 0.5,
      readLimits: async () => {
        await running.stop();
        throw Object.assign(new Error('TotalRequests Limit exceeded'), { code: 'daily-limit' });
      },
      takeReadPermit: async () => async () => {
        released++;
      },
    });
    budget.adopt({ used: 400, max: 1_000 });
    try {
      await expect(budget.probe(60_000)).resolves.toBeUndefined();
      // Spent in this process even though Redis could not be told; the permit went back.
      expect(budget.usage).toEqual({ used: 1_000, max: 1_000 });
      expect(released).toBe(1);
    } finally {
      redis.disconnect();
    }
  });
});
