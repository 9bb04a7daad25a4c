import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestClient, individualIds, ingestEnv, startIngest } from './ingest-support.js';
import { fleetEnv, startInProcessWorker } from './support/fleet.js';
import { waitFor } from './support/wait.js';

describe('ingest while Redis goes away', () => {
  let redis: RedisServerProcess;
  let sim: Simulator;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    // Every write is on disk before Redis answers it, so a killed Redis comes back with every
    // trigger it acknowledged: what this test checks is that ingest never says 202 for more.
    redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await sim.close();
    await redis.stop();
  });

  it('answers 503 while Redis is down, and every 202 is delivered once it is back', async () => {
    const prefix = 'outage';
    const server = await startIngest(
      ingestEnv(redis.url, prefix, { INGEST_WRITE_TIMEOUT_MS: '1000' }),
    );
    cleanup.push(() => server.close());
    const client = new IngestClient(server.url, undefined, 8);
    cleanup.push(() => client.close());

    const people = individualIds('out', 100_000);
    const accepted = new Map<string, string>(); // IndividualId → trigger id
    const refused: { status: number; code: string; retryAfter: unknown }[] = [];
    const failures: string[] = [];
    let next = 0;
    let running = true;
    const traffic = async () => {
      while (running && next < people.length) {
        const IndividualId = people[next++] as string;
        try {
          const answer = await client.trigger('Welcome_SMS', { input: { IndividualId } });
          if (answer.status === 202) accepted.set(IndividualId, answer.json.accepted[0].id);
          else
            refused.push({
              status: answer.status,
              code: answer.json?.error?.code,
              retryAfter: answer.headers['retry-after'],
            });
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const loops = Array.from({ length: 8 }, traffic);

    await waitFor(() => accepted.size >= 300, {
      message: '300 triggers accepted before the outage',
    });
    await redis.kill();
    await waitFor(() => refused.length >= 50, { message: '503s while Redis is down' });
    expect((await client.request('GET', '/readyz', { auth: false })).status).toBe(503);
    const acceptedDuringOutage = accepted.size;
    await redis.restart();
    await waitFor(() => accepted.size >= acceptedDuringOutage + 300, {
      message: '202s again after Redis is back',
      timeoutMs: 30_000,
    });
    running = false;
    await Promise.all(loops);

    expect(failures).toEqual([]);
    // Only 503s, with Retry-After, saying Redis is away (or did not confirm the write).
    expect(
      refused.filter(
        (r) =>
          r.status !== 503 ||
          !['REDIS_UNAVAILABLE', 'WRITE_FAILED'].includes(r.code) ||
          r.retryAfter !== '1',
      ),
    ).toEqual([]);
    expect((await client.request('GET', '/readyz', { auth: false })).status).toBe(200);

    // Every trigger that got a 202 reaches Salesforce.
    const worker = await startInProcessWorker(
      fleetEnv({ redisUrl: redis.url, prefix, simulatorUrl: sim.url }),
    );
    cleanup.push(() => worker.close());
    await waitFor(
      () => {
        const delivered = sim.deliveries();
        return [...accepted.keys()].every((id) => delivered.has(id));
      },
      { message: `all ${accepted.size} accepted triggers delivered`, timeoutMs: 60_000 },
    );
    const status = await client.get(`/v1/triggers/${[...accepted.values()][0]}`);
    expect(status.json).toMatchObject({ state: 'succeeded' });
  });
});
