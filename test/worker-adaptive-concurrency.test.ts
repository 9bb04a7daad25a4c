import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { peopleIds, WorkerFleet } from './support/faults.js';
import { fleetEnv } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const CAP = 8;

/**
 * The adaptive concurrency limit below SF_MAX_CONCURRENCY (README, "Limits hold for the whole
 * fleet"): it halves on 503s and on calls nearing Salesforce's 20-second long-request line, and
 * grows back (by 1/limit per quick call) while calls are quick. Read as the workers publish it for
 * the fleet (what `flow-dispatcher stats` shows as the concurrency limit), against what the
 * simulator saw in flight. Real worker processes.
 */
describe('adaptive concurrency limit', () => {
  let prefix: string;
  let producer: Producer;
  let sim: Simulator | undefined;
  let fleet: WorkerFleet | undefined;

  beforeEach(() => {
    prefix = uniquePrefix('adaptive');
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
  });

  afterEach(async () => {
    await fleet?.killAll();
    await producer.close();
    await sim?.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  /** The fleet's limit as published (null: never lowered, so the cap). */
  const publishedLimit = async (): Promise<number> => {
    const raw = await producer.redis.hget(`{${prefix}}:limits`, 'concurrencyLimit');
    return raw === null ? CAP : Math.floor(Number(raw));
  };

  it('shrinks on 503s, grows back while calls are quick, and the fleet keeps under it', async () => {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 100 } });
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: sim.url,
        extra: {
          SF_MAX_CONCURRENCY: String(CAP),
          SF_MAX_INPUTS_PER_CALL: '10',
          DISPATCH_LINGER_MS: '0',
        },
      }),
    );
    await fleet.start(2);
    await producer.triggerMany(
      'Welcome_SMS',
      peopleIds('adapt', 6_000).map((IndividualId) => ({ IndividualId })),
    );
    const simulator = sim;
    await waitFor(() => simulator.stats().concurrency.highest === CAP, {
      message: 'the cap reached',
      timeoutMs: 60_000,
    });

    // A 503 storm: the limit halves (once a second at most: the calls of one storm fail together).
    simulator.configure({ http503Rate: 1 });
    await waitFor(async () => (await publishedLimit()) <= 2, {
      message: 'the limit down to 2 or less',
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    simulator.configure({ http503Rate: 0 });
    const stormEnd = Date.now();

    // Recovery, polled every 10 ms until the limit is back at the cap.
    const timeline: { at: number; limit: number }[] = [];
    await waitFor(
      async () => {
        const limit = await publishedLimit();
        timeline.push({ at: Date.now(), limit });
        return limit === CAP;
      },
      { message: 'the limit back at the cap', timeoutMs: 90_000, intervalMs: 10 },
    );
    // The storm's last refusals may still lower it a moment after it ends; from its lowest point
    // on it only grows, one step at a time (from l to l + 1 after l quick calls).
    const lowest = timeline.reduce(
      (low, point, i) => (point.limit <= (timeline[low]?.limit ?? 0) ? i : low),
      0,
    );
    const recovery = timeline.slice(lowest);
    expect(recovery[0]?.limit).toBeLessThanOrEqual(2);
    for (let i = 1; i < recovery.length; i++)
      expect(recovery[i]?.limit).toBeGreaterThanOrEqual(recovery[i - 1]?.limit ?? 0);
    // Every call that started while it grew had at most the limit in flight (the next reading of
    // the limit after a call began is at least what it was then).
    const from = recovery[0]?.at ?? stormEnd;
    const to = recovery.at(-1)?.at ?? stormEnd;
    const started = sim.calls().filter((c) => c.startedAt >= from && c.startedAt < to);
    expect(started.length).toBeGreaterThan(0);
    for (const call of started) {
      const next = recovery.find((point) => point.at >= call.startedAt);
      expect(call.concurrencyAtStart, `call ${call.seq}`).toBeLessThanOrEqual(next?.limit ?? CAP);
    }
    // And the fleet uses the cap again.
    await waitFor(
      () => simulator.calls().some((c) => c.startedAt > to && c.concurrencyAtStart === CAP),
      { message: 'the cap in use again', timeoutMs: 60_000 },
    );
    await waitFor(() => simulator.stats().deliveries.unique === 6_000, {
      message: 'everything delivered',
      timeoutMs: 90_000,
    });
    expect(sim.stats().deliveries.duplicates).toBe(0);
    expect(await producer.deadLetters.count()).toBe(0);
  });

  it('halves on a call nearing the 20-second line, and grows back', async () => {
    // 16 s: past the 15 s at which a call counts as nearing Salesforce's long-request line.
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 16_000 } });
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: sim.url,
        extra: {
          SF_MAX_CONCURRENCY: String(CAP),
          SF_MAX_INPUTS_PER_CALL: '10',
          // The 16 s call must be answered, not timed out (the tests' default deadline is 5 s).
          SF_REQUEST_TIMEOUT_MS: '30000',
        },
      }),
    );
    await fleet.start(1);
    await producer.triggerMany('Welcome_SMS', [{ IndividualId: '0PKslow00000000001' }]);
    const simulator = sim;
    await waitFor(() => simulator.calls().length === 1, { message: 'the slow call sent' });
    // Quick calls from now on; the slow one is answered after its 16 s.
    simulator.configure({ latency: { kind: 'fixed', ms: 20 } });
    expect(await publishedLimit()).toBe(CAP);
    await waitFor(async () => (await publishedLimit()) === CAP / 2, {
      message: 'the limit halved after the slow answer',
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    expect(sim.calls()[0]?.status).toBe(200);
    // Quick calls grow it back: 4 + 4 × ¼ = 5, then 5 more to 6, ... 22 calls to the cap.
    await producer.triggerMany(
      'Welcome_SMS',
      peopleIds('quick', 400).map((IndividualId) => ({ IndividualId })),
    );
    await waitFor(async () => (await publishedLimit()) === CAP, {
      message: 'the limit back at the cap',
      timeoutMs: 60_000,
    });
    await waitFor(() => simulator.stats().deliveries.unique === 401, {
      message: 'everything delivered',
    });
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });
});
