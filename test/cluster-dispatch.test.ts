import { Producer, type TriggerReceipt } from '@flow-dispatcher/producer';
import { keySlot, parseTriggerId, partitionOfKey, RedisKeys } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { masterOf, type RedisClusterProcess, startRedisCluster } from '@flow-dispatcher/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IngestClient, ingestEnv, startIngest } from './ingest-support.js';
import { runCli } from './support/cli-process.js';
import { fleetEnv, startInProcessWorker, startWorkerProcess } from './support/fleet.js';
import { uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/**
 * The end-to-end suite's main cases on a real 3-master Redis Cluster with QUEUE_PARTITIONS=3:
 * every multi-key transaction and script must stay in one slot (the cluster refuses the others),
 * keys must reach the node that holds them, and the partitions must really sit on different
 * masters.
 */

const PARTITIONS = 3;
const ids = (tag: string, count: number, from = 0) =>
  Array.from(
    { length: count },
    (_, i) => `0PK${tag}${String(from + i).padStart(15 - tag.length, '0')}`,
  );

describe('on a 3-master Redis Cluster with 3 queue partitions', () => {
  let cluster: RedisClusterProcess;
  let sim: Simulator;
  let prefix: string;
  let producer: Producer;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  beforeEach(async () => {
    prefix = uniquePrefix('cluster');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 20 } });
    producer = new Producer({ redis: cluster.url, prefix, partitions: PARTITIONS });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await producer.close();
    await sim.close();
  });

  const env = (extra: Record<string, string> = {}) =>
    fleetEnv({
      redisUrl: cluster.url,
      prefix,
      simulatorUrl: sim.url,
      extra: { QUEUE_PARTITIONS: String(PARTITIONS), ...extra },
    });

  async function worker(extra: Record<string, string> = {}) {
    const runtime = await startInProcessWorker(env(extra));
    cleanup.push(() => runtime.close());
    return runtime;
  }

  /** Every key under the test's prefix, by the port of the master that holds it. */
  async function keysByMaster(): Promise<Map<number, string[]>> {
    const nodes = await cluster.nodes();
    const found = new Map<number, string[]>();
    for (const master of nodes.filter((n) => n.role === 'master' && !n.failed)) {
      const redis = cluster.node(master.port);
      try {
        const keys: string[] = [];
        for await (const batch of redis.scanStream({
          match: `{${prefix}*`,
          count: 1_000,
        }) as AsyncIterable<string[]>) {
          keys.push(...batch);
        }
        found.set(master.port, keys);
      } finally {
        redis.disconnect();
      }
    }
    return found;
  }

  it('puts the partitions on different masters, each key in its partition slot on the node that serves it', async () => {
    const keys = new RedisKeys(prefix, PARTITIONS);
    const keyless = await producer.triggerMany(
      'Welcome_SMS',
      ids('spread', 3_000).map((IndividualId) => ({ IndividualId })),
    );
    const keyed = await producer.triggerMany(
      'Welcome_SMS',
      ids('keyed', 300).map((IndividualId) => ({ IndividualId })),
      { keys: ids('keyed', 300).map((id) => `signup-${id}`) },
    );
    // Chunks without keys go round robin; keyed triggers go to their key's partition.
    const partitionOf = (r: TriggerReceipt) => parseTriggerId(r.id)?.partition;
    expect(new Set(keyless.map(partitionOf))).toEqual(new Set([0, 1, 2]));
    keyed.forEach((receipt, i) => {
      expect(partitionOf(receipt)).toBe(
        partitionOfKey('Welcome_SMS', `signup-${ids('keyed', 300)[i]}`, PARTITIONS),
      );
    });
    expect(keyless[0]?.id).toMatch(/^Welcome_SMS\.c[0-9a-z]{22}(-[12])?\.0$/);

    // The cluster itself says which slot each partition root hashes to, and who serves it.
    const probe = cluster.node(cluster.servers[0]?.port ?? 0);
    const nodes = await cluster.nodes();
    const masters: number[] = [];
    try {
      for (const partition of keys.allPartitions) {
        const slot = Number(await probe.cluster('KEYSLOT', partition.pending));
        expect(slot).toBe(keySlot(partition.root));
        masters.push(masterOf(nodes, slot).port);
      }
    } finally {
      probe.disconnect();
    }
    expect(new Set(masters).size).toBe(PARTITIONS);

    // The keys actually written: each master holds the keys of exactly its partition.
    const written = await keysByMaster();
    keys.allPartitions.forEach((partition, p) => {
      const held = written.get(masters[p] as number) ?? [];
      expect(held.length).toBeGreaterThan(0);
      for (const key of held) expect(key.startsWith(partition.root)).toBe(true);
      expect(held).toContain(partition.pending);
      expect(held).toContain(partition.flows);
      expect(held.some((key) => key.startsWith(`${partition.root}:idem:`))).toBe(true);
    });
  });

  it('delivers 10,000 triggers over two flows exactly once, in full calls, each outcome readable', async () => {
    const sms = ids('sms', 6_000).map((IndividualId) => ({
      IndividualId,
      TelephoneNumber: '+15550100',
    }));
    const email = ids('eml', 4_000).map((IndividualId) => ({
      IndividualId,
      EmailAddress: 'x@example.com',
    }));
    const receipts = [
      ...(await producer.triggerMany('Welcome_SMS', sms)),
      ...(await producer.triggerMany('Order_Confirmation_Email', email)),
    ];
    expect(new Set(receipts.map((r) => r.id)).size).toBe(10_000);

    await worker();
    await waitFor(() => sim.stats().deliveries.unique === 10_000, {
      message: '10,000 deliveries',
      timeoutMs: 90_000,
    });
    const stats = sim.stats();
    expect(stats.deliveries).toEqual({ unique: 10_000, total: 10_000, duplicates: 0 });
    // Chunks of all three partitions feed one batcher per flow: calls stay full.
    expect(stats.invokeCalls.total).toBeLessThanOrEqual(50 + 4);

    const counts = await waitFor(
      async () => {
        const statuses = await Promise.all(receipts.map((r) => producer.getTrigger(r.id)));
        const tally: Record<string, number> = {};
        for (const s of statuses)
          tally[`${s?.state}/${s?.attempts}`] = (tally[`${s?.state}/${s?.attempts}`] ?? 0) + 1;
        return tally['succeeded/1'] === 10_000 ? tally : undefined;
      },
      { message: 'every trigger readable as succeeded', timeoutMs: 20_000 },
    );
    expect(counts).toEqual({ 'succeeded/1': 10_000 });
    for (const keys of producer.keys.allPartitions) {
      const pending = await producer.redis.hgetall(keys.pending);
      for (const value of Object.values(pending)) expect(value).toBe('0');
      expect(await producer.redis.llen(`${keys.bullPrefix}:Welcome_SMS:wait`)).toBe(0);
      expect(await producer.redis.zcard(`${keys.bullPrefix}:Welcome_SMS:prioritized`)).toBe(0);
    }
  });

  it('settles a partially failed call input by input and replays dead letters of every partition under their ids', async () => {
    sim.configure({
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: '0PKperm' },
          error: {
            statusCode: 'UNKNOWN_EXCEPTION',
            message: 'An error occurred when executing a flow interview.',
          },
        },
        {
          match: { field: 'IndividualId', prefix: '0PKlock' },
          error: {
            statusCode: 'UNABLE_TO_LOCK_ROW',
            message: 'unable to obtain exclusive access to this record',
          },
          times: 2,
        },
      ],
    });
    const good = ids('good', 60);
    const perm = ids('perm', 12);
    const lock = ids('lock', 6);
    const all = [...good, ...perm, ...lock];
    // Keys spread the triggers (and so the dead letters) over the three partitions.
    const receipts = await producer.triggerMany(
      'Welcome_SMS',
      all.map((IndividualId) => ({ IndividualId })),
      { keys: all.map((id) => `k-${id}`) },
    );
    const byId = new Map(all.map((id, i) => [id, receipts[i]?.id ?? '']));
    expect(
      new Set(perm.map((id) => parseTriggerId(byId.get(id) ?? '')?.partition)).size,
    ).toBeGreaterThan(1);

    await worker();
    await waitFor(
      async () =>
        (await producer.deadLetters.count()) === 12 && sim.stats().deliveries.unique === 66,
      { message: 'every trigger settled', timeoutMs: 60_000 },
    );
    const delivered = sim.deliveries();
    for (const id of [...good, ...lock]) expect(delivered.get(id)).toBe(1);
    for (const id of perm) expect(delivered.get(id)).toBeUndefined();
    const lockStatus = await waitFor(
      async () => {
        const status = await producer.getTrigger(byId.get(lock[0] as string) ?? '');
        return status?.state === 'succeeded' ? status : undefined;
      },
      { message: 'the locked trigger recorded as succeeded' },
    );
    expect(lockStatus).toMatchObject({ attempts: 3 });

    // Listed across partitions, oldest first.
    const letters = await producer.deadLetters.list();
    expect(letters.map((l) => l.input.IndividualId).sort()).toEqual([...perm].sort());
    const times = letters.map((l) => l.deadAt);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(await producer.deadLetters.get(byId.get(perm[0] as string) ?? '')).toMatchObject({
      error: { code: 'UNKNOWN_EXCEPTION' },
    });

    sim.configure({ inputFaults: [] });
    expect(await producer.deadLetters.replay({ flow: 'Welcome_SMS' })).toBe(12);
    await waitFor(() => sim.stats().deliveries.unique === 78, {
      message: 'replayed triggers delivered',
    });
    expect(await producer.deadLetters.count()).toBe(0);
    for (const id of perm) {
      await waitFor(
        async () => (await producer.getTrigger(byId.get(id) ?? ''))?.state === 'succeeded',
        {
          message: `replayed trigger ${id} succeeded under its original id`,
        },
      );
    }
  });

  it('drops repeated idempotency keys in every partition, and a retried split write stores nothing twice', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `signup-${i}`);
    const people = ids('idem', 30);
    const first = await producer.triggerMany(
      'Welcome_SMS',
      people.map((IndividualId) => ({ IndividualId })),
      { keys },
    );
    expect(new Set(first.map((r) => parseTriggerId(r.id)?.partition))).toEqual(new Set([0, 1, 2]));
    expect(first.every((r) => !r.duplicate)).toBe(true);
    // The same keys again, one by one and all together: every one a duplicate, with its first id.
    const again = await producer.trigger(
      'Welcome_SMS',
      { IndividualId: people[7] as string },
      { key: keys[7] as string },
    );
    expect(again).toEqual({ id: first[7]?.id, key: keys[7], duplicate: true });
    const batch = await producer.triggerMany(
      'Welcome_SMS',
      [...people, ids('idem', 1, 30)[0] as string].map((IndividualId) => ({ IndividualId })),
      { keys: [...keys, 'signup-new'] },
    );
    expect(batch.slice(0, 30)).toEqual(first.map((r) => ({ ...r, duplicate: true })));
    expect(batch[30]?.duplicate).toBe(false);

    await worker();
    await waitFor(() => sim.stats().deliveries.unique === 31, { message: '31 deliveries' });
    await waitFor(
      async () => (await producer.getTrigger(first[0]?.id ?? ''))?.state === 'succeeded',
      {
        message: 'first trigger succeeded',
      },
    );
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });

  it('group-commits ingest requests with keys per partition, answers each after its write, and delivers each once', async () => {
    const server = await startIngest(
      ingestEnv(cluster.url, prefix, {
        QUEUE_PARTITIONS: String(PARTITIONS),
        INGEST_LINGER_MS: '5',
      }),
    );
    cleanup.push(() => server.close());
    const client = new IngestClient(server.url, undefined, 20);
    cleanup.push(() => client.close());
    const people = ids('ingest', 600);

    let next = 0;
    const accepted: { id: string; key: string }[] = [];
    const loop = async () => {
      while (next < people.length) {
        const IndividualId = people[next++] as string;
        const answer = await client.trigger('Welcome_SMS', {
          input: { IndividualId },
          key: `in-${IndividualId}`,
        });
        expect(answer.status).toBe(202);
        accepted.push(answer.json.accepted[0]);
      }
    };
    await Promise.all(Array.from({ length: 20 }, loop));
    // One request whose keys fall in every partition: split by partition, all accepted, in order.
    const multi = ids('multi', 12).map((IndividualId) => ({
      input: { IndividualId },
      key: `m-${IndividualId}`,
    }));
    const answer = await client.trigger('Welcome_SMS', ...multi);
    expect(answer.status).toBe(202);
    expect(answer.json.accepted.map((a: { key: string }) => a.key)).toEqual(
      multi.map((m) => m.key),
    );
    expect(
      new Set(answer.json.accepted.map((a: { id: string }) => parseTriggerId(a.id)?.partition))
        .size,
    ).toBe(3);

    for (const { id, key } of accepted) {
      expect(parseTriggerId(id)?.partition).toBe(partitionOfKey('Welcome_SMS', key, PARTITIONS));
    }
    const chunks = new Set(accepted.map((a) => parseTriggerId(a.id)?.chunkId));
    expect(chunks.size).toBeLessThan(accepted.length / 2);
    // A retry of the same request stores nothing.
    const retry = await client.trigger('Welcome_SMS', ...multi);
    expect(retry.status).toBe(202);
    expect(retry.json.accepted).toEqual(
      answer.json.accepted.map((a: { id: string; key: string }) => ({
        id: a.id,
        key: a.key,
        duplicate: true,
      })),
    );

    await worker();
    await waitFor(() => sim.stats().deliveries.unique === 612, {
      message: '612 deliveries',
      timeoutMs: 60_000,
    });
    const status = await waitFor(
      async () => {
        const read = await client.get(`/v1/triggers/${answer.json.accepted[5].id}`);
        return read.json?.state === 'succeeded' ? read : undefined;
      },
      { message: 'status over HTTP' },
    );
    expect(status.status).toBe(200);
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });

  it('runs a worker process and the operator commands over every partition', async () => {
    const workerProcess = await startWorkerProcess(env());
    cleanup.push(async () => {
      workerProcess.child.kill('SIGTERM');
      await workerProcess.exited;
    });
    const paused = await runCli(['pause', 'Welcome_SMS', '--json'], env());
    expect(paused.code).toBe(0);
    await producer.triggerMany(
      'Welcome_SMS',
      ids('proc', 2_000).map((IndividualId) => ({ IndividualId })),
    );
    const stats = await runCli(['stats', '--json'], env());
    expect(stats.code).toBe(0);
    const snapshot = JSON.parse(stats.stdout);
    expect(snapshot.backlog.triggers).toBe(2_000);
    expect(snapshot.pausedFlows).toEqual(['Welcome_SMS']);
    expect(sim.stats().deliveries.unique).toBe(0);

    expect((await runCli(['resume', 'Welcome_SMS'], env())).code).toBe(0);
    const drained = await runCli(['drain', '--timeout', '90s', '--json'], env());
    expect(drained.code).toBe(0);
    expect(sim.stats().deliveries).toMatchObject({ unique: 2_000, duplicates: 0 });
  });

  it('consumes only the partitions a worker is given (WORKER_PARTITIONS)', async () => {
    const receipts = await producer.triggerMany(
      'Welcome_SMS',
      ids('subset', 3_000).map((IndividualId) => ({ IndividualId })),
    );
    const inPartition = (p: number) =>
      receipts.filter((r) => parseTriggerId(r.id)?.partition === p).length;
    expect(inPartition(1)).toBe(1_000);

    const first = await worker({ WORKER_PARTITIONS: '0,2' });
    expect(first.dispatcher.partitions).toEqual([0, 2]);
    await waitFor(() => sim.stats().deliveries.unique === 2_000, {
      message: 'partitions 0 and 2 delivered',
    });
    const keys = new RedisKeys(prefix, PARTITIONS);
    expect(await producer.redis.hget(keys.forPartition(1).pending, 'Welcome_SMS')).toBe('1000');

    await worker({ WORKER_PARTITIONS: '1' });
    await waitFor(() => sim.stats().deliveries.unique === 3_000, {
      message: 'partition 1 delivered',
    });
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });

  it('refuses to start a worker whose QUEUE_PARTITIONS would leave triggers behind', async () => {
    const first = await worker({ WORKER_PARTITIONS: '0' });
    await first.close();
    await producer.triggerMany(
      'Welcome_SMS',
      ids('layout', 3_000).map((IndividualId) => ({ IndividualId })),
    );
    const refused = await runCli(['worker'], env({ QUEUE_PARTITIONS: '2' }));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /QUEUE_PARTITIONS: the fleet ran with 3 partitions and \d+ trigger\(s\) pending/,
    );
    expect(sim.stats().deliveries.unique).toBe(0);
  });
});
