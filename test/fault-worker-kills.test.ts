import { Producer } from '@flow-dispatcher/producer';
import { RedisKeys, type RedisServerProcess, startRedisServer } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  auditDeliveries,
  keyCensus,
  peopleIds,
  recordFigures,
  Traffic,
  WorkerFleet,
} from './support/faults.js';
import { fleetEnv } from './support/fleet.js';
import { waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const TRIGGERS = 50_000;
const WORKERS = 3;
const MAX_CONCURRENCY = 6;
const MAX_INPUTS = 200;

describe('fault: workers SIGKILLed during a run', () => {
  let redis: RedisServerProcess;
  let sim: Simulator;
  let producer: Producer;
  let fleet: WorkerFleet | undefined;

  beforeEach(async () => {
    redis = await startRedisServer();
    // recordInputs: each call keeps its IndividualIds, so every duplicate can be traced to the
    // call that carried it.
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'uniform', minMs: 80, maxMs: 200 },
      recordInputs: true,
    });
    producer = new Producer({ redis: redis.url, prefix: 'kills' });
  });

  afterEach(async () => {
    await fleet?.killAll();
    await producer.close();
    await sim.close();
    await redis.stop();
  });

  it('loses nothing of 50,000 triggers when workers are SIGKILLed three times and restarted', async () => {
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: redis.url,
        prefix: 'kills',
        simulatorUrl: sim.url,
        extra: {
          SF_MAX_CONCURRENCY: String(MAX_CONCURRENCY),
          SF_MAX_INPUTS_PER_CALL: String(MAX_INPUTS),
          // A killed worker's chunks (and its call permits) come back after the lock expires and
          // a stalled check runs: seconds instead of the 30 s defaults.
          WORKER_LOCK_DURATION_MS: '4000',
          WORKER_STALLED_INTERVAL_MS: '1000',
        },
      }),
    );
    await fleet.start(WORKERS);

    const traffic = new Traffic({
      ids: peopleIds('kill', TRIGGERS),
      batch: 500,
      concurrency: 2,
      ratePerSecond: 4_000,
      send: async (batch) => {
        await producer.triggerMany(
          FLOW,
          batch.map((IndividualId) => ({ IndividualId })),
        );
        return { outcome: 'accepted' };
      },
    }).start();

    // Three kills spread over the run, each while calls are in flight, each followed by a fresh
    // worker so the fleet stays at three.
    const kills: { at: number; deliveredBefore: number; inflight: number }[] = [];
    for (const share of [0.15, 0.4, 0.65]) {
      const victim = await waitFor(
        async () => {
          if (sim.stats().deliveries.unique < TRIGGERS * share) return undefined;
          const busiest = await fleet?.busiest();
          return busiest && busiest.inflight > 0 ? busiest : undefined;
        },
        {
          message: `${share * 100} % delivered and a worker with calls in flight`,
          timeoutMs: 90_000,
          intervalMs: 5,
        },
      );
      const deliveredBefore = sim.stats().deliveries.unique;
      await fleet.kill(victim.index);
      // The kill's moment is the victim's death, not the signal: a call it started in between
      // is as unknowable as one in flight before.
      kills.push({ at: Date.now(), deliveredBefore, inflight: victim.inflight });
      await fleet.start(1);
    }

    await traffic.done;
    expect(traffic.accepted.size).toBe(TRIGGERS);
    const keys = new RedisKeys('kills');
    await waitFor(async () => (await producer.redis.hget(keys.pending, FLOW)) === '0', {
      message: 'every trigger settled',
      timeoutMs: 90_000,
      intervalMs: 200,
    });

    const audit = auditDeliveries(traffic.accepted.keys(), sim.deliveries());
    const calls = sim.calls();
    // Each duplicate must have ridden a call whose outcome a kill made unknowable: in flight at
    // the kill (aborted by it), or answered just before it and not yet recorded.
    const unknowable = calls.filter((call) =>
      kills.some(
        (kill) =>
          call.startedAt <= kill.at && (call.endedAt === null || call.endedAt >= kill.at - 2_000),
      ),
    );
    const unknowableIds = new Set(unknowable.flatMap((call) => call.individualIds ?? []));
    const unexplained = audit.duplicatedIds.filter((id) => !unknowableIds.has(id));
    const census = await keyCensus(redis.url, 'kills');
    recordFigures('worker-kills', {
      triggers: TRIGGERS,
      workers: WORKERS,
      kills: kills.length,
      deliveredAtKills: kills.map((k) => k.deliveredBefore),
      inflightAtKills: kills.map((k) => k.inflight),
      killTimes: kills.map((k) => k.at - (kills[0]?.at ?? 0)),
      accepted: audit.accepted,
      delivered: audit.delivered,
      lost: audit.lost,
      duplicated: audit.duplicated,
      duplicateBound: kills.length * MAX_CONCURRENCY * MAX_INPUTS,
      abortedCalls: calls.filter((c) => c.status === 'aborted').length,
      inputsOfAbortedCalls: calls
        .filter((c) => c.status === 'aborted')
        .reduce((n, c) => n + c.succeeded, 0),
      calls: calls.length,
      unexplainedDuplicates: unexplained.length,
      deadLetters: await producer.deadLetters.count(),
      keysLeft: census,
    });

    expect(audit.lost, `lost, e.g. ${audit.lostSample.join(', ')}`).toBe(0);
    expect(audit.unacknowledgedDelivered).toBe(0);
    // At-least-once: duplicates only from calls cut off by a kill, at most every call slot's
    // worth per kill.
    expect(audit.duplicated).toBeLessThanOrEqual(kills.length * MAX_CONCURRENCY * MAX_INPUTS);
    expect(unexplained).toEqual([]);
    expect(await producer.deadLetters.count()).toBe(0);
    // Completed chunk jobs are removed; nothing is left waiting or held.
    expect(census.job ?? 0).toBe(0);
  });
});
