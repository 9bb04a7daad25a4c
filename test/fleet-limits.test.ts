import { Producer } from '@flow-dispatcher/producer';
import { freePort } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliProcess } from './support/cli-process.js';
import { type RecordingProxy, startRecordingProxy } from './support/faults.js';
import { fleetEnv } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

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
    expect(sim.stats().concurrency.highest).toBeLessThanOrEqual(3 + 3); // the dead worker's calls still ran
  });

  it('shrinks calls that hit governor limits and delivers everything', async () => {
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 10 },
      governorLimit: { maxInputs: 50 },
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
