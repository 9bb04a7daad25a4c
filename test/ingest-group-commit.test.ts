import { parseTriggerId, RedisKeys } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestClient, individualIds, ingestEnv, startIngest, stored } from './ingest-support.js';
import { fleetEnv, startInProcessWorker } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const REQUESTS = 2_000;
const CLIENTS = 50;

describe('ingest group commit', () => {
  let prefix: string;
  let sim: Simulator;
  let redis: Redis;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('ingest-gc');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 10 } });
    redis = new Redis(TEST_REDIS_URL);
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    redis.disconnect();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('writes 2,000 single-trigger requests from 50 clients as far fewer chunk jobs, each answered after its write', async () => {
    const server = await startIngest(ingestEnv(TEST_REDIS_URL, prefix, { INGEST_LINGER_MS: '5' }));
    cleanup.push(() => server.close());
    const client = new IngestClient(server.url, undefined, CLIENTS);
    cleanup.push(() => client.close());
    const keys = new RedisKeys(prefix);
    const people = individualIds('gc', REQUESTS);

    // Each client sends its requests one after the other; the moment an answer arrives, its
    // chunk job must already be in Redis.
    const notStoredWhenAnswered: string[] = [];
    const ids: string[] = [];
    let next = 0;
    const clientLoop = async () => {
      while (next < REQUESTS) {
        const IndividualId = people[next++] as string;
        const answer = await client.trigger('Welcome_SMS', { input: { IndividualId } });
        expect(answer.status).toBe(202);
        const [receipt] = answer.json.accepted as { id: string }[];
        const address = parseTriggerId(receipt?.id ?? '');
        if (!address || !(await redis.exists(keys.job('Welcome_SMS', address.chunkId)))) {
          notStoredWhenAnswered.push(receipt?.id ?? '?');
        }
        ids.push(receipt?.id ?? '');
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, clientLoop));

    expect(notStoredWhenAnswered).toEqual([]);
    expect(new Set(ids).size).toBe(REQUESTS);
    const { pending, jobs } = await stored(TEST_REDIS_URL, prefix, 'Welcome_SMS');
    expect(pending).toEqual({ Welcome_SMS: String(REQUESTS) });
    const chunkIds = new Set(ids.map((id) => parseTriggerId(id)?.chunkId));
    expect(jobs).toBe(chunkIds.size);
    // Far fewer jobs than triggers: at least 5 triggers per job on average.
    expect(jobs).toBeLessThanOrEqual(REQUESTS / 5);
    expect(await client.metric('flow_dispatcher_ingest_chunk_triggers_count')).toBe(jobs);
    expect(await client.metric('flow_dispatcher_ingest_chunk_triggers_sum')).toBe(REQUESTS);
    // Counted in Redis by the writes themselves (the workers export it), once per stored trigger.
    expect(await redis.hgetall(keys.enqueued)).toEqual({ 'ingest:Welcome_SMS': String(REQUESTS) });

    // And every one of them is delivered, once.
    const worker = await startInProcessWorker(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    cleanup.push(() => worker.close());
    await waitFor(() => sim.stats().deliveries.unique === REQUESTS, {
      message: `${REQUESTS} deliveries`,
      timeoutMs: 60_000,
    });
    const delivered = sim.deliveries();
    for (const id of people) expect(delivered.get(id)).toBe(1);
    expect(sim.stats().deliveries.duplicates).toBe(0);
    await waitFor(
      async () => (await client.get(`/v1/triggers/${ids[0]}`)).json?.state === 'succeeded',
      { message: 'a trigger reported succeeded' },
    );
  });

  it('with INGEST_GROUP_COMMIT=off writes one job per trigger', async () => {
    const server = await startIngest(
      ingestEnv(TEST_REDIS_URL, prefix, { INGEST_GROUP_COMMIT: 'off' }),
    );
    cleanup.push(() => server.close());
    const client = new IngestClient(server.url, undefined, 10);
    cleanup.push(() => client.close());
    const people = individualIds('off', 100);
    const answers = await Promise.all(
      people.map((IndividualId) => client.trigger('Welcome_SMS', { input: { IndividualId } })),
    );
    expect(answers.every((a) => a.status === 202)).toBe(true);
    expect(await stored(TEST_REDIS_URL, prefix, 'Welcome_SMS')).toEqual({
      pending: { Welcome_SMS: '100' },
      jobs: 100,
    });
  });
});
