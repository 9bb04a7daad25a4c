import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { type RedisClusterProcess, startRedisCluster } from '@flow-dispatcher/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliProcess, runCli } from './support/cli-process.js';
import { recordFigures } from './support/faults.js';
import { fleetEnv, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/**
 * Dead-letter replay and purge run twice at once, as two operators (or a retried script) would:
 * a letter is replayed at most once, a purged letter is never sent, and each call reports what
 * it did itself. A real worker process sends what is replayed to the simulator, whose deliveries
 * say what reached Salesforce. Run on one Redis with two queue partitions and on a 3-master
 * Redis Cluster with three, where every transaction must stay on the node of its partition.
 */

const LETTERS = 1_000;
const ids = (tag: string, count: number) =>
  Array.from({ length: count }, (_, i) => `0PK${tag}${String(i).padStart(15 - tag.length, '0')}`);

const setups = [
  { name: 'one Redis, QUEUE_PARTITIONS=2', partitions: 2, cluster: false },
  { name: 'a 3-master Redis Cluster, QUEUE_PARTITIONS=3', partitions: 3, cluster: true },
];

describe.each(setups)('dead-letter replay and purge racing, on $name', (setup) => {
  let cluster: RedisClusterProcess | undefined;
  let redisUrl: string;
  let sim: Simulator;
  let prefix: string;
  let env: Record<string, string>;
  const producers: Producer[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    if (setup.cluster) cluster = await startRedisCluster({ masters: 3 });
    redisUrl = cluster?.url ?? TEST_REDIS_URL;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  beforeEach(async () => {
    prefix = uniquePrefix('dlq-race');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    env = fleetEnv({
      redisUrl,
      prefix,
      simulatorUrl: sim.url,
      extra: { QUEUE_PARTITIONS: String(setup.partitions) },
    });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    while (producers.length) await producers.pop()?.close();
    await sim.close();
    if (!cluster) await deletePrefix(TEST_REDIS_URL, prefix);
  });

  /** A producer of its own (its own connections), as a second operator's would be. */
  const producer = () => {
    const created = new Producer({ redis: redisUrl, prefix, partitions: setup.partitions });
    producers.push(created);
    return created;
  };

  /**
   * `count` dead letters of Welcome_SMS (the simulator refuses their inputs), then the fault is
   * gone. Each is written between two good triggers of another tag: calls mix failures with
   * successes, as per-trigger faults do (a call whose every input fails alike would be a sender's
   * systematic mistake, and the flow's breaker would hold it instead).
   */
  async function deadLetters(tag: string, count: number): Promise<string[]> {
    const people = ids(tag, count);
    const good = ids(`ok${tag.slice(0, 3)}`, count);
    sim.configure({
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: `0PK${tag}` },
          error: {
            statusCode: 'UNKNOWN_EXCEPTION',
            message: 'An error occurred when executing a flow interview.',
          },
        },
      ],
    });
    const writer = producer();
    await writer.triggerMany(
      'Welcome_SMS',
      people.flatMap((IndividualId, i) => [{ IndividualId }, { IndividualId: good[i] as string }]),
    );
    await waitFor(async () => (await writer.deadLetters.count()) === count, {
      message: `${count} dead letters`,
      timeoutMs: 60_000,
    });
    sim.configure({ inputFaults: [] });
    return people;
  }

  async function worker(): Promise<CliProcess> {
    const started = await startWorkerProcess(env);
    cleanup.push(() => started.kill());
    return started;
  }

  /** Waits until nothing is pending or dead, then answers what the simulator delivered of `people`. */
  async function settled(people: readonly string[]): Promise<Map<string, number>> {
    const reader = producer();
    await waitFor(
      async () => {
        const pending = await Promise.all(
          reader.keys.allPartitions.map((keys) => reader.redis.hget(keys.pending, 'Welcome_SMS')),
        );
        return pending.every((n) => n === null || n === '0');
      },
      { message: 'nothing pending', timeoutMs: 60_000 },
    );
    const deliveries = sim.deliveries();
    return new Map(
      people.flatMap((id) => (deliveries.has(id) ? [[id, deliveries.get(id) ?? 0]] : [])),
    );
  }

  it('two replays of the same 1,000 letters at once deliver each trigger exactly once', async () => {
    await worker();
    const people = await deadLetters('twice', LETTERS);
    expect(people.filter((id) => sim.deliveries().has(id))).toEqual([]);

    // Two operators, each with its own connections, replaying everything at the same moment.
    const [a, b] = await Promise.all([
      producer().deadLetters.replay(),
      producer().deadLetters.replay(),
    ]);
    recordFigures(`dlq-replay-twice (${setup.name})`, { replayedByA: a, replayedByB: b });
    expect(a + b).toBe(LETTERS);

    const delivered = await settled(people);
    expect(delivered.size).toBe(LETTERS);
    expect([...delivered.values()].filter((n) => n !== 1)).toEqual([]);
    expect(sim.stats().deliveries.duplicates).toBe(0);
    expect(await producer().deadLetters.count()).toBe(0);
  });

  it('two `dlq replay` commands at once report counts that sum to what was dead', async () => {
    await worker();
    const people = await deadLetters('cli', LETTERS);
    const [human, json] = await Promise.all([
      runCli(['dlq', 'replay', '--yes'], env),
      runCli(['dlq', 'replay', '--yes', '--json'], env),
    ]);
    expect(human.code, human.stderr).toBe(0);
    expect(json.code, json.stderr).toBe(0);
    const fromHuman = /^replayed ([\d,]+) dead letter\(s\)|^no dead letters match/.exec(
      human.stdout,
    );
    expect(fromHuman, human.stdout).not.toBeNull();
    const byHuman = Number((fromHuman?.[1] ?? '0').replaceAll(',', ''));
    const byJson = (JSON.parse(json.stdout) as { replayed: number }).replayed;
    recordFigures(`dlq-replay-cli (${setup.name})`, { byHuman, byJson });
    expect(byHuman + byJson).toBe(LETTERS);

    const delivered = await settled(people);
    expect(delivered.size).toBe(LETTERS);
    expect([...delivered.values()].filter((n) => n !== 1)).toEqual([]);
  });

  it('a replay racing a purge never sends a purged letter', async () => {
    await worker();
    const people = await deadLetters('purge', LETTERS);
    const [replayed, purged] = await Promise.all([
      producer().deadLetters.replay(),
      producer().deadLetters.purge(),
    ]);
    recordFigures(`dlq-replay-purge (${setup.name})`, { replayed, purged });
    expect(replayed + purged).toBe(LETTERS);

    // What was purged is what the simulator never saw: exactly LETTERS − replayed.
    const delivered = await settled(people);
    expect(delivered.size).toBe(replayed);
    expect([...delivered.values()].filter((n) => n !== 1)).toEqual([]);
    expect(await producer().deadLetters.count()).toBe(0);
  });
});
