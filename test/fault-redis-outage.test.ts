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
import { sleep, waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const OUTAGE_MS = 10_000;
const LOCK_MS = 4_000;

/**
 * Redis unreachable for 10 s, longer than the chunk locks (4 s), while ingest takes requests and
 * workers dispatch. Two ways:
 * - stopped: the process is gone (connections refused), then started again from its
 *   append-only file, as a restarted pod or a failed-over managed Redis;
 * - frozen: SIGSTOP, so connections open and nothing answers (a network partition, a stuck
 *   host), then SIGCONT.
 * Ingest must answer 503 (never 202 for a write it could not confirm, never hang), the same
 * worker processes must carry on by themselves afterwards, and every 202 must be delivered.
 *
 * A 503 says which of two things happened (README, "Using it over HTTP"): "nothing was stored"
 * (Redis was already unreachable, nothing was written), or "may not be stored" (the write was sent
 * and not confirmed: cut off by the disconnect, or past INGEST_WRITE_TIMEOUT_MS; a frozen Redis
 * runs it when it wakes up). Each test checks that triggers delivered without a 202 all got the
 * second kind.
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
    // recordInputs: each call keeps its IndividualIds, so a duplicate can be traced to its call.
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 30 }, recordInputs: true });
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
          WORKER_LOCK_DURATION_MS: String(LOCK_MS),
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
        const message = String(answer.json?.error?.message ?? '');
        // "nothing was stored": refused before writing; "may not be stored" (a write cut off)
        // and "did not confirm the write" (a write past its deadline): sent, fate unknown.
        const stored = /nothing was stored/.test(message)
          ? 'nothing-stored'
          : /may not be stored|did not confirm the write/.test(message)
            ? 'maybe-stored'
            : 'unsaid';
        return {
          outcome: 'refused',
          detail: `${answer.status} ${answer.json?.error?.code} ${stored} retry-after=${answer.headers['retry-after']}`,
        };
      },
    }).start();

    await waitFor(() => simulator.stats().deliveries.unique >= 3_000, {
      message: '3,000 delivered before the outage',
      timeoutMs: 60_000,
    });
    const acceptedBefore = traffic.accepted.size;
    const outageStart = Date.now();
    if (kind === 'stopped') await server.kill();
    else server.child.kill('SIGSTOP');
    await waitFor(() => traffic.refusals >= 100, { message: '503s during the outage' });
    const readyDuring = (await http.request('GET', '/readyz', { auth: false })).status;
    const acceptedDuring = traffic.accepted.size;
    // The fault lasts its full length, longer than the locks.
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
    const deliveries = simulator.deliveries();
    const audit = auditDeliveries(traffic.accepted.keys(), deliveries);
    const deliveredWithout202 = [...deliveries.keys()].filter((id) => !traffic.accepted.has(id));
    return {
      traffic,
      audit,
      /** What each trigger delivered without a 202 was answered. */
      without202As: deliveredWithout202.map((id) => traffic.answeredAs.get(id) ?? 'never sent'),
      calls: simulator.calls(),
      outageStart,
      outageEnd,
      acceptedBefore,
      acceptedDuring,
      readyDuring,
      deliveredAtEnd,
      workersAlive: workers.every((w) => w.child.exitCode === null && w.child.signalCode === null),
      ingestAlive: started.process.child.exitCode === null,
      readyAfter: (await http.request('GET', '/readyz', { auth: false })).status,
    };
  }

  type Run = Awaited<ReturnType<typeof outage>>;

  function figures(kind: string, run: Run): void {
    recordFigures(`redis-outage-${kind}`, {
      outageMs: run.outageEnd - run.outageStart,
      sent: run.traffic.sent,
      accepted: run.audit.accepted,
      acceptedDuringOutageStart: run.acceptedDuring - run.acceptedBefore,
      refused: Object.fromEntries(run.traffic.refused),
      connectionFailures: Object.fromEntries(run.traffic.failed),
      delivered: run.audit.delivered,
      lost: run.audit.lost,
      duplicated: run.audit.duplicated,
      deliveredWithout202: run.without202As.length,
    });
  }

  /** What holds whichever way Redis went away. */
  function expectRiddenOut(run: Run, refusals: RegExp): void {
    expect(run.readyDuring).toBe(503);
    expect(run.readyAfter).toBe(200);
    expect(run.traffic.failures).toBe(0);
    // Only 503s, each with Retry-After, saying whether anything may have been stored.
    for (const detail of run.traffic.refused.keys()) expect(detail).toMatch(refusals);
    expect(run.workersAlive).toBe(true);
    expect(run.ingestAlive).toBe(true);
    expect(run.audit.lost, `lost, e.g. ${run.audit.lostSample.join(', ')}`).toBe(0);
    // A trigger delivered without a 202 got a 503 that said it may have been stored: never one
    // that said nothing was.
    expect(run.without202As.filter((as) => !/ maybe-stored /.test(as))).toEqual([]);
  }

  it('stopped: ingest answers 503, workers reconnect by themselves, every 202 is delivered once', async () => {
    const run = await outage('stopped');
    figures('stopped', run);
    // Refused at once while Redis is gone ("nothing was stored"); a write cut off by the kill
    // "may not be stored".
    expectRiddenOut(
      run,
      /^503 (REDIS_UNAVAILABLE nothing-stored|(REDIS_UNAVAILABLE|WRITE_FAILED) maybe-stored) retry-after=1$/,
    );
    // Nothing ran twice: the workers had no call in flight while Redis was gone (permits live in
    // Redis), and the outcomes of those answered just before were recorded once it was back.
    expect(run.audit.duplicatedIds).toEqual([]);
  });

  it('frozen: ingest answers 503, workers reconnect by themselves, every 202 is delivered', async () => {
    const run = await outage('frozen');
    figures('frozen', run);
    // Writes sent to the frozen Redis wait out INGEST_WRITE_TIMEOUT_MS and run when it wakes up
    // (WRITE_FAILED: "did not confirm the write"); a connection known to be down is refused at
    // once ("nothing was stored").
    expectRiddenOut(
      run,
      /^503 (REDIS_UNAVAILABLE nothing-stored|(REDIS_UNAVAILABLE|WRITE_FAILED) maybe-stored) retry-after=1$/,
    );
    // The writes that timed out did run: those triggers were delivered although the producer was
    // told 503. (A resend with the same keys would have been answered `duplicate: true`.)
    expect(run.without202As.length).toBeGreaterThan(0);
  });
});
