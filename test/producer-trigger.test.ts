import { InvalidTriggerError, Producer } from '@flow-dispatcher/producer';
import { parseTriggerId } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { startRedisServer } from '@flow-dispatcher/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { individualIds, stored } from './ingest-support.js';
import { fleetEnv, startInProcessWorker } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';

/**
 * `Producer.trigger()` one trigger at a time: calls made together share chunk jobs, calls made one
 * after another are each written at once, and every call is answered with its own receipt once
 * its trigger is stored.
 */
describe('Producer.trigger', () => {
  let prefix: string;
  let producer: Producer;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(() => {
    prefix = uniquePrefix('trigger');
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await producer.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('writes 2,000 concurrent calls as far fewer chunk jobs, each stored when answered, all delivered once', async () => {
    const people = individualIds('tc', 2_000);
    const receipts = await Promise.all(
      people.map(async (IndividualId) => {
        const receipt = await producer.trigger(FLOW, { IndividualId });
        // Answered only once stored: its record is readable the moment the call resolves.
        expect((await producer.getTrigger(receipt.id))?.state).toBe('queued');
        return receipt;
      }),
    );
    expect(new Set(receipts.map((r) => r.id)).size).toBe(people.length);
    expect(receipts.every((r) => !r.duplicate)).toBe(true);
    const chunkIds = new Set(receipts.map((r) => parseTriggerId(r.id)?.chunkId));
    const { pending, jobs } = await stored(TEST_REDIS_URL, prefix, FLOW);
    expect(pending).toEqual({ [FLOW]: String(people.length) });
    expect(jobs).toBe(chunkIds.size);
    expect(jobs).toBeLessThanOrEqual(people.length / 100);

    const sim: Simulator = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    cleanup.push(() => sim.close());
    const worker = await startInProcessWorker(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    cleanup.push(() => worker.close());
    await waitFor(() => sim.stats().deliveries.unique === people.length, {
      message: 'every trigger delivered',
      timeoutMs: 60_000,
    });
    for (const id of people) expect(sim.deliveries().get(id)).toBe(1);
  });

  it('writes calls made one after another at once, one job each', async () => {
    const people = individualIds('ts', 5);
    for (const IndividualId of people) await producer.trigger(FLOW, { IndividualId });
    expect(await stored(TEST_REDIS_URL, prefix, FLOW)).toEqual({
      pending: { [FLOW]: '5' },
      jobs: 5,
    });
  });

  it('stores a key repeated by concurrent calls once, and tells both the same id', async () => {
    const [first, second] = await Promise.all([
      producer.trigger(FLOW, { IndividualId: '0PKkey000000000001' }, { key: 'signup-1' }),
      producer.trigger(FLOW, { IndividualId: '0PKkey000000000001' }, { key: 'signup-1' }),
    ]);
    expect(second?.id).toBe(first?.id);
    expect([first?.duplicate, second?.duplicate].sort()).toEqual([false, true]);
    // A later call with the key is a duplicate too.
    const later = await producer.trigger(
      FLOW,
      { IndividualId: '0PKkey000000000001' },
      { key: 'signup-1' },
    );
    expect(later).toMatchObject({ id: first?.id, duplicate: true });
    expect((await stored(TEST_REDIS_URL, prefix, FLOW)).pending).toEqual({ [FLOW]: '1' });
  });

  it('refuses a bad trigger on its own: the calls made with it are stored', async () => {
    const outcomes = await Promise.allSettled([
      producer.trigger(FLOW, { IndividualId: '0PKgood00000000001' }),
      producer.trigger(FLOW, { IndividualId: { nested: 'not a flow input' } } as never),
      producer.trigger(FLOW, { IndividualId: '0PKgood00000000002' }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidTriggerError);
    expect((await stored(TEST_REDIS_URL, prefix, FLOW)).pending).toEqual({ [FLOW]: '2' });
  });

  it('close() writes what was handed over before it; a call after it is refused', async () => {
    const people = individualIds('tclose', 300);
    const calls = people.map((IndividualId) => producer.trigger(FLOW, { IndividualId }));
    const closing = producer.close();
    const receipts = await Promise.all(calls);
    await closing;
    expect(receipts).toHaveLength(300);
    await expect(
      producer.trigger(FLOW, { IndividualId: '0PKlate00000000001' }),
    ).rejects.toMatchObject({ name: 'ProducerClosedError', code: 'PRODUCER_CLOSED' });
    expect((await stored(TEST_REDIS_URL, prefix, FLOW)).pending).toEqual({ [FLOW]: '300' });
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
  });
});

/**
 * README, Guarantees: "a write that fails is an error to the caller, never a silent drop". A Redis
 * out of memory (maxmemory with noeviction, as the runbook asks) refuses writes: every way of
 * writing must reject, store nothing of what it was given, and leave what was stored before
 * intact. (While Redis is unreachable a write waits for it instead: see the restart fault tests.)
 */
describe('a write Redis refuses', () => {
  it('is an error to the caller of triggerMany, trigger and a keyed write, and stores nothing of it', async () => {
    const redis = await startRedisServer({
      args: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction'],
    });
    const producer = new Producer({ redis: redis.url, prefix: 'oom' });
    try {
      // 2 KB inputs, 100 a chunk (200 KB a write): Redis fills up within a few dozen writes.
      const padding = 'x'.repeat(2_000);
      const batch = (round: number) =>
        individualIds(`oom${round}-`, 100).map((IndividualId) => ({ IndividualId, padding }));
      const accepted: string[] = [];
      let refusal: unknown;
      for (let round = 0; round < 200 && refusal === undefined; round++) {
        try {
          const receipts = await producer.triggerMany(FLOW, batch(round));
          accepted.push(...receipts.map((r) => r.id));
        } catch (err) {
          refusal = err;
        }
      }
      expect(refusal, 'Redis refused a write').toBeInstanceOf(Error);
      expect(String((refusal as Error).message)).toMatch(/OOM/);
      const before = await stored(redis.url, 'oom', FLOW);
      // What was acknowledged is all there, and only that.
      expect(before.pending).toEqual({ [FLOW]: String(accepted.length) });
      expect(before.jobs).toBe(accepted.length / 100);
      expect((await producer.getTrigger(accepted.at(-1) as string))?.state).toBe('queued');

      // A single trigger (group-committed) and a keyed write are refused the same way, whole.
      await expect(
        producer.trigger(FLOW, { IndividualId: '0PKoomone000000001', padding }),
      ).rejects.toThrow(/OOM/);
      const keyed = individualIds('oomkey-', 20).map((IndividualId) => ({ IndividualId, padding }));
      const keys = keyed.map((input) => `k-${input.IndividualId}`);
      await expect(producer.triggerMany(FLOW, keyed, { keys })).rejects.toThrow(/OOM/);
      expect(await stored(redis.url, 'oom', FLOW)).toEqual(before);

      // Room again: the keyed write goes through as new (none of its keys had been kept).
      await producer.redis.config('SET', 'maxmemory', '0');
      const receipts = await producer.triggerMany(FLOW, keyed, { keys });
      expect(receipts.map((r) => r.duplicate)).toEqual(keyed.map(() => false));
      expect((await stored(redis.url, 'oom', FLOW)).pending).toEqual({
        [FLOW]: String(accepted.length + keyed.length),
      });
    } finally {
      await producer.close();
      await redis.stop();
    }
  });
});
