import { parseTriggerId, RedisKeys } from '@flow-dispatcher/shared';
import { simulatorDefaults } from '@flow-dispatcher/simulator';
import { describe, expect, it } from 'vitest';
import { useFaultRig } from './support/fault-rig.js';
import { auditDeliveries, peopleIds, recordFigures } from './support/faults.js';
import { sleep, waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const TRIGGERS = 1_000;
/** Far shorter than the hold below: before the fix, the records were gone when it ended. */
const RESULT_TTL_MS = 1_000;
const HOLD_MS = 6_000;

/**
 * README, Guarantees: an answered trigger is never sent again, however long its chunk waits. A
 * chunk half answered when its flow is deactivated (Salesforce answers 404: the flow's circuit
 * opens, its triggers wait) is held far longer than RESULT_TTL_MS, then the flow comes back: only
 * the triggers that had no answer go out.
 */
describe('fault: a partly answered chunk held longer than RESULT_TTL_MS', () => {
  const rig = useFaultRig({
    prefix: 'ttl',
    simulator: { latency: { kind: 'fixed', ms: 100 } },
  });

  it('keeps its records while it waits, sends nothing twice when it resumes, then lets them expire', async () => {
    const { sim, producer } = rig;
    const ids = peopleIds('ttl', TRIGGERS);
    const receipts = await producer.triggerMany(
      FLOW,
      ids.map((IndividualId) => ({ IndividualId })),
    );
    const chunkId = parseTriggerId(receipts[0]?.id ?? '')?.chunkId ?? '';
    await rig.workers(1, {
      RESULT_TTL_MS: String(RESULT_TTL_MS),
      SF_MAX_CONCURRENCY: '1',
      SF_MAX_INPUTS_PER_CALL: '100',
      CIRCUIT_PROBE_MS: '1000',
    });

    // A few calls through, then the flow is deactivated (a weekend's change freeze, say).
    await waitFor(() => sim.stats().deliveries.unique >= 300, {
      message: 'a first part delivered',
      timeoutMs: 60_000,
      intervalMs: 10,
    });
    sim.configure({
      flows: {
        ...simulatorDefaults.flows,
        [FLOW]: { ...simulatorDefaults.flows[FLOW], active: false },
      },
    });
    const keys = new RedisKeys('ttl');
    await waitFor(async () => (await producer.redis.exists(keys.circuit(FLOW))) === 1, {
      message: 'circuit open',
      timeoutMs: 30_000,
    });
    const deliveredBeforeHold = sim.stats().deliveries.unique;
    expect(deliveredBeforeHold).toBeLessThan(TRIGGERS);
    // While the chunk waits, its records do not expire.
    await sleep(HOLD_MS);
    const ttlWhileHeld = await producer.redis.pttl(keys.outcomes(chunkId));

    sim.configure({ flows: simulatorDefaults.flows });
    await waitFor(async () => (await producer.redis.hget(keys.pending, FLOW)) === '0', {
      message: 'every trigger settled once the flow is back',
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const audit = auditDeliveries(ids, sim.deliveries());
    // Once the chunk is completed, its records are kept RESULT_TTL_MS for status look-ups.
    const ttlAfter = await producer.redis.pttl(keys.outcomes(chunkId));
    recordFigures('record-ttl', {
      triggers: TRIGGERS,
      resultTtlMs: RESULT_TTL_MS,
      holdMs: HOLD_MS,
      deliveredBeforeHold,
      delivered: audit.delivered,
      duplicated: audit.duplicated,
      ttlWhileHeld,
      ttlAfterCompletion: ttlAfter,
    });
    expect(audit.lost).toBe(0);
    expect(audit.duplicated).toBe(0);
    expect(ttlWhileHeld).toBe(-1); // no expiry while the chunk exists
    expect(await producer.getTrigger(receipts[0]?.id ?? '')).toMatchObject({ state: 'succeeded' });
    expect(ttlAfter).toBeGreaterThan(0);
    expect(ttlAfter).toBeLessThanOrEqual(RESULT_TTL_MS);
    await waitFor(async () => (await producer.redis.exists(keys.outcomes(chunkId))) === 0, {
      message: 'records expire after RESULT_TTL_MS once the chunk is done',
      timeoutMs: 10_000,
    });
  });
});
