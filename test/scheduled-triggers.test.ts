import { RedisKeys } from '@flow-dispatcher/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestClient, ingestEnv, startIngestProcess } from './ingest-support.js';
import type { CliProcess } from './support/cli-process.js';
import { useFaultRig } from './support/fault-rig.js';
import { recordFigures } from './support/faults.js';
import { metricSample, workerMetrics } from './support/fleet.js';
import { waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const PREFIX = 'sched';
/** README, "Scheduled triggers": sent at most DISPATCH_LINGER_MS + 250 ms after notBefore. */
const LINGER_MS = 50;
const BOUND_MS = LINGER_MS + 250;
const STEPS = 200;
const PER_STEP = 50;
const TRIGGERS = STEPS * PER_STEP;
const SPREAD_MS = 20_000;
const START_IN_MS = 12_000;

describe('scheduled triggers', () => {
  const rig = useFaultRig({
    prefix: PREFIX,
    simulator: { latency: { kind: 'fixed', ms: 20 }, recordInputs: true },
  });
  let ingest: CliProcess | undefined;
  let client: IngestClient | undefined;
  afterEach(async () => {
    await client?.close();
    await ingest?.kill('SIGKILL');
    ingest = undefined;
    client = undefined;
  });

  it('sends 10,000 triggers scheduled over 20 s none early, each within linger + 250 ms', async () => {
    const { sim, redis, producer } = rig;
    const fleet = await rig.workers(2, {
      DISPATCH_LINGER_MS: String(LINGER_MS),
      SF_MAX_INPUTS_PER_CALL: '200',
      SF_MAX_CONCURRENCY: '8',
    });
    const started = await startIngestProcess(ingestEnv(redis.url, PREFIX));
    ingest = started.process;
    client = new IngestClient(started.url);
    const ingestClient = client;

    // Step k: PER_STEP triggers due at base + k × 100 ms, one request each (notBefore is per
    // request), half as an ISO instant and half as a delay.
    const base = Date.now() + START_IN_MS;
    const dueOf = new Map<string, number>();
    let next = 0;
    let lastId = '';
    const send = async () => {
      while (next < STEPS) {
        const k = next++;
        const due = base + Math.round((k * SPREAD_MS) / STEPS);
        const triggers = Array.from({ length: PER_STEP }, (_, j) => {
          const id = `s-${k}-${j}`;
          dueOf.set(id, due);
          return { input: { IndividualId: id } };
        });
        const schedule =
          k % 2 === 0 ? { notBefore: new Date(due).toISOString() } : { delay: due - Date.now() };
        const answer = await ingestClient.post(`/v1/flows/${FLOW}/triggers`, {
          ...schedule,
          triggers,
        });
        expect(answer.status, answer.text).toBe(202);
        if (k === STEPS - 1) lastId = answer.json.accepted[0].id as string;
      }
    };
    await Promise.all(Array.from({ length: 8 }, send));
    const enqueuedBy = Date.now() - base;
    const keys = new RedisKeys(PREFIX);

    // Before anything is due: counted as scheduled, not as backlog (what KEDA scales on).
    let sampledBeforeDue: { scheduled?: number; backlog?: number } | undefined;
    if (Date.now() < base - 3_000) {
      expect(await producer.redis.hget(keys.scheduled, FLOW)).toBe(String(TRIGGERS));
      const status = await ingestClient.get(`/v1/triggers/${lastId}`);
      expect(status.json?.state).toBe('scheduled');
      sampledBeforeDue = await waitFor(
        async () => {
          const text = await workerMetrics(fleet.all[0] as CliProcess);
          const scheduled = metricSample(text, 'flow_dispatcher_scheduled_triggers', {
            flow: FLOW,
          });
          const backlog = metricSample(text, 'flow_dispatcher_backlog_triggers', { flow: FLOW });
          return scheduled === TRIGGERS ? { scheduled, backlog } : undefined;
        },
        { message: 'the scheduled gauge', timeoutMs: Math.max(1_000, base - 1_500 - Date.now()) },
      );
      expect(sampledBeforeDue.backlog).toBe(0);
    }
    expect(sim.stats().deliveries.unique).toBe(0);

    await waitFor(
      () =>
        sim
          .calls()
          .filter((call) => call.endedAt !== null)
          .reduce((n, call) => n + (call.individualIds?.length ?? 0), 0) >= TRIGGERS,
      {
        message: 'every trigger sent',
        timeoutMs: START_IN_MS + SPREAD_MS + 30_000,
        intervalMs: 100,
      },
    );

    // The simulator's record: when each trigger reached Salesforce, against its notBefore.
    const lateness: number[] = [];
    const worst: { id: string; late: number; seq: number; ua: string | null }[] = [];
    let early = 0;
    for (const call of sim.calls()) {
      for (const id of call.individualIds ?? []) {
        const due = dueOf.get(id);
        if (due === undefined) continue;
        const late = call.startedAt - due;
        if (late < 0) early++;
        lateness.push(late);
        if (late > BOUND_MS) worst.push({ id, late, seq: call.seq, ua: call.userAgent });
      }
    }
    lateness.sort((a, b) => a - b);
    const pct = (p: number) =>
      lateness[Math.min(lateness.length - 1, Math.floor(p * lateness.length))];
    await waitFor(async () => (await producer.redis.hget(keys.pending, FLOW)) === '0', {
      message: 'every trigger settled',
      timeoutMs: 10_000,
    });
    recordFigures('scheduled-triggers', {
      triggers: TRIGGERS,
      lingerMs: LINGER_MS,
      boundMs: BOUND_MS,
      enqueuedByMsBeforeFirstDue: -enqueuedBy,
      sent: lateness.length,
      early,
      latenessP50Ms: pct(0.5),
      latenessP99Ms: pct(0.99),
      latenessMaxMs: lateness.at(-1),
      scheduledGaugeBeforeDue: sampledBeforeDue?.scheduled,
      backlogGaugeBeforeDue: sampledBeforeDue?.backlog,
      overBound: worst.length,
      overBoundExamples: worst.slice(0, 5),
    });
    expect(lateness).toHaveLength(TRIGGERS);
    expect(early).toBe(0);
    expect(lateness.at(-1)).toBeLessThanOrEqual(BOUND_MS);
    expect(await producer.redis.hget(keys.scheduled, FLOW)).toBe('0');
  }, 120_000);
});
