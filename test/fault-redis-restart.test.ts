import { Producer } from '@flow-dispatcher/producer';
import { RedisKeys } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { queuedJobs } from './ingest-support.js';
import {
  auditDeliveries,
  peopleIds,
  recordFigures,
  Traffic,
  WorkerFleet,
} from './support/faults.js';
import { fleetEnv } from './support/fleet.js';
import { sleep, waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';

/**
 * Redis SIGKILLed mid-run (producer writing, workers dispatching) and started again from its
 * append-only file.
 *
 * - `appendfsync always`: every acknowledged write is on disk before the answer, so nothing
 *   acknowledged may be missing, and no outcome record either, so nothing runs twice.
 * - `appendfsync everysec`: Redis hands each write to the kernel (write()) before it answers, and
 *   fsyncs once a second in the background; while such an fsync is still running it may postpone
 *   the write(), for at most 2 s (then it writes anyway). A SIGKILL of the process leaves the
 *   kernel's page cache intact, so it loses exactly the writes postponed at that moment: at most
 *   those of the last 2 s before it died. (A power cut would also lose what was written but not
 *   yet fsynced: up to the last 1 s, 2 s with a slow disk; a test cannot cut its own power.) A
 *   lost write can be a producer's chunk (a trigger acknowledged in that window is lost) or a
 *   worker's outcome record (a trigger answered in that window runs again).
 *
 * The outage (1 s down, then the AOF reload and the reconnects) is kept well within
 * WORKER_LOCK_DURATION_MS, so no worker loses a chunk's lock: what this test sees is Redis's
 * durability alone (a lock lost to a longer outage is test/fault-lock-loss.test.ts's matter).
 */
const DOWN_MS = 1_000;
/** Redis postpones a write() behind a slow background fsync for at most this long. */
const EVERYSEC_WINDOW_MS = 2_000;

describe('fault: Redis restarted mid-run', () => {
  let redis: RedisServerProcess | undefined;
  let sim: Simulator | undefined;
  let producer: Producer | undefined;
  let fleet: WorkerFleet | undefined;

  afterEach(async () => {
    await fleet?.killAll();
    await producer?.close();
    await sim?.close();
    await redis?.stop();
  });

  async function crashRun(fsync: 'always' | 'everysec', triggers: number) {
    const prefix = `rr-${fsync}`;
    redis = await startRedisServer({
      args: ['--appendonly', 'yes', '--appendfsync', fsync],
    });
    // The workers drain about 2,000 a second (4 calls of 200 in flight, 400 ms each) while the
    // producer writes 5,000: a backlog builds, so at the kill most acknowledged triggers are still
    // only in Redis, and a Redis that kept less than it should would show. recordInputs: each call
    // keeps its IndividualIds, so a duplicate can be traced to its call.
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 400 },
      recordInputs: true,
    });
    const server = redis;
    const simulator = sim;
    const client = new Producer({ redis: server.url, prefix });
    producer = client;
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: server.url,
        prefix,
        simulatorUrl: simulator.url,
        extra: {
          SF_MAX_CONCURRENCY: '4',
          // The backlog stays in Redis rather than in the workers' memory.
          WORKER_MAX_BUFFERED_TRIGGERS: '1000',
          // Far longer than the outage: locks and permit leases outlive it.
          WORKER_LOCK_DURATION_MS: '30000',
          WORKER_STALLED_INTERVAL_MS: '1000',
        },
      }),
    );
    await fleet.start(2);

    const traffic = new Traffic({
      ids: peopleIds(fsync === 'always' ? 'alw' : 'evs', triggers),
      batch: 250,
      concurrency: 4,
      ratePerSecond: 5_000,
      send: async (batch) => {
        await client.triggerMany(
          FLOW,
          batch.map((IndividualId) => ({ IndividualId })),
        );
        return { outcome: 'accepted' };
      },
    }).start();

    // About 5 s into the run: the last 2 s before the kill hold well under half of what was
    // acknowledged, and most of the rest is not delivered yet, so the everysec bound below is a
    // real constraint.
    await waitFor(() => traffic.accepted.size >= triggers * 0.6, {
      message: '60 % acknowledged',
      timeoutMs: 60_000,
      intervalMs: 5,
    });
    const killedAt = Date.now();
    const acknowledgedAtKill = traffic.accepted.size;
    const deliveredAtKill = simulator.stats().deliveries.unique;
    await server.kill();
    // Once the process is gone: a write sent after this cannot have run on the dead server.
    const diedAt = Date.now();
    await sleep(DOWN_MS);
    await server.restart();
    const restartedAt = Date.now();
    await traffic.done;

    // Done when no chunk job is left waiting, held or delayed, twice in a row a second apart
    // (a lost trigger never arrives, so the test cannot wait for all of them).
    const keys = new RedisKeys(prefix);
    let empty = 0;
    await waitFor(
      async () => {
        empty = (await queuedJobs(client.redis, client.keys, FLOW)) === 0 ? empty + 1 : 0;
        return empty >= 2;
      },
      { message: 'the queue drained after the restart', timeoutMs: 90_000, intervalMs: 1_000 },
    );
    const deliveries = simulator.deliveries();
    const audit = auditDeliveries(traffic.accepted.keys(), deliveries);
    const lost = [...traffic.accepted.keys()].filter((id) => !deliveries.has(id));
    return {
      traffic,
      audit,
      lost,
      calls: simulator.calls(),
      killedAt,
      diedAt,
      deliveredAtKill,
      restartedAt,
      acknowledgedAtKill,
      pending: Number((await client.redis.hget(keys.pending, FLOW)) ?? 0),
      deadLetters: await client.deadLetters.count(),
    };
  }

  it('appendfsync always: every acknowledged trigger survives a SIGKILL of Redis', async () => {
    const run = await crashRun('always', 40_000);
    recordFigures('redis-restart-always', {
      triggers: 40_000,
      acknowledgedAtKill: run.acknowledgedAtKill,
      deliveredAtKill: run.deliveredAtKill,
      accepted: run.audit.accepted,
      delivered: run.audit.delivered,
      lost: run.audit.lost,
      duplicated: run.audit.duplicated,
      producerFailures: run.traffic.failures,
      pendingCounterAfter: run.pending,
      deadLetters: run.deadLetters,
    });
    expect(run.traffic.failures).toBe(0);
    expect(run.audit.accepted).toBe(40_000);
    expect(run.audit.lost, `lost, e.g. ${run.audit.lostSample.join(', ')}`).toBe(0);
    // Every outcome record survived too: nothing ran twice.
    expect(run.audit.duplicatedIds).toEqual([]);
    expect(run.deadLetters).toBe(0);
  });

  it('appendfsync everysec: a SIGKILL of Redis loses at most what it acknowledged in its last 2 s', async () => {
    const run = await crashRun('everysec', 40_000);
    const windowStart = run.killedAt - EVERYSEC_WINDOW_MS;
    const ackedInWindow = [...run.traffic.accepted.values()].filter(
      (at) => at >= windowStart && at <= run.diedAt,
    ).length;
    // A lost write was executed by the dead server: sent before it died, and answered no earlier
    // than 2 s before it died (it cannot have been postponed longer).
    const outsideWindow = run.lost.filter(
      (id) =>
        (run.traffic.sentAt.get(id) ?? Number.POSITIVE_INFINITY) > run.diedAt ||
        (run.traffic.accepted.get(id) ?? 0) < windowStart,
    );
    // A trigger runs twice only if its outcome record was among the lost writes: its call was
    // answered in that window (or was still unanswered when Redis died).
    const inWindow = run.calls.filter(
      (call) =>
        call.startedAt <= run.diedAt && (call.endedAt === null || call.endedAt >= windowStart),
    );
    const inWindowIds = new Set(inWindow.flatMap((call) => call.individualIds ?? []));
    const unexplainedDuplicates = run.audit.duplicatedIds.filter((id) => !inWindowIds.has(id));
    recordFigures('redis-restart-everysec', {
      triggers: 40_000,
      acknowledgedAtKill: run.acknowledgedAtKill,
      deliveredAtKill: run.deliveredAtKill,
      acknowledgedInLast2sBeforeKill: ackedInWindow,
      accepted: run.audit.accepted,
      delivered: run.audit.delivered,
      lost: run.audit.lost,
      oldestLostAckBeforeKillMs: run.lost.length
        ? Math.max(...run.lost.map((id) => run.killedAt - (run.traffic.accepted.get(id) ?? 0)))
        : null,
      duplicated: run.audit.duplicated,
      callsAnsweredInWindow: inWindow.length,
      producerFailures: run.traffic.failures,
      pendingCounterAfter: run.pending,
      deadLetters: run.deadLetters,
    });
    expect(run.traffic.failures).toBe(0);
    expect(run.audit.accepted).toBe(40_000);
    // The documented window, exactly: only writes acknowledged in the last 2 s before Redis died
    // may vanish; nothing acknowledged after it came back (whose write the new server ran) may.
    expect(outsideWindow).toEqual([]);
    expect(run.audit.lost).toBeLessThanOrEqual(ackedInWindow);
    expect(unexplainedDuplicates).toEqual([]);
    expect(run.deadLetters).toBe(0);
  });
});
