import { Producer } from '@flow-dispatcher/producer';
import { RedisKeys } from '@flow-dispatcher/shared';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestClient, ingestEnv, startIngestProcess } from './ingest-support.js';
import { type CliProcess, runCli } from './support/cli-process.js';
import { deletePrefix, keysUnder, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';

/**
 * Ingest and the producer library follow the fleet's QUEUE_PARTITIONS (kept in Redis as
 * `{prefix}:partitions`) as workers do: one started with another count would store triggers in
 * partitions no worker reads, so it refuses, and writes nothing.
 */

const lines = (text: string) => text.split('\n').filter((line) => line.length > 0);

describe('the partition layout, checked by ingest and the producer', () => {
  let prefix: string;
  let redis: Redis;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('layout');
    redis = new Redis(TEST_REDIS_URL);
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    redis.disconnect();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  /** The fleet's workers ran with `count` partitions. */
  const fleetRan = (count: number) =>
    redis.set(new RedisKeys(prefix).partitionLayout, String(count));

  it('an ingest started with another QUEUE_PARTITIONS exits 2 with one line naming it', async () => {
    await fleetRan(3);
    const refused = await runCli(
      ['ingest'],
      ingestEnv(TEST_REDIS_URL, prefix, { QUEUE_PARTITIONS: '2' }),
      30_000,
    );
    expect(refused.timedOut).toBe(false);
    expect(refused.code).toBe(2);
    expect(lines(refused.stderr)).toEqual([
      expect.stringMatching(
        /^flow-dispatcher: QUEUE_PARTITIONS: is 2 here but the fleet runs with 3 \(recorded in Redis by its workers\): .*Set QUEUE_PARTITIONS=3/,
      ),
    ]);
    // Nothing but the fleet's record under the prefix, and the record unchanged.
    expect(await keysUnder(TEST_REDIS_URL, prefix)).toEqual([`{${prefix}}:partitions`]);
    expect(await redis.get(`{${prefix}}:partitions`)).toBe('3');
  });

  it("an ingest with the fleet's count starts, and a first one records its count", async () => {
    const first = await startIngestProcess(
      ingestEnv(TEST_REDIS_URL, prefix, { QUEUE_PARTITIONS: '2' }),
    );
    cleanup.push(() => first.process.kill());
    expect(await redis.get(`{${prefix}}:partitions`)).toBe('2');
    const client = new IngestClient(first.url);
    cleanup.push(() => client.close());
    const answer = await client.trigger('Welcome_SMS', { input: { IndividualId: '0PKlayout01' } });
    expect(answer.status).toBe(202);
  });

  it('a Producer with another count rejects writes and reads with a ConfigError, writing nothing', async () => {
    await fleetRan(3);
    const wrong = new Producer({ redis: TEST_REDIS_URL, prefix, partitions: 2 });
    cleanup.push(() => wrong.close());
    const refusal = {
      name: 'ConfigError',
      code: 'CONFIG_INVALID',
      variable: 'QUEUE_PARTITIONS',
      message: expect.stringMatching(/^QUEUE_PARTITIONS: is 2 here but the fleet runs with 3/),
    };
    await expect(wrong.checkPartitionLayout()).rejects.toMatchObject(refusal);
    await expect(
      wrong.trigger('Welcome_SMS', { IndividualId: '0PKlayout02' }),
    ).rejects.toMatchObject(refusal);
    await expect(
      wrong.triggerMany('Welcome_SMS', [{ IndividualId: '0PKlayout03' }], { keys: ['k1'] }),
    ).rejects.toMatchObject(refusal);
    await expect(wrong.deadLetters.count()).rejects.toMatchObject(refusal);
    await expect(wrong.deadLetters.replay()).rejects.toMatchObject(refusal);
    await expect(wrong.getTrigger('Welcome_SMS.c0000000000000000.0')).rejects.toMatchObject(
      refusal,
    );
    expect(await keysUnder(TEST_REDIS_URL, prefix)).toEqual([`{${prefix}}:partitions`]);

    const right = new Producer({ redis: TEST_REDIS_URL, prefix, partitions: 3 });
    cleanup.push(() => right.close());
    const receipt = await right.trigger('Welcome_SMS', { IndividualId: '0PKlayout04' });
    expect(receipt.duplicate).toBe(false);
  });

  describe('when Redis cannot be reached at start-up', () => {
    let server: RedisServerProcess;
    let ingest: CliProcess | undefined;

    beforeEach(async () => {
      server = await startRedisServer();
    });

    afterEach(async () => {
      await ingest?.kill('SIGKILL');
      server.child.kill('SIGCONT');
      await server.stop();
    });

    it('an ingest refuses every write, and is not ready, once it finds the mismatch', async () => {
      const own = new Redis(server.url);
      await own.set(`{${prefix}}:partitions`, '3');
      own.disconnect();
      server.child.kill('SIGSTOP');
      const started = await startIngestProcess(
        ingestEnv(server.url, prefix, { QUEUE_PARTITIONS: '2', INGEST_WRITE_TIMEOUT_MS: '500' }),
      );
      ingest = started.process;
      await ingest.waitForLine(/redis is not reachable yet/);
      server.child.kill('SIGCONT');
      const line = await ingest.waitForLine(/"level":"error".*QUEUE_PARTITIONS/);
      expect(JSON.parse(line)).toMatchObject({ variable: 'QUEUE_PARTITIONS' });

      const client = new IngestClient(started.url);
      try {
        const answer = await client.trigger('Welcome_SMS', {
          input: { IndividualId: '0PKlayout05' },
        });
        expect(answer.status).toBe(503);
        expect(answer.json).toMatchObject({ error: { code: 'MISCONFIGURED' } });
        const ready = await fetch(`${started.url}/readyz`);
        expect(ready.status).toBe(503);
        expect(await ready.json()).toMatchObject({
          reason: 'QUEUE_PARTITIONS differs from the fleet',
        });
      } finally {
        await client.close();
      }
      const check = new Redis(server.url);
      try {
        expect(await check.keys('*')).toEqual([`{${prefix}}:partitions`]);
      } finally {
        check.disconnect();
      }
    });
  });
});
