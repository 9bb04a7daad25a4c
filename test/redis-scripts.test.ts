import {
  connectRedis,
  defineScript,
  encodeTriggerRecord,
  lua,
  type RedisConnection,
  RedisKeys,
  RedisScript,
  retainOutcomes,
} from '@flow-dispatcher/shared';
import {
  type RedisClusterProcess,
  type RedisServerProcess,
  startRedisCluster,
  startRedisServer,
} from '@flow-dispatcher/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as chunkScripts from '../packages/producer/dist/chunk-scripts.js';
import { commitTransaction, openTransaction } from '../packages/producer/dist/redis-transaction.js';
import * as fleetScripts from '../packages/salesforce/dist/fleet/fleet-scripts.js';
import * as outcomeScripts from '../packages/worker/dist/outcome-scripts.js';
import * as paceScripts from '../packages/worker/dist/pace-scripts.js';

/**
 * The Redis scripts and their one helper (packages/shared/src/redis/redis-script.ts), on a
 * redis-server of this file's own (it flushes the script cache) and on a 3-master Cluster.
 */

const everyScript = [
  fleetScripts,
  chunkScripts,
  outcomeScripts,
  paceScripts,
  { retainOutcomes },
].flatMap((module) => Object.values(module).filter((value) => value instanceof RedisScript));

/** Answers its KEYS and ARGV as the prelude names them, and the first of each extra. */
const echo = defineScript({
  name: 'echo',
  keys: ['first', 'second'] as const,
  args: ['flow', 'count'] as const,
  extraKeys: true,
  extraArgs: true,
  lua: lua`
return { KEY.first, KEY.second, ARG.flow, ARG.count, KEYS[FIRST_EXTRA_KEY], ARGV[FIRST_EXTRA_ARG], #KEYS, #ARGV }
`,
  reply: (raw) => raw,
});

describe('Redis scripts on one server', () => {
  let server: RedisServerProcess;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('every script of the product compiles (Redis caches it under the SHA the helper sends)', async () => {
    expect(everyScript.map((script) => script.name).sort()).toEqual([
      'acquirePermits',
      'adjustLimit',
      'cancelTrigger',
      'countNewChunk',
      'holdChunk',
      'paceTokens',
      'pauseFleet',
      'persistOutcomes',
      'recordUsage',
      'releaseLock',
      'releasePermits',
      'renewPermits',
      'retainOutcomes',
      'takeSchedule',
      'unholdChunk',
    ]);
    for (const script of everyScript)
      expect(await redis.script('LOAD', script.source), script.name).toBe(script.sha);
  });

  it('passes KEYS and ARGV by name, extras after the named ones', async () => {
    const reply = await echo.run(
      redis,
      { second: '{t}:b', first: '{t}:a' },
      { count: 7, flow: 'Welcome' },
      { keys: ['{t}:c', '{t}:d'], args: ['x', 'y', 'z'] },
    );
    expect(reply).toEqual(['{t}:a', '{t}:b', 'Welcome', '7', '{t}:c', 'x', 4, 5]);
    await expect(
      retainOutcomes.run(redis, { outcomes: '{t}:o', job: '{t}:j' }, { ttlMs: 1 }, { keys: ['x'] }),
    ).rejects.toThrow(/takes no extra keys/);
  });

  it('runs again after the server forgot its scripts (SCRIPT FLUSH: NOSCRIPT, then the body)', async () => {
    await redis.hset('{t}:pending', 'F', 0);
    const count = () =>
      chunkScripts.countNewChunk.run(
        redis,
        {
          job: '{t}:job:1',
          pending: '{t}:pending',
          enqueued: '{t}:enqueued',
          scheduled: '{t}:s',
          mark: '{t}:m:1',
        },
        { flow: 'F', triggers: 5, source: 'library', scheduledTriggers: 0 },
      );
    expect(await count()).toBe(true);
    await redis.script('FLUSH');
    expect(await count()).toBe(true);
    expect(await redis.hget('{t}:pending', 'F')).toBe('10');
  });

  it('in a MULTI, runs with the transaction even when the server forgot it', async () => {
    // This connection already ran the script (ioredis would send EVALSHA next), then the cache
    // is flushed: EVALSHA inside MULTI would fail only at EXEC, after the SET had run.
    const pending = {
      job: '{t}:job:2',
      pending: '{t}:pending2',
      enqueued: '{t}:enqueued2',
      scheduled: '{t}:scheduled',
      mark: '{t}:mark:2',
    };
    await chunkScripts.countNewChunk.run(redis, pending, {
      flow: 'F',
      triggers: 1,
      source: 'library',
      scheduledTriggers: 0,
    });
    await redis.script('FLUSH');
    const tx = openTransaction(redis);
    tx.set('{t}:job:3', 'x');
    chunkScripts.countNewChunk.queue(
      tx,
      { ...pending, job: '{t}:job:3' },
      { flow: 'F', triggers: 2, source: 'library', scheduledTriggers: 0 },
    );
    chunkScripts.countNewChunk.queue(
      tx,
      { ...pending, job: '{t}:job:4' },
      { flow: 'F', triggers: 4, source: 'cli', scheduledTriggers: 0 },
    );
    const results = await commitTransaction(tx);
    expect(results?.map(([err]) => err)).toEqual([null, null, null]);
    expect(results?.slice(1).map(([, raw]) => chunkScripts.countNewChunk.read(raw))).toEqual([
      false,
      true,
    ]);
    expect(await redis.hget('{t}:pending2', 'F')).toBe('5');
    // The enqueued count moves with the pending one, by source; the re-sent chunk counts nowhere.
    expect(await redis.hgetall('{t}:enqueued2')).toEqual({ 'library:F': '1', 'cli:F': '4' });
  });

  it('keeps a final record whatever the order of its JSON keys', async () => {
    const keys = new RedisKeys('order');
    const outcomes = keys.outcomes('c1');
    // Written by hand with `s` last: only a script that decodes the record sees it is final.
    await redis.hset(
      outcomes,
      '0',
      '{"a":1,"t":5,"o":null,"s":"ok"}',
      '1',
      '{"to":"x","s":"moved"}',
    );
    await redis.hset(keys.pending, 'F', 3);
    const retry = encodeTriggerRecord({
      s: 'retry',
      a: 2,
      n: 9,
      e: { code: 'UNKNOWN_EXCEPTION', message: 'later' },
    });
    const ok = encodeTriggerRecord({ s: 'ok', a: 1, t: 7, o: { Out: 'v' } });
    const entry = (field: number, record: string, terminal: boolean) =>
      outcomeScripts.persistEntryArgs({
        chunk: 0,
        field,
        record,
        terminal,
        flow: 'F',
        deadId: '',
        deadAt: 0,
        deadLetter: '',
        event: {
          outcome: terminal ? 'succeeded' : 'retried',
          id: `t${field}`,
          key: field === 2 ? 'k2' : '',
          code: terminal ? '' : 'UNKNOWN_EXCEPTION',
          attempts: 1,
          at: 7,
          output: terminal ? '{"Out":"v"}' : '',
        },
      });
    await outcomeScripts.persistOutcomes.run(
      redis,
      {
        pending: keys.pending,
        deadLetters: keys.deadLetters,
        deadLetterItems: keys.deadLetterItems,
        events: keys.outcomeEvents,
      },
      { ttlMs: 60_000, entries: 3, eventsMaxLen: 1_000, eventsMaxAgeMs: 60_000 },
      {
        keys: [outcomes, keys.job('F', 'c1')],
        args: [...entry(0, retry, false), ...entry(1, ok, true), ...entry(2, ok, true)],
      },
    );
    expect(await redis.hgetall(outcomes)).toEqual({
      '0': '{"a":1,"t":5,"o":null,"s":"ok"}',
      '1': '{"to":"x","s":"moved"}',
      '2': ok,
    });
    // Only the new final record counts as settled, and only it appends its event.
    expect(await redis.hget(keys.pending, 'F')).toBe('2');
    const events = await redis.xrange(keys.outcomeEvents, '-', '+');
    expect(events.map(([, fields]) => fields)).toEqual([
      [
        'id',
        't2',
        'key',
        'k2',
        'flow',
        'F',
        'outcome',
        'succeeded',
        'code',
        '',
        'attempts',
        '1',
        'at',
        '7',
        'output',
        '{"Out":"v"}',
      ],
    ]);
  });
});

describe('Redis scripts on a 3-master Cluster', () => {
  let cluster: RedisClusterProcess;
  let redis: RedisConnection;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    redis = connectRedis(cluster.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  it('reaches the node of its keys, alone and in a MULTI, and one slot is required', async () => {
    // Hash tags in three different slots (and, with three masters, on more than one node).
    for (const tag of ['a', 'b', 'c']) {
      const keys = {
        job: `{${tag}}:job`,
        pending: `{${tag}}:pending`,
        enqueued: `{${tag}}:enqueued`,
        scheduled: `{${tag}}:scheduled`,
        mark: `{${tag}}:mark`,
      };
      expect(
        await chunkScripts.countNewChunk.run(redis, keys, {
          flow: 'F',
          triggers: 2,
          source: 'ingest',
          scheduledTriggers: 0,
        }),
      ).toBe(true);
      const tx = openTransaction(redis);
      chunkScripts.countNewChunk.queue(
        tx,
        { ...keys, job: `{${tag}}:job2` },
        { flow: 'F', triggers: 3, source: 'ingest', scheduledTriggers: 0 },
      );
      expect((await commitTransaction(tx))?.[0]?.[0]).toBeNull();
      expect(await redis.hget(keys.pending, 'F')).toBe('5');
    }
    await expect(
      chunkScripts.countNewChunk.run(
        redis,
        {
          job: '{a}:job3',
          pending: '{b}:pending',
          enqueued: '{a}:enqueued',
          scheduled: '{a}:s',
          mark: '{a}:m',
        },
        { flow: 'F', triggers: 1, source: 'library', scheduledTriggers: 0 },
      ),
    ).rejects.toThrow(/CROSSSLOT|same slot/);
  });
});
