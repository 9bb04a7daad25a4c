import { RedisKeys } from '@flow-dispatcher/shared';
import { describe, expect, it } from 'vitest';
import { useFaultRig } from './support/fault-rig.js';
import { auditDeliveries, peopleIds, recordFigures } from './support/faults.js';
import { sleep, waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const TRIGGERS = 1_200;
const LOCK_MS = 2_000;
const STALLED_MS = 500;
/** Salesforce takes longer to answer than a chunk's lock lasts. */
const LATENCY_MS = 3_000;
/** Redis frozen far longer than the lock, the stalled check and one call together. */
const FREEZE_MS = 7_000;
const MAX_CONCURRENCY = 4;
const MAX_INPUTS = 50;

/**
 * A chunk's lock lost while its worker still holds triggers of it (README, Guarantees: "duplicates
 * after a lost lock"). Redis is frozen (SIGSTOP: connections stay open, nothing answers, as in a
 * failover or a stuck host) for longer than WORKER_LOCK_DURATION_MS while calls that take longer
 * than the lock are in flight. The locks expire inside Redis; when it comes back, the stalled
 * check hands the chunks to whichever worker looks first. The worker that lost a lock must send
 * nothing more of that chunk: only the calls it had sent and not yet recorded when the lock ran
 * out may be sent again by the new owner.
 */
describe('fault: chunk locks lost while Redis is frozen', () => {
  const rig = useFaultRig({
    prefix: 'lockloss',
    maxChunkSize: 100,
    simulator: { latency: { kind: 'fixed', ms: LATENCY_MS }, recordInputs: true },
  });

  it('sends nothing of a chunk after its lock is lost: duplicates only from calls not yet recorded then', async () => {
    const { redis, sim, producer } = rig;
    const ids = peopleIds('lock', TRIGGERS);
    await producer.triggerMany(
      FLOW,
      ids.map((IndividualId) => ({ IndividualId })),
    );
    await rig.workers(2, {
      SF_MAX_CONCURRENCY: String(MAX_CONCURRENCY),
      SF_MAX_INPUTS_PER_CALL: String(MAX_INPUTS),
      WORKER_LOCK_DURATION_MS: String(LOCK_MS),
      WORKER_STALLED_INTERVAL_MS: String(STALLED_MS),
    });

    // Freeze once a first round of calls was answered and the next is in flight.
    await waitFor(
      () => sim.stats().deliveries.unique >= MAX_INPUTS && sim.stats().concurrency.inFlight >= 2,
      { message: 'calls answered and calls in flight', timeoutMs: 60_000, intervalMs: 20 },
    );
    const freezeAt = Date.now();
    redis.child.kill('SIGSTOP');
    await sleep(FREEZE_MS);
    redis.child.kill('SIGCONT');

    const keys = new RedisKeys('lockloss');
    await waitFor(async () => (await producer.redis.hget(keys.pending, FLOW)) === '0', {
      message: 'every trigger settled',
      timeoutMs: 120_000,
      intervalMs: 250,
    });

    const audit = auditDeliveries(ids, sim.deliveries());
    const calls = sim.calls();
    // The calls whose outcome could not be recorded before a lock lapsed: those still in flight
    // when Redis froze (their answers had nowhere to go) or answered a moment before (their write
    // may not have been applied), and those started during the freeze while the lock was still
    // surely held (it lapses at the latest LOCK_MS after the last renewal, sent before the freeze).
    const unrecorded = calls.filter(
      (call) =>
        call.startedAt <= freezeAt + LOCK_MS &&
        (call.endedAt === null || call.endedAt >= freezeAt - 500),
    );
    const bound = unrecorded.reduce((n, call) => n + call.inputs, 0);
    const unrecordedIds = new Set(unrecorded.flatMap((call) => call.individualIds ?? []));
    const unexplained = audit.duplicatedIds.filter((id) => !unrecordedIds.has(id));
    const deliveries = sim.deliveries();
    const sentThrice = audit.duplicatedIds.filter((id) => (deliveries.get(id) ?? 0) > 2);
    const startedDuringFreeze = calls.filter(
      (call) => call.startedAt > freezeAt + LOCK_MS && call.startedAt < freezeAt + FREEZE_MS,
    );
    recordFigures('lock-loss', {
      triggers: TRIGGERS,
      freezeMs: FREEZE_MS,
      lockMs: LOCK_MS,
      latencyMs: LATENCY_MS,
      calls: calls.length,
      unrecordedCalls: unrecorded.length,
      bound,
      duplicated: audit.duplicated,
      unexplained: unexplained.length,
      callsStartedAfterLockLapsed: startedDuringFreeze.length,
      highestConcurrency: sim.stats().concurrency.highest,
      lost: audit.lost,
    });

    expect(audit.lost, `lost, e.g. ${audit.lostSample.join(', ')}`).toBe(0);
    expect(unexplained).toEqual([]);
    expect(audit.duplicated).toBeLessThanOrEqual(bound);
    expect(sentThrice).toEqual([]);
    // Nothing was sent while Redis was frozen once every lock had surely lapsed.
    expect(startedDuringFreeze).toEqual([]);
    expect(sim.stats().concurrency.highest).toBeLessThanOrEqual(MAX_CONCURRENCY);
    expect(await producer.deadLetters.count()).toBe(0);
  });
});
