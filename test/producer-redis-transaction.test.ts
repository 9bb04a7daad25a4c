import { randomBytes } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addJob,
  commitTransaction,
  openTransaction,
} from '../packages/producer/dist/redis-transaction.js';
import { TEST_REDIS_URL as url } from './support/redis.js';

// An integration test (it needs Redis, which the integration project sets up): the producer's
// chunk-write transactions against the test Redis, keys under a prefix of this run.
const prefix = `t-tx-${randomBytes(4).toString('hex')}`;

describe('Redis transactions for chunk writes', () => {
  let redis: Redis;
  let other: Redis;
  /** BullMQ's scripts are defined on `redis` (by this queue), not on `other`. */
  let queue: Queue;

  beforeAll(async () => {
    redis = new Redis(url);
    other = new Redis(url);
    queue = new Queue('Flow_T', { connection: redis, prefix });
    await queue.waitUntilReady();
  });

  afterAll(async () => {
    await queue.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    other.disconnect();
  });

  it("answers each command's reply, in order, once EXEC has run", async () => {
    const tx = openTransaction(redis);
    tx.sadd(`${prefix}:set`, 'a', 'b');
    tx.incrby(`${prefix}:n`, 5);
    tx.smembers(`${prefix}:set`);
    const results = await commitTransaction(tx);
    expect(results).not.toBeNull();
    expect(results?.map(([err]) => err)).toEqual([null, null, null]);
    expect(results?.map(([, reply]) => reply)).toEqual([2, 5, expect.arrayContaining(['a', 'b'])]);
  });

  it('answers a command that failed inside EXEC with its error, and runs the others', async () => {
    await redis.set(`${prefix}:text`, 'not a number');
    const tx = openTransaction(redis);
    tx.incr(`${prefix}:text`);
    tx.set(`${prefix}:after`, 'written');
    const results = await commitTransaction(tx);
    expect(results?.[0]?.[0]).toBeInstanceOf(Error);
    expect(String(results?.[0]?.[0])).toContain('not an integer');
    expect(results?.[1]).toEqual([null, 'OK']);
    expect(await redis.get(`${prefix}:after`)).toBe('written');
  });

  it('rejects with the refused command, not only EXECABORT, and applies nothing', async () => {
    const tx = openTransaction(redis);
    tx.set(`${prefix}:never`, 'x');
    tx.call('get'); // no key: Redis refuses it while queueing
    await expect(commitTransaction(tx)).rejects.toThrow(/wrong number of arguments for 'get'/);
    expect(await redis.exists(`${prefix}:never`)).toBe(0);
  });

  it('answers null when a WATCHed key changed before EXEC', async () => {
    const watcher = new Redis(url);
    try {
      await watcher.watch(`${prefix}:watched`);
      await other.set(`${prefix}:watched`, 'changed');
      const tx = openTransaction(watcher);
      tx.set(`${prefix}:watched`, 'mine');
      expect(await commitTransaction(tx)).toBeNull();
      expect(await redis.get(`${prefix}:watched`)).toBe('changed');
    } finally {
      watcher.disconnect();
    }
  });

  it('refuses a script its connection does not define, before anything is sent', async () => {
    const tx = openTransaction(other);
    tx.set(`${prefix}:orphan`, 'x');
    await expect(
      addJob(tx, new Job(queue, 'Flow_T', { n: 0 }, { attempts: 1 }, 'chunk-u')),
    ).rejects.toThrow(/addStandardJob:.* is not defined on this connection/);
    expect(await redis.exists(`${prefix}:orphan`)).toBe(0);
    expect(await queue.getJob('chunk-u')).toBeUndefined();
  });

  it("adds a BullMQ job through BullMQ's own script, in the same transaction as the rest", async () => {
    const tx = openTransaction(redis);
    tx.sadd(`${prefix}:flows`, 'Flow_T');
    await addJob(tx, new Job(queue, 'Flow_T', { n: 1 }, { attempts: 1 }, 'chunk-1'));
    // Queued, not sent: nothing is in Redis before EXEC.
    expect(await queue.getJob('chunk-1')).toBeUndefined();
    const results = await commitTransaction(tx);
    expect(results?.every(([err]) => err === null)).toBe(true);
    const job = await queue.getJob('chunk-1');
    expect(job?.data).toEqual({ n: 1 });
    expect(await queue.getWaitingCount()).toBe(1);
    expect(await redis.sismember(`${prefix}:flows`, 'Flow_T')).toBe(1);
  });
});
