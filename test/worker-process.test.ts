import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliProcess } from './support/cli-process.js';
import { fleetEnv, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const inputs = (count: number, tag: string) =>
  Array.from({ length: count }, (_, i) => ({
    IndividualId: `0PK${tag}${String(i).padStart(12, '0')}`,
  }));

describe('worker process lifecycle', () => {
  let sim: Simulator;
  let prefix: string;
  let producer: Producer;
  const workers: CliProcess[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('proc');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 300 } });
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill('SIGKILL')));
    await producer.close();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  const env = () =>
    fleetEnv({
      redisUrl: TEST_REDIS_URL,
      prefix,
      simulatorUrl: sim.url,
      // A killed worker's chunks come back once their lock expires and a stalled check runs.
      extra: {
        WORKER_LOCK_DURATION_MS: '2000',
        WORKER_STALLED_INTERVAL_MS: '1000',
        SF_MAX_CONCURRENCY: '4',
      },
    });

  async function worker(): Promise<CliProcess> {
    const process = await startWorkerProcess(env());
    workers.push(process);
    return process;
  }

  it('loses nothing when a worker is SIGKILLed mid-batch and another takes over', async () => {
    await producer.triggerMany('Welcome_SMS', inputs(4_000, 'kill'));
    const first = await worker();
    // Kill it while calls are in flight: some triggers answered, others not yet.
    await waitFor(
      () => sim.stats().deliveries.unique >= 800 && sim.stats().concurrency.inFlight > 0,
      {
        message: 'calls in flight',
      },
    );
    await first.kill('SIGKILL');
    const deliveredAtKill = sim.stats().deliveries.unique;
    expect(deliveredAtKill).toBeLessThan(4_000);

    await worker();
    await waitFor(() => sim.stats().deliveries.unique === 4_000, {
      message: 'every trigger delivered',
      timeoutMs: 60_000,
    });
    await waitFor(
      async () => (await producer.redis.hget(producer.keys.pending, 'Welcome_SMS')) === '0',
      {
        message: 'nothing left pending',
      },
    );
    // At-least-once: duplicates only from the calls that were in flight when the worker died
    // (at most SF_MAX_CONCURRENCY calls of 200 inputs).
    const { duplicates } = sim.stats().deliveries;
    expect(duplicates).toBeLessThanOrEqual(4 * 200);
    expect(await producer.deadLetters.count()).toBe(0);
  });

  it('on SIGTERM finishes the calls in flight, hands back the rest and exits 0', async () => {
    await producer.triggerMany('Welcome_SMS', inputs(6_000, 'term'));
    const first = await worker();
    await waitFor(
      () => sim.stats().deliveries.unique >= 400 && sim.stats().concurrency.inFlight > 0,
      {
        message: 'calls in flight',
      },
    );
    const exit = await first.kill('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(first.output).toMatch(/"msg":"worker stopped"/);
    // Everything the stopped worker sent was answered and recorded: no call was cut short.
    expect(sim.stats().concurrency.inFlight).toBe(0);
    const deliveredAtStop = sim.stats().deliveries.unique;
    expect(deliveredAtStop).toBeLessThan(6_000);
    const pending = Number(await producer.redis.hget(producer.keys.pending, 'Welcome_SMS'));
    expect(pending).toBe(6_000 - deliveredAtStop);

    await worker();
    await waitFor(() => sim.stats().deliveries.unique === 6_000, {
      message: 'the rest delivered',
      timeoutMs: 60_000,
    });
    // A graceful stop sends nothing twice.
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });
});
