import { describe, expect, it } from 'vitest';
import { useFaultRig } from './support/fault-rig.js';
import { recordFigures } from './support/faults.js';
import { metricSample, workerMetrics } from './support/fleet.js';
import { waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const LOWS = 200_000;
const HIGHS = 100;
/** README, "Priorities": every high one answered before 5 % of the low backlog. */
const LOW_SHARE_BOUND = 0.05;

describe('priority lanes within a flow', () => {
  // recordInputs: each call keeps its IndividualIds, so the record says which lane each input was.
  const rig = useFaultRig({
    prefix: 'lanes',
    simulator: { latency: { kind: 'uniform', minMs: 60, maxMs: 150 }, recordInputs: true },
  });

  it('answers 100 high triggers behind 200,000 low ones of the same flow before 5 % of the lows', async () => {
    const { sim, producer } = rig;
    const lows = Array.from({ length: LOWS }, (_, i) => ({ IndividualId: `low-${i}` }));
    const stored = await producer.triggerMany(FLOW, lows, { priority: 'low', concurrency: 8 });
    expect(stored).toHaveLength(LOWS);

    const fleet = await rig.workers(2, {
      SF_MAX_CONCURRENCY: '4',
      SF_MAX_INPUTS_PER_CALL: '200',
      DISPATCH_LINGER_MS: '50',
    });
    // The backlog is being worked off, and both workers' buffers are full (WORKER_MAX_BUFFERED_
    // TRIGGERS, 20,000 each: 20 chunks), so the high chunk waits for a low one to be settled.
    const active = `{lanes}:q:${FLOW}:active`;
    await waitFor(
      async () =>
        sim.stats().deliveries.unique >= 1_000 && (await producer.redis.llen(active)) >= 40,
      {
        message: 'the low backlog is flowing, with full buffers',
        timeoutMs: 60_000,
        intervalMs: 20,
      },
    );
    const activeChunks = await producer.redis.llen(active);
    const highAt = Date.now();
    const highs = Array.from({ length: HIGHS }, (_, i) => ({ IndividualId: `high-${i}` }));
    const [firstHigh] = await producer.triggerMany(FLOW, highs, { priority: 'high' });
    // When the high chunk left the queue (a worker took it): tells a late fetch from a late call.
    let highTakenMs: number | undefined;
    const watchTaken = setInterval(() => {
      void producer.getTrigger(firstHigh?.id ?? '').then((status) => {
        if (highTakenMs === undefined && status && status.state !== 'queued') {
          highTakenMs = Date.now() - highAt;
        }
      });
    }, 20);

    // Answered: the call that carried it has ended (the simulator runs the interviews before its
    // latency, so a delivery is counted before the answer leaves).
    const highsAnswered = () =>
      sim
        .calls()
        .filter((call) => call.endedAt !== null && call.status === 200)
        .reduce(
          (n, call) => n + (call.individualIds ?? []).filter((id) => id.startsWith('high-')).length,
          0,
        );
    await waitFor(
      () => {
        const n = highsAnswered();
        if (n < HIGHS) {
          throw new Error(`${n} high answered, ${sim.stats().deliveries.unique} delivered in all`);
        }
        return true;
      },
      {
        message: 'every high trigger answered',
        timeoutMs: 60_000,
        intervalMs: 25,
      },
    );
    const lastHighMs = Date.now() - highAt;
    clearInterval(watchTaken);

    // From the simulator's record: the calls that carried high triggers, and the lows answered
    // (calls ended) no later than the last of them.
    const calls = sim.calls().filter((call) => call.flow === FLOW && call.endedAt !== null);
    const highCalls = calls.filter((call) =>
      (call.individualIds ?? []).some((id) => id.startsWith('high-')),
    );
    const lastHighEnd = Math.max(...highCalls.map((call) => call.endedAt ?? Infinity));
    const lowsBefore = calls
      .filter((call) => (call.endedAt ?? Infinity) <= lastHighEnd)
      .reduce(
        (n, call) => n + (call.individualIds ?? []).filter((id) => id.startsWith('low-')).length,
        0,
      );
    const lowsAtHighEnqueue = calls
      .filter((call) => (call.endedAt ?? Infinity) <= highAt)
      .reduce(
        (n, call) => n + (call.individualIds ?? []).filter((id) => id.startsWith('low-')).length,
        0,
      );
    const highsCarried = highCalls.reduce(
      (n, call) => n + (call.individualIds ?? []).filter((id) => id.startsWith('high-')).length,
      0,
    );

    // The dispatch-wait histogram counted each high trigger once, in the high lane.
    const texts = await Promise.all(fleet.all.map((worker) => workerMetrics(worker)));
    const highWaits = texts.reduce(
      (n, text) =>
        n +
        (metricSample(text, 'flow_dispatcher_dispatch_wait_seconds_count', {
          priority: 'high',
        }) ?? 0),
      0,
    );

    recordFigures('priority-lanes', {
      lows: LOWS,
      highs: HIGHS,
      lowsAnsweredWhenHighsEnqueued: lowsAtHighEnqueue,
      lowsAnsweredBeforeLastHigh: lowsBefore,
      bound: LOWS * LOW_SHARE_BOUND,
      callsCarryingHighs: highCalls.length,
      activeChunksWhenHighsEnqueued: activeChunks,
      highChunkTakenAfterMs: highTakenMs,
      lastHighAnsweredAfterMs: lastHighMs,
      highDispatchWaitCount: highWaits,
    });
    expect(highsCarried).toBe(HIGHS);
    expect(lowsBefore).toBeLessThan(LOWS * LOW_SHARE_BOUND);
    expect(highWaits).toBe(HIGHS);
  }, 240_000);
});
