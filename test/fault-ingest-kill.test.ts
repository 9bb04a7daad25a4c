import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestClient, ingestEnv, startIngestProcess } from './ingest-support.js';
import type { CliProcess } from './support/cli-process.js';
import {
  auditDeliveries,
  peopleIds,
  recordFigures,
  Traffic,
  WorkerFleet,
} from './support/faults.js';
import { fleetEnv } from './support/fleet.js';
import { waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const TRIGGERS = 24_000;
const PER_REQUEST = 5;

/**
 * `flow-dispatcher ingest` SIGKILLed under load, twice, and a new instance started in its place
 * (on a port of its own, which the clients are then pointed at, as a load balancer would: reusing
 * the dead one's port could race with anything else on the machine taking it).
 * Requests cut off by a kill get no answer; every request that got a 202 must be delivered.
 * Every request carries idempotency keys, and the producers then do what a careful client does
 * with a request that got no answer: send it again with the same keys. That must store nothing
 * twice.
 */
describe('fault: ingest SIGKILLed under load', () => {
  let redis: RedisServerProcess | undefined;
  let sim: Simulator | undefined;
  let ingest: CliProcess | undefined;
  const clients: IngestClient[] = [];
  let fleet: WorkerFleet | undefined;

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await ingest?.kill('SIGKILL');
    await fleet?.killAll();
    await sim?.close();
    await redis?.stop();
  });

  it('delivers every request that got a 202; retries with the same keys store nothing twice', async () => {
    redis = await startRedisServer();
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 20 } });
    const simulator = sim;
    // A longer linger than the default keeps requests waiting in open chunks when the kill comes.
    const env = ingestEnv(redis.url, 'ikill', { INGEST_LINGER_MS: '20' });
    /** The client of the instance that is up: requests go there from its start on. */
    let http: IngestClient;
    const start = async () => {
      const started = await startIngestProcess(env);
      ingest = started.process;
      http = new IngestClient(started.url, undefined, 32);
      clients.push(http);
    };
    await start();
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: redis.url,
        prefix: 'ikill',
        simulatorUrl: simulator.url,
        extra: { SF_MAX_CONCURRENCY: '6' },
      }),
    );
    await fleet.start(2);

    const send = async (batch: string[]) => {
      const answer = await http.post(`/v1/flows/${FLOW}/triggers`, {
        triggers: batch.map((IndividualId) => ({
          input: { IndividualId },
          key: `signup-${IndividualId}`,
        })),
      });
      if (answer.status === 202) return { outcome: 'accepted' as const };
      return {
        outcome: 'refused' as const,
        detail: `${answer.status} ${answer.json?.error?.code}`,
      };
    };
    const traffic = new Traffic({
      ids: peopleIds('ikill', TRIGGERS),
      batch: PER_REQUEST,
      concurrency: 32,
      ratePerSecond: 3_000,
      backoffMs: 100,
      send,
    }).start();

    const kills: { acceptedAtKill: number }[] = [];
    for (const share of [0.3, 0.6]) {
      await waitFor(() => traffic.accepted.size >= TRIGGERS * share, {
        message: `${share * 100} % accepted`,
        timeoutMs: 60_000,
        intervalMs: 5,
      });
      kills.push({ acceptedAtKill: traffic.accepted.size });
      await ingest?.kill('SIGKILL');
      await start();
    }
    await traffic.done;

    // Every 202 is delivered.
    await waitFor(
      () => {
        const delivered = simulator.deliveries();
        for (const id of traffic.accepted.keys()) if (!delivered.has(id)) return false;
        return true;
      },
      { message: 'every 202 delivered', timeoutMs: 60_000, intervalMs: 250 },
    );
    const audit = auditDeliveries(traffic.accepted.keys(), simulator.deliveries());
    const unanswered = [...traffic.unacknowledged];
    const storedWithoutAnswer = unanswered.filter((id) => simulator.deliveries().has(id)).length;

    // The producers retry what got no answer, with the same keys, in batches as first sent.
    const retry = new Traffic({ ids: unanswered, batch: PER_REQUEST, concurrency: 8, send });
    await retry.start().done;
    await waitFor(
      () => {
        const delivered = simulator.deliveries();
        for (const id of unanswered) if (!delivered.has(id)) return false;
        return true;
      },
      { message: 'every retried trigger delivered', timeoutMs: 60_000, intervalMs: 250 },
    );
    const final = auditDeliveries(peopleIds('ikill', TRIGGERS), simulator.deliveries());
    recordFigures('ingest-kill', {
      triggers: TRIGGERS,
      triggersPerRequest: PER_REQUEST,
      kills: kills.length,
      acceptedAtKills: kills.map((k) => k.acceptedAtKill),
      accepted202: audit.accepted,
      delivered: audit.delivered,
      lost: audit.lost,
      requestsWithoutAnswer: traffic.failures,
      requestsWithoutAnswerBy: Object.fromEntries(traffic.failed),
      refused: Object.fromEntries(traffic.refused),
      unansweredTriggersStoredAnyway: storedWithoutAnswer,
      retriedTriggers: unanswered.length,
      retryRefusedOrFailed: retry.refusals + retry.failures,
      afterRetries: { delivered: final.delivered, lost: final.lost, duplicated: final.duplicated },
    });

    expect(kills).toHaveLength(2);
    expect(audit.lost, `lost, e.g. ${audit.lostSample.join(', ')}`).toBe(0);
    // Ingest refused nothing it was able to read: the only trouble was the kills.
    expect(traffic.refusals).toBe(0);
    expect(retry.refusals + retry.failures).toBe(0);
    expect(final.lost).toBe(0);
    // Keys made the retries safe: no IndividualId ran twice.
    expect(final.duplicated).toBe(0);
  });
});
