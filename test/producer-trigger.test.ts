import { InvalidTriggerError, Producer } from '@flow-dispatcher/producer';
import { parseTriggerId } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
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
    await expect(producer.trigger(FLOW, { IndividualId: '0PKlate00000000001' })).rejects.toThrow(
      'the producer is closed',
    );
    expect((await stored(TEST_REDIS_URL, prefix, FLOW)).pending).toEqual({ [FLOW]: '300' });
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
  });
});
