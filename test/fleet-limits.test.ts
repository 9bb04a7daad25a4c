import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { freePort, type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliProcess } from './support/cli-process.js';
import { type RecordingProxy, startRecordingProxy } from './support/faults.js';
import { fleetEnv, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { sleep, waitFor } from './support/wait.js';

const inputs = (count: number, tag: string) =>
  Array.from({ length: count }, (_, i) => ({
    IndividualId: `0PK${tag}${String(i).padStart(12, '0')}`,
  }));

/** Calls in flight over time, from the simulator's record: [highest, busy-time-weighted average]. */
function concurrencyProfile(calls: { startedAt: number; endedAt: number | null }[]) {
  const events: [number, number][] = [];
  for (const call of calls) {
    if (call.endedAt === null) continue;
    events.push([call.startedAt, 1], [call.endedAt, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let highest = 0;
  let area = 0;
  let last = events[0]?.[0] ?? 0;
  for (const [at, delta] of events) {
    area += current * (at - last);
    last = at;
    current += delta;
    highest = Math.max(highest, current);
  }
  const span = (events.at(-1)?.[0] ?? 0) - (events[0]?.[0] ?? 0);
  return { highest, average: span > 0 ? area / span : 0 };
}

describe('fleet-wide limits', () => {
  let sim: Simulator;
  let prefix: string;
  let producer: Producer;
  const workers: CliProcess[] = [];
  const proxies: RecordingProxy[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('limits');
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill('SIGKILL')));
    await producer.close();
    await sim?.close();
    await Promise.all(proxies.splice(0).map((p) => p.close()));
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  async function fleet(
    count: number,
    extra: Record<string, string>,
    simulatorUrl = sim.url,
  ): Promise<CliProcess[]> {
    const env = fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl, extra });
    // Registered before they are ready: one that fails to start does not leave the others behind.
    const started = Array.from({ length: count }, () => new CliProcess(['worker'], env));
    workers.push(...started);
    await Promise.all(started.map((worker) => worker.waitForLine(/"msg":"worker ready"/)));
    return started;
  }

  it('keeps three workers under SF_MAX_CONCURRENCY=5 and uses what it allows', async () => {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 200 } });
    await fleet(3, {
      SF_MAX_CONCURRENCY: '5',
      SF_MAX_INPUTS_PER_CALL: '10',
      DISPATCH_LINGER_MS: '0',
    });
    await producer.triggerMany('Welcome_SMS', inputs(1_500, 'cap'));
    await waitFor(() => sim.stats().deliveries.unique === 1_500, {
      message: 'all delivered',
      timeoutMs: 90_000,
    });
    const calls = sim.calls().filter((call) => call.flow === 'Welcome_SMS');
    const { highest, average } = concurrencyProfile(calls);
    expect(sim.stats().concurrency.highest).toBeLessThanOrEqual(5);
    // And it uses what it allows: with a backlog of 150 calls, the fleet reached the cap.
    expect(highest).toBe(5);
    console.info(`cap 5: average calls in flight while busy ${average.toFixed(2)}`);
  });

  it('spends at most SF_DAILY_API_SHARE of the allocation, then only re-reads /limits, and finishes once it grows', async () => {
    // Every request the fleet makes goes through a recording proxy (the simulator's tokens name
    // the proxy as their instance), with its time.
    const proxy = await startRecordingProxy();
    proxies.push(proxy);
    const simPort = await freePort();
    sim = await startSimulator({
      port: simPort,
      publicUrl: proxy.url,
      latency: { kind: 'fixed', ms: 10 },
      dailyLimit: 1_000,
      dailyUsed: 500,
    });
    proxy.target = `http://127.0.0.1:${simPort}`;
    const PROBE_MS = 2_000;
    await fleet(
      2,
      {
        SF_DAILY_API_SHARE: '0.7',
        SF_MAX_INPUTS_PER_CALL: '1',
        SF_MAX_CONCURRENCY: '4',
        DISPATCH_LINGER_MS: '0',
        SF_BUDGET_PROBE_MS: String(PROBE_MS),
      },
      proxy.url,
    );
    await producer.triggerMany('Welcome_SMS', inputs(300, 'bud'));
    const api = () =>
      proxy.requests
        .filter((r) => r.path.startsWith('/services/data/'))
        .sort((a, b) => a.at - b.at);
    const isFlowCall = (r: { method: string }) => r.method === 'POST';
    // The fleet is waiting: three re-reads of /limits after the last flow call so far (what a
    // fleet that went on calling would have done by then, it would have shown).
    const waited = await waitFor(
      () => {
        const requests = api();
        const last = requests.findLastIndex(isFlowCall);
        const after = requests.slice(last + 1);
        return last >= 0 && after.length >= 3 ? { requests, last, after } : undefined;
      },
      { message: 'the budget spent and /limits re-read three times', timeoutMs: 90_000 },
    );
    const { requests, last, after } = waited;
    const flowCalls = requests.filter(isFlowCall);
    const delivered = sim.stats().deliveries.unique;
    // 0.7 × 1,000 = 700 and 500 are used: 200 requests, /limits reads included, of which one is
    // kept for the re-read that learns the budget is spent.
    expect(last + 1).toBeLessThanOrEqual(199);
    expect(flowCalls.every((r) => r.status === 200)).toBe(true);
    expect(delivered).toBe(flowCalls.length);
    expect(delivered).toBeLessThan(300);
    // Once spent, nothing but re-reads of the usage, one per SF_BUDGET_PROBE_MS: n re-reads span
    // at least n − 1 periods (less half a period: a re-read reaches Salesforce a moment after the
    // worker claims it).
    expect(after.every((r) => r.method === 'GET' && r.path.endsWith('/limits'))).toBe(true);
    const span = (after.at(-1)?.at ?? 0) - (after[0]?.at ?? 0);
    expect(span).toBeGreaterThanOrEqual((after.length - 1) * PROBE_MS - PROBE_MS / 2);
    expect(sim.stats().refusedForLimits.daily).toBe(0);
    expect(await producer.deadLetters.count()).toBe(0);

    sim.configure({ dailyLimit: 2_000 });
    await waitFor(() => sim.stats().deliveries.unique === 300, {
      message: 'the rest delivered',
      timeoutMs: 60_000,
    });
    expect(sim.stats().deliveries.duplicates).toBe(0);
    expect(await producer.deadLetters.count()).toBe(0);
  });

  it('backs off together during a 503 storm, with growing pauses, then delivers everything', async () => {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 20 } });
    await fleet(3, {
      SF_MAX_INPUTS_PER_CALL: '20',
      DISPATCH_LINGER_MS: '0',
      SF_MAX_CONCURRENCY: '6',
    });
    sim.configure({ http503Rate: 1 });
    await producer.triggerMany('Welcome_SMS', inputs(600, 'storm'));
    // Each fleet-wide pause as the workers publish it (what `stats` shows): its end, and which
    // pause of the streak it is. A pause lasts at least 500 ms, so polling every 50 ms sees each.
    const limitsKey = `{${prefix}}:limits`;
    const pauses = new Map<number, number>(); // streak → pausedUntil
    await waitFor(
      async () => {
        const [until, streak] = await producer.redis.hmget(limitsKey, 'pausedUntil', 'pauseStreak');
        if (until && streak && !pauses.has(Number(streak)))
          pauses.set(Number(streak), Number(until));
        return pauses.has(4);
      },
      { message: 'the fleet paused four times in a row', timeoutMs: 60_000, intervalMs: 50 },
    );
    const stormCalls = sim.calls();
    expect(stormCalls.every((c) => c.status === 503)).toBe(true);
    // The pauses grow: the s-th lasts between 2^(s-1) / 2 and 2^(s-1) seconds (jittered), and
    // begins once the one before has ended.
    const minPauseMs = (streak: number) => 500 * 2 ** (streak - 1);
    for (const streak of [2, 3, 4]) {
      const gap = (pauses.get(streak) ?? 0) - (pauses.get(streak - 1) ?? 0);
      expect(gap, `pause ${streak}`).toBeGreaterThanOrEqual(minPauseMs(streak));
    }
    // Every worker holds off together: no call starts in the second half of any pause's least
    // length. (Calls whose permits were granted just before the 503 that started a pause may
    // still start in its first moments.)
    for (const [streak, until] of pauses) {
      const from = until - minPauseMs(streak) / 2;
      const during = stormCalls.filter((c) => c.startedAt >= from && c.startedAt < until);
      expect(during, `calls during pause ${streak}`).toEqual([]);
    }
    sim.configure({ http503Rate: 0 });
    await waitFor(() => sim.stats().deliveries.unique === 600, {
      message: 'all delivered',
      timeoutMs: 90_000,
    });
    expect(sim.stats().deliveries.duplicates).toBe(0);
    expect(await producer.deadLetters.count()).toBe(0);
  });

  it('refreshes the fleet token about once per expiry, whatever the number of workers', async () => {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 20 } });
    await fleet(3, { SF_MAX_INPUTS_PER_CALL: '10', DISPATCH_LINGER_MS: '0' });
    await producer.triggerMany('Welcome_SMS', inputs(300, 'tok0'));
    await waitFor(() => sim.stats().deliveries.unique === 300, { message: 'first round' });
    expect(sim.stats().tokenRequests.granted).toBe(1);
    for (let round = 1; round <= 3; round++) {
      sim.expireTokens();
      await producer.triggerMany('Welcome_SMS', inputs(300, `tok${round}`));
      await waitFor(() => sim.stats().deliveries.unique === 300 * (round + 1), {
        message: `round ${round}`,
      });
    }
    expect(sim.stats().tokenRequests.granted).toBe(4);
  });

  it("gives a SIGKILLed worker's permits back, and the cap is reachable again", async () => {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 1_500 } });
    const extra = {
      SF_MAX_CONCURRENCY: '3',
      SF_MAX_INPUTS_PER_CALL: '5',
      DISPATCH_LINGER_MS: '0',
      WORKER_LOCK_DURATION_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      // A permit's lease outlasts the longest request (4/3 of it + 5 s: 9 s here), since a dead
      // worker's calls may still be running at Salesforce; shorter requests, faster return.
      SF_REQUEST_TIMEOUT_MS: '3000',
    };
    const [first] = await fleet(1, extra);
    await producer.triggerMany('Welcome_SMS', inputs(100, 'perm'));
    await waitFor(() => sim.stats().concurrency.inFlight === 3, {
      message: 'three calls in flight',
    });
    await first?.kill('SIGKILL');
    const killedAt = Date.now();
    const before = sim.calls().length;
    await fleet(1, extra);
    await waitFor(() => sim.stats().deliveries.unique === 100, {
      message: 'all delivered',
      timeoutMs: 90_000,
    });
    // The survivor got all three permits back (after their lease ran out) and used them.
    const after = sim
      .calls()
      .slice(before)
      .filter((call) => call.startedAt > killedAt);
    expect(concurrencyProfile(after).highest).toBe(3);
    // Never more than the cap, not even while the dead worker's permits were waiting to lapse.
    expect(sim.stats().concurrency.highest).toBeLessThanOrEqual(3);
    expect(concurrencyProfile(sim.calls()).highest).toBeLessThanOrEqual(3);
  });

  it('shrinks calls that hit governor limits and delivers everything', async () => {
    // As a real org answers it: a call of more than 50 inputs breaks its shared transaction's
    // governor limit and rolls back, every input failing with the generic UNKNOWN_EXCEPTION.
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 10 },
      transactionCapacity: 50,
    });
    await fleet(1, { DISPATCH_LINGER_MS: '50' });
    await producer.triggerMany('Welcome_SMS', inputs(1_000, 'gov'));
    await waitFor(() => sim.stats().deliveries.unique === 1_000, {
      message: 'all delivered',
      timeoutMs: 60_000,
    });
    expect(await producer.deadLetters.count()).toBe(0);
    expect(sim.calls().filter((c) => c.status === 400).length).toBeGreaterThan(0);
    const firstSuccess = sim.calls().find((c) => c.status === 200);
    // A second batch once the first is delivered, so that there are calls after the first success
    // whatever the timing (the first batch's calls may all have started before it ended).
    await producer.triggerMany('Welcome_SMS', inputs(500, 'gov2'));
    await waitFor(() => sim.stats().deliveries.unique === 1_500, {
      message: 'second batch delivered',
      timeoutMs: 60_000,
    });
    // The simulator counts a delivery when it runs the input, before the call's answer is sent:
    // wait for every call to have ended before reading their statuses.
    await waitFor(() => sim.calls().every((c) => c.status !== 'in-flight'), {
      message: 'every call answered',
      timeoutMs: 30_000,
    });
    expect(await producer.deadLetters.count()).toBe(0);
    // Once a call of the smaller size has gone through, no call carries more than 50 inputs: not
    // even the halves of earlier refusals that were waiting for a slot (they are cut again), nor
    // the second batch's, which the worker packs at the size it learned, so none is refused.
    const later = sim.calls().filter((c) => c.startedAt > (firstSuccess?.endedAt ?? Infinity));
    expect(later.length).toBeGreaterThan(0);
    expect(Math.max(...later.map((c) => c.inputs))).toBeLessThanOrEqual(50);
    expect(later.filter((c) => c.status !== 200)).toEqual([]);
  });
});

/**
 * README, Guarantees: calls in flight stay at or under SF_MAX_CONCURRENCY, whatever the faults and
 * their length. Two faults longer than every timeout involved (the permit lease, the request
 * deadline): Redis frozen while calls are in flight (the fleet cannot renew or re-count its
 * permits), and one worker frozen while its calls run at Salesforce (it cannot renew them, the
 * others can take what lapses). A call still running at Salesforce must still hold a counted
 * permit.
 */
describe('fleet-wide limits across long freezes', () => {
  let redis: RedisServerProcess;
  let sim: Simulator;
  let producer: Producer;
  const workers: CliProcess[] = [];

  beforeEach(async () => {
    redis = await startRedisServer();
    producer = new Producer({ redis: redis.url, prefix: 'freeze', maxChunkSize: 50 });
  });

  afterEach(async () => {
    for (const process of [redis.child, ...workers.map((w) => w.child)])
      if (process.exitCode === null && process.signalCode === null) process.kill('SIGCONT');
    await Promise.all(workers.splice(0).map((w) => w.kill('SIGKILL')));
    await producer.close();
    await sim.close();
    await redis.stop();
  });

  async function fleetOf(
    count: number,
    latencyMs: number,
    requestTimeoutMs: number,
    lockMs: number,
  ) {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: latencyMs } });
    const env = fleetEnv({
      redisUrl: redis.url,
      prefix: 'freeze',
      simulatorUrl: sim.url,
      extra: {
        SF_MAX_CONCURRENCY: '4',
        SF_MAX_INPUTS_PER_CALL: '10',
        DISPATCH_LINGER_MS: '0',
        // A permit's lease is 4/3 of the request deadline + 5 s.
        SF_REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
        WORKER_LOCK_DURATION_MS: String(lockMs),
        WORKER_STALLED_INTERVAL_MS: '1000',
      },
    });
    const started = await Promise.all(Array.from({ length: count }, () => startWorkerProcess(env)));
    workers.push(...started);
    return started;
  }

  /** Waits for every trigger; checks the cap held, and duplicates stayed within `maxDuplicates`. */
  async function settle(total: number, maxDuplicates: number): Promise<void> {
    await waitFor(() => sim.stats().deliveries.unique === total, {
      message: 'all delivered',
      timeoutMs: 120_000,
    });
    expect(sim.stats().concurrency.highest).toBeLessThanOrEqual(4);
    expect(concurrencyProfile(sim.calls()).highest).toBeLessThanOrEqual(4);
    expect(sim.stats().deliveries.duplicates).toBeLessThanOrEqual(maxDuplicates);
    expect(await producer.deadLetters.count()).toBe(0);
  }

  it('never exceeds SF_MAX_CONCURRENCY across a 16 s Redis freeze (permit lease ≈ 10 s)', async () => {
    // Chunk locks outlast the freeze: what stops the workers here is their permits.
    await fleetOf(2, 2_500, 4_000, 60_000);
    await producer.triggerMany('Welcome_SMS', inputs(400, 'frzr'));
    await waitFor(() => sim.stats().concurrency.inFlight === 4, {
      message: 'the cap in use',
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    redis.child.kill('SIGSTOP');
    await sleep(16_000);
    redis.child.kill('SIGCONT');
    // Every call in flight was answered before the permits ran out, and recorded after: none
    // is sent twice.
    await settle(400, 0);
  });

  it('never exceeds SF_MAX_CONCURRENCY when a worker stalls 20 s with calls in flight (lease ≈ 16 s)', async () => {
    // Calls take 5 s, longer than the 3 s chunk locks: the other worker takes the stalled one's
    // chunks meanwhile.
    const [stalled] = await fleetOf(2, 5_000, 8_000, 3_000);
    await producer.triggerMany('Welcome_SMS', inputs(400, 'frzw'));
    await waitFor(() => sim.stats().concurrency.inFlight === 4, {
      message: 'the cap in use',
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    stalled?.child.kill('SIGSTOP');
    await sleep(20_000);
    stalled?.child.kill('SIGCONT');
    // The stalled worker's calls ran but it could not record them (and they time out when it
    // wakes): the new owner of their chunks sends those inputs again. At most the calls in flight
    // at the stall, 4 × 10 inputs.
    await settle(400, 4 * 10);
  });
});
