import { FlowControl, Producer } from '@flow-dispatcher/producer';
import {
  connectRedis,
  type FlowPace,
  type PaceBucket,
  paceCallCap,
  paceCapacity,
  type RedisConnection,
  RedisKeys,
  refill,
  takeTokens,
} from '@flow-dispatcher/shared';
import type { RecordedCall } from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { paceTokens } from '../packages/worker/dist/pace-scripts.js';
import { runCli } from './support/cli-process.js';
import { type SimulatorView, startSimulatorProcess, WorkerFleet } from './support/faults.js';
import { fleetEnv, metricSample, workerMetrics } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { sleep, waitFor } from './support/wait.js';

/**
 * Per-flow pacing (README "Pacing a flow"), on real processes: the simulator in a process of its
 * own (its record of calls is the evidence), two `flow-dispatcher worker` processes, the CLI.
 */

const PACED = 'Welcome_SMS';
const FREE = 'Order_Confirmation_Email';
/** SF_MAX_INPUTS_PER_CALL of the workers (the default). */
const MAX_INPUTS = 200;
const PACE_6000_PER_MIN: FlowPace = { perSecond: 100, windowMs: 1_000 };

const inputsOf = (calls: RecordedCall[]) => calls.reduce((n, call) => n + call.inputs, 0);
const between = (calls: RecordedCall[], flow: string, from: number, to: number) =>
  calls.filter((call) => call.flow === flow && call.startedAt >= from && call.startedAt < to);

describe('per-flow pacing: 2 worker processes, the simulator in its own process', () => {
  let prefix: string;
  let sim: SimulatorView | undefined;
  let fleet: WorkerFleet | undefined;
  let producer: Producer;
  let control: FlowControl;
  let cliEnv: Record<string, string>;

  beforeEach(async () => {
    prefix = uniquePrefix('pacing');
    cliEnv = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix };
    sim = await startSimulatorProcess({ latency: { kind: 'uniform', minMs: 30, maxMs: 80 } });
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
    control = new FlowControl(producer.redis, producer.keys);
  });

  afterEach(async () => {
    await fleet?.killAll();
    fleet = undefined;
    await control.close();
    await producer.close();
    await sim?.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  const enqueue = async (flow: string, count: number) => {
    for (let i = 0; i < count; i += 1_000) {
      await producer.triggerMany(
        flow,
        Array.from({ length: Math.min(1_000, count - i) }, (_, k) => ({
          IndividualId: `${flow}-${i + k}`,
        })),
      );
    }
  };

  const startWorkers = async () => {
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: (sim as SimulatorView).url,
        extra: { SF_MAX_INPUTS_PER_CALL: String(MAX_INPUTS) },
      }),
    );
    await fleet.start(2);
    return fleet;
  };

  const firstCallOf = (flow: string) =>
    waitFor(async () => (await (sim as SimulatorView).calls()).find((call) => call.flow === flow), {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: `a first call of ${flow}`,
    });

  it('paced at 6,000/min, a flow gets 100 inputs/s ±5 % over 30 s while another drains at full speed', async () => {
    const paced = await control.pace(PACED, { perMinute: 6_000 });
    expect(paced.pace).toEqual(PACE_6000_PER_MIN);
    await enqueue(PACED, 6_000); // 60 s of backlog at the pace
    await enqueue(FREE, 10_000);
    const workers = await startWorkers();

    const first = await firstCallOf(PACED);
    await waitFor(() => Date.now() > first.startedAt + 31_000, {
      timeoutMs: 40_000,
      intervalMs: 250,
      message: '30 s of the paced flow',
    });
    const calls = await (sim as SimulatorView).calls();

    // 30 s from the paced flow's first call: 3,000 inputs ±5 %.
    const window = between(calls, PACED, first.startedAt, first.startedAt + 30_000);
    const sent = inputsOf(window);
    console.log(
      `paced flow: ${sent} inputs in ${window.length} calls over 30 s (${(sent / 30).toFixed(1)}/s)`,
    );
    expect(sent).toBeGreaterThanOrEqual(2_850);
    expect(sent).toBeLessThanOrEqual(3_150);
    // Never faster than the pace allows: in any span of T s, rate × T + one window's worth (plus
    // one call in transit: the simulator stamps a call on arrival, the bucket when it was granted).
    const cap = paceCallCap(PACE_6000_PER_MIN);
    for (const call of window) {
      const span = between(calls, PACED, first.startedAt, call.startedAt + 1);
      const elapsed = (call.startedAt - first.startedAt) / 1_000;
      expect(inputsOf(span)).toBeLessThanOrEqual(
        100 * elapsed + paceCapacity(PACE_6000_PER_MIN) + cap,
      );
    }
    // Calls still fill: each carries the pace's call cap (half a second of it), none more.
    expect(Math.max(...window.map((call) => call.inputs))).toBe(cap);
    expect(window.filter((call) => call.inputs === cap).length).toBeGreaterThanOrEqual(
      window.length * 0.9,
    );
    expect(window.every((call) => call.status === 200)).toBe(true);

    // The other flow went at full speed meanwhile: full calls, its 10,000 within 10 s (10× the pace).
    const free = calls.filter((call) => call.flow === FREE);
    expect(inputsOf(free)).toBe(10_000);
    const freeFirst = Math.min(...free.map((call) => call.startedAt));
    const freeLast = Math.max(...free.map((call) => call.endedAt ?? Number.POSITIVE_INFINITY));
    console.log(`unpaced flow: 10,000 inputs in ${freeLast - freeFirst} ms`);
    expect(freeLast - freeFirst).toBeLessThan(10_000);
    expect(free.filter((call) => call.inputs === MAX_INPUTS).length).toBeGreaterThanOrEqual(45);

    // The pace is shown: /metrics of each worker, `stats --json`, `flows --json`.
    for (const worker of workers.live) {
      const text = await workerMetrics(worker);
      expect(metricSample(text, 'flow_dispatcher_flow_pace_per_second', { flow: PACED })).toBe(100);
      expect(
        metricSample(text, 'flow_dispatcher_flow_pace_per_second', { flow: FREE }),
      ).toBeUndefined();
    }
    const stats = await runCli(['stats', '--json'], cliEnv);
    expect(stats.code).toBe(0);
    const snapshot = JSON.parse(stats.stdout) as {
      flows: { flow: string; pace: FlowPace | null }[];
    };
    expect(snapshot.flows.find((f) => f.flow === PACED)?.pace).toEqual(PACE_6000_PER_MIN);
    expect(snapshot.flows.find((f) => f.flow === FREE)?.pace).toBeNull();
    const flows = await runCli(['flows'], cliEnv);
    expect(flows.stdout).toMatch(new RegExp(`${PACED} .* 100/s`));
  }, 150_000);

  it('a new pace, then `off`, takes effect within 3 s on every worker', async () => {
    expect((await runCli(['pace', PACED, '6000/min'], cliEnv)).code).toBe(0);
    await enqueue(PACED, 8_000);
    const workers = await startWorkers();
    const first = await firstCallOf(PACED);
    await waitFor(() => Date.now() > first.startedAt + 4_000, { intervalMs: 100 });

    // 1,200/min: 20/s.
    const slower = await runCli(['pace', PACED, '1200/min'], cliEnv);
    expect(slower.code).toBe(0);
    expect(slower.stdout).toContain(`paced ${PACED} fleet-wide at 20/s`);
    const changedAt = Date.now();
    await sleep(13_500);
    let calls = await (sim as SimulatorView).calls();
    const slow = between(calls, PACED, changedAt + 3_000, changedAt + 13_000);
    const slowPace: FlowPace = { perSecond: 20, windowMs: 1_000 };
    console.log(`after 1200/min: ${inputsOf(slow)} inputs in 10 s`);
    expect(inputsOf(slow)).toBeLessThanOrEqual(200 + paceCapacity(slowPace));
    expect(inputsOf(slow)).toBeGreaterThanOrEqual(200 - 2 * paceCapacity(slowPace));
    expect(Math.max(...slow.map((call) => call.inputs))).toBe(paceCallCap(slowPace));
    for (const worker of workers.live) {
      expect(
        metricSample(await workerMetrics(worker), 'flow_dispatcher_flow_pace_per_second', {
          flow: PACED,
        }),
      ).toBe(20);
    }

    // off: full calls again within 3 s, and the backlog drains.
    const off = await runCli(['pace', PACED, '--off'], cliEnv);
    expect(off.code).toBe(0);
    expect(off.stdout).toContain(`${PACED} is no longer paced`);
    const offAt = Date.now();
    await waitFor(
      async () =>
        inputsOf((await (sim as SimulatorView).calls()).filter((c) => c.flow === PACED)) >= 8_000,
      { timeoutMs: 30_000, intervalMs: 200, message: 'the backlog drained' },
    );
    calls = await (sim as SimulatorView).calls();
    // The rest (thousands: minutes at 20/s) went in full calls, within seconds.
    const after = between(calls, PACED, offAt, Number.POSITIVE_INFINITY);
    // (the last call's arrival: the simulator counts a call's inputs on arrival)
    const drainedIn = Math.max(...after.map((call) => call.startedAt)) - offAt;
    console.log(`after off: ${inputsOf(after)} inputs in ${after.length} calls, ${drainedIn} ms`);
    expect(inputsOf(after)).toBeGreaterThan(5_000);
    expect(drainedIn).toBeLessThan(15_000);
    expect(Math.max(...after.map((call) => call.inputs))).toBe(MAX_INPUTS);
    expect(
      between(calls, PACED, offAt + 3_000, Number.POSITIVE_INFINITY).every(
        (call) => call.inputs > paceCallCap(slowPace) || call === after.at(-1),
      ),
    ).toBe(true);
    expect(inputsOf(calls.filter((call) => call.flow === PACED))).toBe(8_000);
    await waitFor(
      async () => {
        for (const worker of workers.live) {
          const text = await workerMetrics(worker);
          if (
            metricSample(text, 'flow_dispatcher_flow_pace_per_second', { flow: PACED }) !==
            undefined
          )
            return false;
        }
        return true;
      },
      { timeoutMs: 3_000, message: 'the pace gone from /metrics' },
    );
    const stats = JSON.parse((await runCli(['stats', '--json'], cliEnv)).stdout) as {
      flows: { flow: string; pace: FlowPace | null }[];
    };
    expect(stats.flows.find((f) => f.flow === PACED)?.pace).toBeNull();
  }, 150_000);
});

describe('the bucket script does what the bucket math says', () => {
  let redis: RedisConnection;
  let keys: RedisKeys;

  beforeEach(() => {
    redis = connectRedis(TEST_REDIS_URL);
    keys = new RedisKeys(uniquePrefix('pace-script'));
  });

  afterEach(async () => {
    await deletePrefix(TEST_REDIS_URL, keys.prefix);
    redis.disconnect();
  });

  it('grants, refuses with the wait, returns, and answers -1 for a flow not paced', async () => {
    const pace: FlowPace = { perSecond: 100, windowMs: 1_000 };
    const script = (mode: 'peek' | 'take' | 'return', n: number) =>
      paceTokens.run(
        redis,
        { paces: keys.paces, bucket: keys.paceBucket('F') },
        { flow: 'F', mode, n, ttlMs: 60_000 },
      );
    const bucket = async (): Promise<PaceBucket> => {
      const [tokens, at] = await redis.hmget(keys.paceBucket('F'), 'tokens', 'at');
      return { tokens: Number(tokens), at: Number(at) };
    };

    expect(await script('take', 10)).toEqual({ granted: -1, waitMs: 0 });
    await redis.hset(keys.paces, 'F', JSON.stringify(pace));

    // A new bucket is empty: 50 tokens (the call cap) are half a second away.
    expect(await script('take', 200)).toEqual({ granted: 0, waitMs: 500 });
    let before = await bucket();
    expect(before.tokens).toBe(0);
    expect(await redis.pttl(keys.paceBucket('F'))).toBeGreaterThan(59_000);

    for (const [pauseMs, want] of [
      [150, 200],
      [400, 30],
      [100, 200],
      [700, 200],
      [1_500, 200],
    ] as const) {
      await sleep(pauseMs);
      const reply = await script('take', want);
      const after = await bucket();
      const expected = takeTokens(before, pace, want, after.at);
      expect(reply).toEqual({ granted: expected.granted, waitMs: expected.waitMs });
      expect(after.tokens).toBeCloseTo(expected.bucket.tokens, 6);
      before = after;
    }

    // peek: the wait `take` would answer, taking nothing.
    const peeked = await script('peek', 200);
    const peekedBucket = await bucket();
    const wouldTake = takeTokens(before, pace, 200, peekedBucket.at);
    expect(peeked).toEqual({ granted: 0, waitMs: wouldTake.waitMs });
    expect(peekedBucket.tokens).toBeCloseTo(refill(before, pace, peekedBucket.at).tokens, 6);
    before = peekedBucket;

    await script('return', 20);
    const returned = await bucket();
    expect(returned.tokens).toBeLessThanOrEqual(paceCapacity(pace));
    expect(returned.tokens).toBeGreaterThanOrEqual(
      Math.min(paceCapacity(pace), before.tokens + 20),
    );
  });
});
