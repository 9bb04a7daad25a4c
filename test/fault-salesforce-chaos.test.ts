import type { Producer } from '@flow-dispatcher/producer';
import { decodeTriggerRecord, RedisKeys } from '@flow-dispatcher/shared';
import { describe, expect, it } from 'vitest';
import { useFaultRig } from './support/fault-rig.js';
import { auditDeliveries, peopleIds, recordFigures } from './support/faults.js';
import { waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const TRIGGERS = 15_000;
const MAX_INPUTS = 100;
const MAX_CONCURRENCY = 8;

/**
 * Every Salesforce fault at once, scaled in time so the run takes about a minute:
 *
 * | fault (the figure)            | here                                                  |
 * |---------------------------------------|-------------------------------------------------------|
 * | 20 % of calls answered 503            | http503Rate 0.2                                       |
 * | 5 % time out after Salesforce ran them| hangAfterProcessingRate 0.05, answer held 4 s, worker |
 * |                                       | deadline SF_REQUEST_TIMEOUT_MS 3 s                    |
 * | 1 % connection resets                 | resetRate 0.01                                        |
 * | a token that expires every 5 s        | tokenTtlMs 5000                                       |
 * | latency spikes to 25 s                | 5 % of calls 1.25 s slower: 25 s against the default  |
 * |                                       | 60 s deadline is 1.25 s against this run's 3 s        |
 *
 * Everything must be delivered, and the only duplicates allowed are the inputs of calls whose
 * outcome was unknowable: those that hung past the deadline after running (or, on a starved
 * machine, any call the worker gave up on). Each such call costs at most its own inputs.
 */
describe('fault: Salesforce chaos', () => {
  const rig = useFaultRig({
    prefix: 'chaos',
    simulator: {
      latency: { kind: 'uniform', minMs: 20, maxMs: 60, spikes: { rate: 0.05, ms: 1_250 } },
      http503Rate: 0.2,
      hangAfterProcessingRate: 0.05,
      hangMs: 4_000,
      resetRate: 0.01,
      tokenTtlMs: 5_000,
      recordInputs: true,
      // The rates decide the rest; one of each armed so that every fault surely happens.
      failNext: { hang: 1, http503: 1, reset: 1 },
    },
  });

  it('delivers everything; duplicates only from calls that timed out after running', {
    timeout: 240_000,
  }, async () => {
    const { sim, producer } = rig;
    const people = peopleIds('chaos', TRIGGERS);
    const receipts = await producer.triggerMany(
      FLOW,
      people.map((IndividualId) => ({ IndividualId })),
    );
    expect(receipts).toHaveLength(TRIGGERS);

    await rig.workers(2, {
      SF_MAX_CONCURRENCY: String(MAX_CONCURRENCY),
      SF_MAX_INPUTS_PER_CALL: String(MAX_INPUTS),
      SF_REQUEST_TIMEOUT_MS: '3000',
    });
    const keys = new RedisKeys('chaos');
    await waitFor(async () => (await producer.redis.hget(keys.pending, FLOW)) === '0', {
      message: 'every trigger settled',
      timeoutMs: 200_000,
      intervalMs: 500,
    });

    const audit = auditDeliveries(people, sim.deliveries());
    const calls = sim.calls();
    const byStatus: Record<string, number> = {};
    for (const call of calls)
      byStatus[String(call.status)] = (byStatus[String(call.status)] ?? 0) + 1;
    const unknowable = calls.filter((call) => call.status === 'hang' || call.status === 'aborted');
    const unknowableInputs = unknowable.reduce((n, call) => n + call.succeeded, 0);
    const unknowableIds = new Set(unknowable.flatMap((call) => call.individualIds ?? []));
    const unexplained = audit.duplicatedIds.filter((id) => !unknowableIds.has(id));
    const stats = sim.stats();
    recordFigures('salesforce-chaos', {
      triggers: TRIGGERS,
      accepted: audit.accepted,
      delivered: audit.delivered,
      lost: audit.lost,
      duplicated: audit.duplicated,
      calls: calls.length,
      callsByStatus: byStatus,
      hangs: byStatus.hang ?? 0,
      aborted: byStatus.aborted ?? 0,
      duplicateBound: unknowable.length * MAX_INPUTS,
      inputsOfHungCalls: unknowableInputs,
      unexplainedDuplicates: unexplained.length,
      tokenRequests: stats.tokenRequests,
      highestConcurrency: stats.concurrency.highest,
      deadLetters: await producer.deadLetters.count(),
      // Calls each trigger took to succeed, as its record in Redis says: 503s spend none.
      attemptsToSucceed: await attemptsHistogram(producer, 'chaos'),
    });

    expect(audit.lost, `lost, e.g. ${audit.lostSample.join(', ')}`).toBe(0);
    // A dead letter here is a transient fault taken for a permanent one: name what killed it.
    const letters = await producer.deadLetters.list({}, 5);
    expect(letters.map((l) => ({ error: l.error, attempts: l.attempts }))).toEqual([]);
    // The faults did happen.
    expect(byStatus[503] ?? 0).toBeGreaterThan(0);
    expect(byStatus.hang ?? 0).toBeGreaterThan(0);
    expect(byStatus.reset ?? 0).toBeGreaterThan(0);
    expect(stats.tokenRequests.granted).toBeGreaterThan(1);
    // Duplicates: only inputs of calls that ran and were never answered in time, at most one
    // call's worth per such call.
    expect(unexplained).toEqual([]);
    expect(audit.duplicated).toBeLessThanOrEqual(unknowableInputs);
    expect(audit.duplicated).toBeLessThanOrEqual(unknowable.length * MAX_INPUTS);
    // The fleet's cap held through it all (refused calls and token resends included): the
    // simulator counts every invoke POST open at once.
    expect(stats.concurrency.highest).toBeLessThanOrEqual(MAX_CONCURRENCY);
  });
});

/** How many triggers took each number of counted attempts ("ok:2": succeeded at the second). */
async function attemptsHistogram(
  producer: Producer,
  prefix: string,
): Promise<Record<string, number>> {
  const histogram: Record<string, number> = {};
  for (const key of await producer.redis.keys(`{${prefix}}*:out:*`)) {
    for (const raw of Object.values(await producer.redis.hgetall(key))) {
      const record = decodeTriggerRecord(raw);
      if (!record || record.s === 'moved') continue;
      const bucket = `${record.s}:${record.a}`;
      histogram[bucket] = (histogram[bucket] ?? 0) + 1;
    }
  }
  return histogram;
}
