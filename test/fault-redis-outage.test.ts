import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
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
import { sleep, waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const OUTAGE_MS = 10_000;

/**
 * Redis unreachable for 10 s while ingest takes requests and workers dispatch. Two ways:
 * - stopped: the process is gone (connections refused), then started again from its
 *   append-only file, as a restarted pod or a failed-over managed Redis;
 * - frozen: SIGSTOP, so connections open and nothing answers (a network partition, a stuck
 *   host), then SIGCONT.
 * Ingest must answer 503 (never 202 for a write it could not confirm, never hang), the same
 * worker processes must carry on by themselves afterwards, and every 202 must be delivered.
 */
describe('fault: Redis unreachable for 10 s', () => {
  let redis: RedisServerProcess | undefined;
  let sim: Simulator | undefined;
  let ingest: CliProcess | undefined;
  let client: IngestClient | undefined;
  let fleet: WorkerFleet | undefined;

  afterEach(async () => {
    if (redis && redis.child.signalCode === null) redis.child.kill('SIGCONT');
    await client?.close();
    await ingest?.kill('SIGKILL');
    await fleet?.killAll();
    await sim?.close();
    await redis?.stop();
  });

  async function outage(kind: 'stopped' | 'frozen') {
    redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 30 } });
    const server = redis;
    const simulator = sim;
    const prefix = `outage-${kind}`;
    const started = await startIngestProcess(
      ingestEnv(server.url, prefix, { INGEST_WRITE_TIMEOUT_MS: '1000', LOG_LEVEL: 'info' }),
    );
    ingest = started.process;
    const http = new IngestClient(started.url, undefined, 16);
    client = http;
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: server.url,
        prefix,
        simulatorUrl: simulator.url,
        extra: {
          SF_MAX_CONCURRENCY: '4',
          WORKER_LOCK_DURATION_MS: '4000',
          WORKER_STALLED_INTERVAL_MS: '1000',
        },
      }),
    );
    const workers = await fleet.start(2);

    const traffic = new Traffic({
      ids: peopleIds(kind === 'stopped' ? 'stop' : 'frz', 20_000),
      concurrency: 16,
      ratePerSecond: 1_000,
      send: async ([IndividualId]) => {
        const answer = await http.trigger(FLOW, { input: { IndividualId } });
        if (answer.status === 202) return { outcome: 'accepted' };
        return {
          outcome: 'refused',
          detail: `${answer.status} ${answer.json?.error?.code} retry-after=${answer.headers['retry-after']}`,
        };
      },
    }).start();

    await waitFor(() => simulator.stats().deliveries.unique >= 3_000, {
      message: '3,000 delivered before the outage',
      timeoutMs: 60_000,
    });
    const acceptedBefore = traffic.accepted.size;
    if (kind === 'stopped') await server.kill();
    else server.child.kill('SIGSTOP');
    const outageStart = Date.now();
    await waitFor(() => traffic.refusals >= 100, { message: '503s during the outage' });
    const readyDuring = (await http.request('GET', '/readyz', { auth: false })).status;
    const acceptedDuring = traffic.accepted.size;
    await sleep(OUTAGE_MS - (Date.now() - outageStart));
    if (kind === 'stopped') await server.restart();
    else server.child.kill('SIGCONT');
    const outageEnd = Date.now();
    const deliveredAtEnd = simulator.stats().deliveries.unique;

    await traffic.done;
    // The same two worker processes deliver what came after the outage: they reconnected alone.
    await waitFor(
      () => {
        const delivered = simulator.deliveries();
        for (const id of traffic.accepted.keys()) if (!delivered.has(id)) return false;
        return true;
      },
      { message: 'every 202 delivered', timeoutMs: 90_000, intervalMs: 500 },
    );
    const audit = auditDeliveries(traffic.accepted.keys(), simulator.deliveries());
    return {
      traffic,
      audit,
      acceptedBefore,
      acceptedDuring,
      readyDuring,
      outageMs: outageEnd - outageStart,
      deliveredAtEnd,
      workersAlive: workers.every((w) => w.child.exitCode === null && w.child.signalCode === null),
      ingestAlive: started.process.child.exitCode === null,
      readyAfter: (await http.request('GET', '/readyz', { auth: false })).status,
    };
  }

  for (const kind of ['stopped', 'frozen'] as const) {
    it(`${kind}: ingest answers 503, workers reconnect by themselves, every 202 is delivered`, async () => {
      const run = await outage(kind);
      recordFigures(`redis-outage-${kind}`, {
        outageMs: run.outageMs,
        sent: run.traffic.sent,
        accepted: run.audit.accepted,
        acceptedDuringOutageStart: run.acceptedDuring - run.acceptedBefore,
        refused: Object.fromEntries(run.traffic.refused),
        connectionFailures: Object.fromEntries(run.traffic.failed),
        delivered: run.audit.delivered,
        lost: run.audit.lost,
        duplicated: run.audit.duplicated,
        deliveredWithout202: run.audit.unacknowledgedDelivered,
      });
      expect(run.readyDuring).toBe(503);
      expect(run.readyAfter).toBe(200);
      expect(run.traffic.failures).toBe(0);
      // Only 503s, each with Retry-After: Redis away, or a write it did not confirm in time.
      for (const detail of run.traffic.refused.keys()) {
        expect(detail).toMatch(/^503 (REDIS_UNAVAILABLE|WRITE_FAILED) retry-after=1$/);
      }
      expect(run.workersAlive).toBe(true);
      expect(run.ingestAlive).toBe(true);
      expect(run.audit.lost, `lost, e.g. ${run.audit.lostSample.join(', ')}`).toBe(0);
    });
  }
});
