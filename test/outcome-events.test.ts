import { fileURLToPath } from 'node:url';
import { Producer } from '@flow-dispatcher/producer';
import { alwaysAvailableInputs, type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { type RedisClusterProcess, startRedisCluster } from '@flow-dispatcher/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from './support/cli-process.js';
import {
  fleetEnv,
  metricSample,
  startInProcessWorker,
  startWorkerProcess,
  workerMetrics,
} from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/**
 * Outcome events (README "Outcome events"): every settled trigger appends one event, in the script
 * that writes its outcome record, and a backend reads them with a consumer group
 * (`producer.outcomes()`). Here 50,000 triggers, 1 % of them poisoned (an input the flow does not
 * declare: the simulator refuses it, INVALID_INPUT, dead at once), go through two worker processes
 * while a consumer process reads the events; it is SIGKILLed mid-stream, holding one handled
 * event unacknowledged, and a second consumer takes over. Evidence: the simulator's deliveries,
 * the receipts, the consumers' output, and the group's pending entries in Redis.
 */

const CONSUMER = fileURLToPath(new URL('./support/outcome-consumer.mjs', import.meta.url));
const TOTAL = 50_000;
const DEAD_EVERY = 100; // 1 %: 500 dead
const HOLD_AFTER = 20_000;
const FLOW = 'Welcome_SMS';

interface Line {
  e: string;
  p: number;
  id: string;
  key: string | null;
  flow: string;
  outcome: string;
  code: string | null;
  attempts: number;
  output: Record<string, unknown> | null;
}

function startConsumer(env: Record<string, string>): CliProcess {
  // CliProcess runs `node <bin> …args`: the consumer script is the bin.
  return new CliProcess([], env, CONSUMER);
}

const events = (consumer: CliProcess): Line[] =>
  consumer.lines.filter((line) => line.startsWith('{"e":')).map((line) => JSON.parse(line) as Line);

describe('outcome events', () => {
  let sim: Simulator;
  let prefix: string;
  let producer: Producer;
  let redis: Redis;
  const processes: CliProcess[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('outcome-events');
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 5 },
      flows: { [FLOW]: { label: 'Welcome SMS', inputs: [...alwaysAvailableInputs] } },
    });
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
    redis = new Redis(TEST_REDIS_URL);
  });

  afterEach(async () => {
    await Promise.all(processes.splice(0).map((child) => child.kill('SIGKILL')));
    await producer.close();
    redis.disconnect();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('a consumer group sees each outcome once across a consumer killed mid-stream', async () => {
    const group = 'crm';
    const consumerEnv = {
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      GROUP: group,
      MIN_IDLE_MS: '2000',
    };
    const first = startConsumer({ ...consumerEnv, CONSUMER: 'a', HOLD_AFTER: String(HOLD_AFTER) });
    processes.push(first);
    await first.waitForLine(/"started"/);

    const env = fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url });
    const workers = [await startWorkerProcess(env), await startWorkerProcess(env)];
    processes.push(...workers);

    const individual = (i: number) => `0PKev${String(i).padStart(10, '0')}`;
    const inputs = Array.from({ length: TOTAL }, (_, i) =>
      i % DEAD_EVERY === 0
        ? { IndividualId: individual(i), Not_An_Input: 'x' } // refused: INVALID_INPUT, dead
        : { IndividualId: individual(i) },
    );
    // Every 50th trigger has an idempotency key: its event carries it.
    const keys = inputs.map((_, i) => (i % 50 === 1 ? `key-${i}` : null));
    const receipts = await producer.triggerMany(FLOW, inputs, { keys });
    const indexOf = new Map(receipts.map((receipt, i) => [receipt.id, i]));
    expect(indexOf.size).toBe(TOTAL);

    // The first consumer handles HOLD_AFTER events, then stops without asking for the next.
    await first.waitForLine(/"held"/, 180_000);
    const seenFirst = events(first);
    expect(seenFirst).toHaveLength(HOLD_AFTER);
    const held = seenFirst[seenFirst.length - 1] as Line;
    // Its events: every one handled but the last was acknowledged; the last (and any it had read
    // but not handled yet) are pending on consumer a.
    const pendingOfA = (await redis.xpending(
      producer.keys.outcomeEvents,
      group,
      '-',
      '+',
      1_000,
      'a',
    )) as [string, string, number, number][];
    const pendingIds = pendingOfA.map(([id]) => id);
    expect(pendingIds).toContain(held.e);
    for (const line of seenFirst.slice(0, -1)) expect(pendingIds).not.toContain(line.e);
    await first.kill('SIGKILL');

    // The second consumer claims a's pending events after MIN_IDLE_MS, then reads on.
    const second = startConsumer({ ...consumerEnv, CONSUMER: 'b' });
    processes.push(second);
    const expectedSecond = TOTAL - HOLD_AFTER + 1;
    await waitFor(() => events(second).length >= expectedSecond, {
      timeoutMs: 240_000,
      message: `${expectedSecond} events handled by the second consumer`,
    });
    // Everything handled is acknowledged: the group holds no pending entry.
    await waitFor(
      async () => {
        const summary = (await redis.xpending(producer.keys.outcomeEvents, group)) as [number];
        return summary[0] === 0;
      },
      { message: 'no pending entry left in the group' },
    );
    const seenSecond = events(second);
    expect(seenSecond).toHaveLength(expectedSecond);

    // Acknowledged events are not delivered again; the unacknowledged one is, exactly.
    const firstIds = new Set(seenFirst.map((line) => line.e));
    const again = seenSecond.filter((line) => firstIds.has(line.e));
    expect(again.map((line) => line.e)).toEqual([held.e]);

    // Each trigger's outcome seen once (the redelivered event counted once).
    const all = [...seenFirst, ...seenSecond.filter((line) => line.e !== held.e)];
    expect(all).toHaveLength(TOTAL);
    expect(new Set(all.map((line) => line.id)).size).toBe(TOTAL);
    expect(await redis.xlen(producer.keys.outcomeEvents)).toBe(TOTAL);

    // Outcomes match the simulator's record: the succeeded ones are the inputs it accepted (once
    // each), the dead ones the poisoned inputs, refused with INVALID_INPUT.
    const delivered = sim.deliveries();
    let succeeded = 0;
    let dead = 0;
    for (const line of all) {
      const i = indexOf.get(line.id);
      expect(i, line.id).toBeDefined();
      const index = i as number;
      expect(line.flow).toBe(FLOW);
      expect(line.key).toBe(keys[index]);
      if (index % DEAD_EVERY === 0) {
        dead++;
        expect(line).toMatchObject({ outcome: 'dead', code: 'INVALID_INPUT', output: null });
        expect(delivered.has(individual(index))).toBe(false);
      } else {
        succeeded++;
        expect(line.outcome).toBe('succeeded');
        expect(line.code).toBeNull();
        expect(line.output?.Flow__InterviewGuid).toMatch(/^[0-9a-f]{38}-[0-9a-f]{4}$/);
        expect(delivered.get(individual(index))).toBe(1);
      }
    }
    expect(dead).toBe(TOTAL / DEAD_EVERY);
    expect(succeeded).toBe(TOTAL - TOTAL / DEAD_EVERY);
    expect(delivered.size).toBe(succeeded);
    expect(await producer.deadLetters.count()).toBe(dead);

    // /metrics: the stream's length, and the group neither lagging nor holding unacknowledged events.
    await waitFor(
      async () => {
        const text = await workerMetrics(workers[0] as CliProcess);
        return (
          metricSample(text, 'flow_dispatcher_outcome_events') === TOTAL &&
          metricSample(text, 'flow_dispatcher_outcome_events_lag', { group }) === 0 &&
          metricSample(text, 'flow_dispatcher_outcome_events_pending', { group }) === 0
        );
      },
      { message: 'outcome event gauges: 50,000 kept, group crm at lag 0 and 0 pending' },
    );
  }, 420_000);
});

describe('flow-dispatcher events', () => {
  let sim: Simulator;
  let prefix: string;
  let producer: Producer;
  const processes: CliProcess[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('outcome-events-cli');
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 5 },
      flows: { [FLOW]: { label: 'Welcome SMS', inputs: [...alwaysAvailableInputs] } },
    });
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
  });

  afterEach(async () => {
    await Promise.all(processes.splice(0).map((child) => child.kill('SIGKILL')));
    await producer.close();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('prints the last events, follows new ones, and reads as a group consumer', async () => {
    const env = fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url });
    const parse = (text: string) =>
      text
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { id: string; outcome: string; code: string | null });
    const follow = new CliProcess(['events', '--follow', '--from-start', '--json'], env);
    const group = new CliProcess(['events', '--group', 'ops', '--consumer', 'c1', '--json'], env);
    processes.push(follow, group);
    // The group consumer reads once its group exists (it starts at `now`, created on its first
    // read); the follower reads from the start, whenever it gets there.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await waitFor(async () => {
        try {
          return ((await redis.xinfo('GROUPS', producer.keys.outcomeEvents)) as unknown[]).length;
        } catch {
          return 0;
        }
      });
    } finally {
      redis.disconnect();
    }
    processes.push(await startWorkerProcess(env));
    const inputs = Array.from({ length: 20 }, (_, i) =>
      i < 2 ? { IndividualId: `0PKcli${i}`, Not_An_Input: 'x' } : { IndividualId: `0PKcli${i}` },
    );
    const receipts = await producer.triggerMany(FLOW, inputs);
    const expected = new Map(receipts.map((r, i) => [r.id, i < 2 ? 'dead' : 'succeeded']));
    const outcomes = (lines: { id: string; outcome: string }[]) =>
      new Map(lines.map((line) => [line.id, line.outcome]));
    await waitFor(() => parse(follow.output).length >= 20, { message: '20 followed events' });
    await waitFor(() => parse(group.output).length >= 20, { message: '20 group events' });
    expect(outcomes(parse(follow.output))).toEqual(expected);
    expect(outcomes(parse(group.output))).toEqual(expected);
    expect(
      parse(group.output)
        .filter((e) => e.outcome === 'dead')
        .map((e) => e.code),
    ).toEqual(['INVALID_INPUT', 'INVALID_INPUT']);

    // Without --follow: the last --limit events, one line each; text lines carry no key or output.
    const last = await runCli(['events', '--limit', '5', '--json'], env);
    expect(last.code).toBe(0);
    expect(parse(last.stdout)).toHaveLength(5);
    const text = await runCli(['events', '--limit', '100', '--flow', FLOW], env);
    expect(text.code).toBe(0);
    const textLines = text.stdout.split('\n').filter(Boolean);
    expect(textLines).toHaveLength(20);
    expect(
      textLines.filter((line) => / dead +Welcome_SMS .* INVALID_INPUT$/.test(line)),
    ).toHaveLength(2);

    // SIGINT stops a follower cleanly (exit 0).
    await follow.kill('SIGINT');
    expect((await follow.exited).code).toBe(0);
  }, 120_000);
});

describe('OUTCOME_EVENTS=all', () => {
  it('also appends an event per retry, and off appends none', async () => {
    const sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 5 },
      flows: { [FLOW]: { label: 'Welcome SMS', inputs: [...alwaysAvailableInputs] } },
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: '0PKlock' },
          error: { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access' },
          times: 1,
        },
      ],
    });
    const run = async (mode: string) => {
      const prefix = uniquePrefix(`events-${mode}`);
      const producer = new Producer({ redis: TEST_REDIS_URL, prefix });
      const worker = await startInProcessWorker(
        fleetEnv({
          redisUrl: TEST_REDIS_URL,
          prefix,
          simulatorUrl: sim.url,
          extra: { OUTCOME_EVENTS: mode },
        }),
      );
      try {
        const inputs = Array.from({ length: 40 }, (_, i) => ({
          IndividualId: i < 4 ? `0PKlock${mode}${i}` : `0PKok${mode}${i}`,
        }));
        await producer.triggerMany(FLOW, inputs);
        await waitFor(
          async () => Number(await producer.redis.hget(producer.keys.pending, FLOW)) === 0,
          {
            message: 'every trigger settled',
          },
        );
        const events = await producer.recentOutcomes(1_000);
        return { events, length: await producer.redis.xlen(producer.keys.outcomeEvents) };
      } finally {
        await worker.close();
        await producer.close();
        await deletePrefix(TEST_REDIS_URL, prefix);
      }
    };
    try {
      const all = await run('all');
      const retried = all.events.filter((e) => e.outcome === 'retried');
      expect(retried).toHaveLength(4);
      expect(new Set(retried.map((e) => e.code))).toEqual(new Set(['UNABLE_TO_LOCK_ROW']));
      expect(all.events.filter((e) => e.outcome === 'succeeded')).toHaveLength(40);
      // Each retried trigger's success comes after its retry.
      for (const retry of retried) {
        const done = all.events.find((e) => e.id === retry.id && e.outcome === 'succeeded');
        const order = (id: string) => id.split('-').map(BigInt) as [bigint, bigint];
        const [doneMs, doneSeq] = order(done?.eventId ?? '0-0');
        const [retryMs, retrySeq] = order(retry.eventId);
        expect(doneMs > retryMs || (doneMs === retryMs && doneSeq > retrySeq)).toBe(true);
      }
      expect(all.length).toBe(44);
      const off = await run('off');
      expect(off.length).toBe(0);
    } finally {
      await sim.close();
    }
  }, 120_000);
});

describe('outcome events on a 3-master Redis Cluster with 3 queue partitions', () => {
  let cluster: RedisClusterProcess;
  let sim: Simulator;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 5 },
      flows: { [FLOW]: { label: 'Welcome SMS', inputs: [...alwaysAvailableInputs] } },
    });
  });

  afterAll(async () => {
    await sim?.close();
    await cluster?.stop();
  });

  it('appends each event on its partition node and reads every partition with a group', async () => {
    const prefix = uniquePrefix('events-cluster');
    const producer = new Producer({ redis: cluster.url, prefix, partitions: 3 });
    const worker = await startInProcessWorker(
      fleetEnv({
        redisUrl: cluster.url,
        prefix,
        simulatorUrl: sim.url,
        extra: { QUEUE_PARTITIONS: '3' },
      }),
    );
    const controller = new AbortController();
    try {
      const reader = producer.outcomes({
        group: 'g',
        consumer: 'c',
        from: 'start',
        blockMs: 200,
        signal: controller.signal,
      });
      const seen: { id: string; outcome: string; partition: number }[] = [];
      const reading = (async () => {
        for await (const event of reader) {
          seen.push(event);
          if (seen.length === 300) break;
        }
      })();
      const inputs = Array.from({ length: 300 }, (_, i) =>
        i % 30 === 0
          ? { IndividualId: `0PKcl${i}`, Not_An_Input: 'x' }
          : { IndividualId: `0PKcl${i}` },
      );
      // Keyed: the keys spread the triggers over the three partitions.
      const receipts = await producer.triggerMany(FLOW, inputs, {
        keys: inputs.map((_, i) => `k${i}`),
      });
      await reading;
      expect(new Set(seen.map((e) => e.id))).toEqual(new Set(receipts.map((r) => r.id)));
      expect(new Set(seen.map((e) => e.partition))).toEqual(new Set([0, 1, 2]));
      expect(seen.filter((e) => e.outcome === 'dead')).toHaveLength(10);
      const lengths = await Promise.all(
        [0, 1, 2].map((p) => producer.redis.xlen(producer.keys.forPartition(p).outcomeEvents)),
      );
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(300);
      // The loop broke on the 300th event: it alone is left unacknowledged.
      const pending = await Promise.all(
        [0, 1, 2].map(
          async (p) =>
            (
              (await producer.redis.xpending(producer.keys.forPartition(p).outcomeEvents, 'g')) as [
                number,
              ]
            )[0],
        ),
      );
      expect(pending.reduce((a, b) => a + b, 0)).toBe(1);
    } finally {
      controller.abort();
      await worker.close();
      await producer.close();
    }
  }, 120_000);
});
