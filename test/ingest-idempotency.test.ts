import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  IngestClient,
  individualIds,
  ingestEnv,
  startIngest,
  startIngestProcess,
} from './ingest-support.js';
import { fleetEnv, startInProcessWorker, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

describe('ingest idempotency across replicas', () => {
  let prefix: string;
  let sim: Simulator;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('ingest-idem');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('stores a key sent to two ingest instances at once exactly once, and delivers it once', async () => {
    const env = ingestEnv(TEST_REDIS_URL, prefix);
    const a = await startIngest(env);
    cleanup.push(() => a.close());
    const b = await startIngest(env);
    cleanup.push(() => b.close());
    const clientA = new IngestClient(a.url, undefined, 20);
    const clientB = new IngestClient(b.url, undefined, 20);
    cleanup.push(
      () => clientA.close(),
      () => clientB.close(),
    );

    const people = individualIds('idem', 40);
    // Native: the same key on both instances, at the same moment; and a plain retry.
    const native = await Promise.all(
      people
        .slice(0, 20)
        .flatMap((IndividualId, i) =>
          [clientA, clientB].map((client) =>
            client.trigger('Welcome_SMS', { input: { IndividualId }, key: `signup-${i}` }),
          ),
        ),
    );
    // Drop-in: the same Idempotency-Key on both instances.
    const inputs = people.slice(20).map((IndividualId) => ({ IndividualId }));
    const dropIn = await Promise.all(
      [clientA, clientB].map((client) =>
        client.post(
          '/services/data/v65.0/actions/custom/flow/Welcome_SMS',
          { inputs },
          {
            'idempotency-key': 'batch-7',
          },
        ),
      ),
    );

    for (let i = 0; i < 20; i++) {
      const pair = [native[2 * i], native[2 * i + 1]].map((answer) => {
        expect(answer?.status).toBe(202);
        return answer?.json.accepted[0];
      });
      expect(pair.map((r) => r.duplicate).sort()).toEqual([false, true]);
      expect(pair[0].id).toBe(pair[1].id);
      expect(pair[0].key).toBe(`signup-${i}`);
    }
    expect(dropIn.map((answer) => answer.status)).toEqual([200, 200]);
    const [first, second] = dropIn.map(
      (answer) => answer.json as { outputValues: { triggerId: string; duplicate: boolean } }[],
    );
    for (let i = 0; i < 20; i++) {
      const pair = [first?.[i]?.outputValues, second?.[i]?.outputValues];
      expect(pair.map((o) => o?.duplicate).sort()).toEqual([false, true]);
      expect(pair[0]?.triggerId).toBe(pair[1]?.triggerId);
    }
    // A later retry of the whole drop-in request is all duplicates.
    const retry = await clientB.post(
      '/services/data/v65.0/actions/custom/flow/Welcome_SMS',
      { inputs },
      {
        'idempotency-key': 'batch-7',
      },
    );
    expect(retry.status).toBe(200);
    const firstIds = first?.map((r) => r.outputValues.triggerId);
    expect(
      (retry.json as { outputValues: { triggerId: string; duplicate: boolean } }[]).map(
        (r) => r.outputValues,
      ),
    ).toEqual(firstIds?.map((triggerId) => ({ triggerId, duplicate: true })));
    expect(firstIds).toHaveLength(20);

    const worker = await startInProcessWorker(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    cleanup.push(() => worker.close());
    await waitFor(() => sim.stats().deliveries.unique === 40, { message: '40 deliveries' });
    const stats = sim.stats();
    expect(stats.deliveries).toEqual({ unique: 40, total: 40, duplicates: 0 });
    // Stored triggers are counted, duplicates are not: 40 between the two instances, as the
    // worker exports it (its first sample of Redis runs at start).
    const enqueued = async () =>
      (
        await worker.metrics.registry
          .getSingleMetric('flow_dispatcher_triggers_enqueued_total')
          ?.get()
      )?.values;
    await waitFor(async () => (await enqueued())?.length === 1, { message: 'the first sample' });
    expect(await enqueued()).toEqual([
      { labels: { flow: 'Welcome_SMS', source: 'ingest' }, value: 40 },
    ]);
  });
  it('takes a key again once IDEMPOTENCY_WINDOW_MS has passed, not before', async () => {
    const WINDOW_MS = 3_000;
    const started = await startIngestProcess(
      ingestEnv(TEST_REDIS_URL, prefix, { IDEMPOTENCY_WINDOW_MS: String(WINDOW_MS) }),
    );
    cleanup.push(() => started.process.kill('SIGKILL'));
    const client = new IngestClient(started.url);
    cleanup.push(() => client.close());
    const worker = await startWorkerProcess(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    cleanup.push(() => worker.kill('SIGKILL'));

    const trigger = { input: { IndividualId: '0PKwindow000000001' }, key: 'order-77' };
    const firstSentAt = Date.now();
    const first = await client.trigger('Welcome_SMS', trigger);
    expect(first.status).toBe(202);
    expect(first.json.accepted[0].duplicate).toBe(false);
    // The same key sent again and again: a duplicate of the first while the window lasts, then
    // stored as a new trigger.
    const answers: { ackAt: number; duplicate: boolean; id: string }[] = [];
    await waitFor(
      async () => {
        const again = await client.trigger('Welcome_SMS', trigger);
        expect(again.status).toBe(202);
        const [receipt] = again.json.accepted;
        answers.push({ ackAt: Date.now(), duplicate: receipt.duplicate, id: receipt.id });
        return !receipt.duplicate;
      },
      { message: 'the key taken again', timeoutMs: WINDOW_MS + 30_000, intervalMs: 100 },
    );
    const renewed = answers.at(-1);
    // Nothing answered before the window could have ended saw the key free; every duplicate
    // named the first trigger.
    expect(answers.filter((a) => !a.duplicate && a.ackAt < firstSentAt + WINDOW_MS)).toEqual([]);
    expect(new Set(answers.filter((a) => a.duplicate).map((a) => a.id))).toEqual(
      new Set([first.json.accepted[0].id]),
    );
    expect(renewed?.id).not.toBe(first.json.accepted[0].id);
    // Both are delivered: the second is a trigger of its own.
    await waitFor(() => sim.deliveries().get('0PKwindow000000001') === 2, {
      message: 'delivered twice, once per window',
    });
    expect(sim.stats().deliveries.total).toBe(2);
  });
});
