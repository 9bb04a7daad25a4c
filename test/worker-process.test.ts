import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { startRedisServer } from '@flow-dispatcher/testkit';
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliProcess } from './support/cli-process.js';
import { fleetEnv, startWorkerProcess, workerReady } from './support/fleet.js';
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

describe('worker process and what it depends on', () => {
  let sim: Simulator;
  let prefix: string;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('proc-res');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 200 } });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await sim.close();
  });

  it('says not ready (/readyz 503) while Redis is unreachable, and ready again once it is back', async () => {
    const redis = await startRedisServer({ args: ['--appendonly', 'yes'] });
    cleanup.push(() => redis.stop());
    const producer = new Producer({ redis: redis.url, prefix });
    cleanup.push(() => producer.close());
    const worker = await startWorkerProcess(
      fleetEnv({ redisUrl: redis.url, prefix, simulatorUrl: sim.url }),
    );
    cleanup.push(() => worker.kill('SIGKILL'));
    expect(await workerReady(worker)).toBe(200);

    await redis.kill();
    await waitFor(async () => (await workerReady(worker)) === 503, {
      message: '/readyz 503 with Redis gone',
    });
    // Alive all the same (a liveness probe must not restart it for Redis's sake).
    expect(worker.child.exitCode).toBeNull();

    await redis.restart();
    await waitFor(async () => (await workerReady(worker)) === 200, {
      message: '/readyz 200 with Redis back',
      timeoutMs: 30_000,
    });
    await producer.triggerMany('Welcome_SMS', inputs(20, 'ready'));
    await waitFor(() => sim.stats().deliveries.unique === 20, {
      message: 'delivered by the same worker',
    });
  });

  it('holds no more than WORKER_MAX_BUFFERED_TRIGGERS, passing it by less than one chunk', async () => {
    const MAX = 500;
    const CHUNK = 150;
    const producer = new Producer({ redis: TEST_REDIS_URL, prefix, maxChunkSize: CHUNK });
    cleanup.push(() => deletePrefix(TEST_REDIS_URL, prefix));
    cleanup.push(() => producer.close());
    // 20 chunks of 150, drained slowly (one call of 50 in flight, 200 ms each), so the worker
    // always has more to fetch than it may hold.
    await producer.triggerMany('Welcome_SMS', inputs(3_000, 'buff'));
    const queue = new Queue('Welcome_SMS', {
      connection: producer.redis,
      prefix: producer.keys.bullPrefix,
    });
    cleanup.push(() => queue.close());
    const worker = await startWorkerProcess(
      fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: sim.url,
        extra: {
          WORKER_MAX_BUFFERED_TRIGGERS: String(MAX),
          SF_MAX_CONCURRENCY: '1',
          SF_MAX_INPUTS_PER_CALL: '50',
        },
      }),
    );
    cleanup.push(() => worker.kill('SIGKILL'));
    // What the worker holds: the triggers of the chunks it has taken (active) that have no
    // outcome recorded yet. Sampled until a tenth of the run is delivered.
    let most = 0;
    await waitFor(
      async () => {
        let held = 0;
        for (const job of await queue.getJobs(['active'])) {
          if (!job?.id) continue;
          const size = (job.data as { inputs: unknown[] }).inputs.length;
          held += size - (await producer.redis.hlen(producer.keys.outcomes(job.id)));
        }
        most = Math.max(most, held);
        return sim.stats().deliveries.unique >= 300;
      },
      { message: 'a tenth delivered', timeoutMs: 60_000, intervalMs: 20 },
    );
    // It fetches while it holds fewer than the bound, a chunk at a time: at most one chunk less
    // one trigger beyond it (here 4 chunks: 600). It did fill up to the bound.
    expect(most).toBeLessThanOrEqual(MAX + CHUNK - 1);
    expect(most).toBeGreaterThanOrEqual(MAX);
  });

  it('holds no more than WORKER_MAX_BUFFERED_BYTES of inputs, passing it by less than one chunk', async () => {
    const MAX_BYTES = 1024 * 1024;
    const CHUNK = 10;
    const PAD = 'x'.repeat(20_000);
    const producer = new Producer({ redis: TEST_REDIS_URL, prefix, maxChunkSize: CHUNK });
    cleanup.push(() => deletePrefix(TEST_REDIS_URL, prefix));
    cleanup.push(() => producer.close());
    // 30 chunks of 10 inputs of ~20 KB: the trigger bound (20,000) never binds, the byte bound
    // (1 MiB: ~52 inputs) does.
    await producer.triggerMany(
      'Welcome_SMS',
      inputs(300, 'byte').map((input) => ({ ...input, Coupon_Code: PAD })),
    );
    const queue = new Queue('Welcome_SMS', {
      connection: producer.redis,
      prefix: producer.keys.bullPrefix,
    });
    cleanup.push(() => queue.close());
    const worker = await startWorkerProcess(
      fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: sim.url,
        extra: {
          WORKER_MAX_BUFFERED_BYTES: String(MAX_BYTES),
          SF_MAX_CONCURRENCY: '1',
          SF_MAX_INPUTS_PER_CALL: '5',
        },
      }),
    );
    cleanup.push(() => worker.kill('SIGKILL'));
    let most = 0;
    await waitFor(
      async () => {
        let held = 0;
        for (const job of await queue.getJobs(['active'])) {
          if (!job?.id) continue;
          const size = (job.data as { inputs: unknown[] }).inputs.length;
          held += size - (await producer.redis.hlen(producer.keys.outcomes(job.id)));
        }
        most = Math.max(most, held);
        return sim.stats().deliveries.unique >= 60;
      },
      { message: 'a fifth delivered', timeoutMs: 60_000, intervalMs: 20 },
    );
    const inputBytes = Buffer.byteLength(
      JSON.stringify({ ...inputs(1, 'byte')[0], Coupon_Code: PAD }),
    );
    // Bytes held: at most the bound plus one chunk less one input; and it did fill up to it.
    expect(most * inputBytes).toBeLessThan(MAX_BYTES + CHUNK * inputBytes);
    expect(most * inputBytes).toBeGreaterThanOrEqual(MAX_BYTES - CHUNK * inputBytes);
  });
});
