import { Producer } from '@flow-dispatcher/producer';
import { createLogger, createMetrics, type Metrics, RedisKeys } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { QueueDepthSampler } from '@flow-dispatcher/worker';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fleetEnv, startInProcessWorker } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/** Gauge values by their label values joined with '/', e.g. `Welcome_SMS/waiting`. */
async function gauge(
  metrics: Metrics,
  name: 'queueJobs' | 'backlogTriggers' | 'deadLetters',
): Promise<Record<string, number>> {
  const { values } = await metrics[name].get();
  return Object.fromEntries(
    values.map((v) => [Object.values(v.labels).join('/') || 'value', v.value]),
  );
}

const inputs = (tag: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    IndividualId: `0PK${tag}${String(i).padStart(15 - tag.length, '0')}`,
  }));

describe('queue depth sampler', () => {
  let prefix: string;
  let producer: Producer;
  let sim: Simulator | undefined;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(() => {
    prefix = uniquePrefix('depth');
    producer = new Producer({ redis: TEST_REDIS_URL, prefix, maxChunkSize: 100 });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await producer.close();
    await sim?.close();
    sim = undefined;
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('reports chunk jobs by flow and state, triggers not yet settled, and dead letters', async () => {
    await producer.triggerMany('Welcome_SMS', inputs('sms', 250)); // 3 chunks of ≤ 100
    await producer.triggerMany('Order_Confirmation_Email', inputs('eml', 40)); // 1 chunk
    const redis = new Redis(TEST_REDIS_URL);
    const metrics = createMetrics({ defaultMetrics: false });
    const sampler = new QueueDepthSampler({
      redis,
      keys: new RedisKeys(prefix),
      metrics,
      logger: createLogger({ level: 'silent' }),
      intervalMs: 60_000,
    });
    cleanup.push(async () => {
      await sampler.stop();
      redis.disconnect();
    });

    await sampler.sample();
    expect(await gauge(metrics, 'queueJobs')).toEqual({
      // Every chunk carries a priority (normal by default): BullMQ keeps them as prioritized.
      'Welcome_SMS/waiting': 0,
      'Welcome_SMS/prioritized': 3,
      'Welcome_SMS/active': 0,
      'Welcome_SMS/delayed': 0,
      'Welcome_SMS/failed': 0,
      'Order_Confirmation_Email/waiting': 0,
      'Order_Confirmation_Email/prioritized': 1,
      'Order_Confirmation_Email/active': 0,
      'Order_Confirmation_Email/delayed': 0,
      'Order_Confirmation_Email/failed': 0,
    });
    expect(await gauge(metrics, 'backlogTriggers')).toEqual({
      Welcome_SMS: 250,
      Order_Confirmation_Email: 40,
    });
    expect(await gauge(metrics, 'deadLetters')).toEqual({ value: 0 });
  });

  it('a worker keeps the gauges current on its own timer while it drains the queues', async () => {
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 10 },
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: '0PKbad' },
          error: { statusCode: 'UNKNOWN_EXCEPTION', message: 'An error occurred.' },
        },
      ],
    });
    await producer.triggerMany('Welcome_SMS', [...inputs('ok', 300), ...inputs('bad', 3)]);
    const worker = await startInProcessWorker(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    cleanup.push(() => worker.close());
    // Sampled at start and every 5 s after: in the end nothing is left, three dead letters,
    // no chunk job waiting.
    await waitFor(
      async () => {
        const backlog = await gauge(worker.metrics, 'backlogTriggers');
        const dead = await gauge(worker.metrics, 'deadLetters');
        const jobs = await gauge(worker.metrics, 'queueJobs');
        return (
          backlog.Welcome_SMS === 0 &&
          dead.value === 3 &&
          jobs['Welcome_SMS/waiting'] === 0 &&
          jobs['Welcome_SMS/prioritized'] === 0
        );
      },
      { message: 'the drained queue sampled', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(sim.stats().deliveries.unique).toBe(300);
    expect(await producer.deadLetters.count()).toBe(3);
  });

  it('keeps the last numbers when Redis does not answer, and stops cleanly', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    down.on('error', () => {});
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.deadLetters.set(7);
    const lines: string[] = [];
    const logger = createLogger({
      level: 'warn',
      destination: {
        write: (line: string) => lines.push(line),
      } as unknown as NodeJS.WritableStream,
    });
    const sampler = new QueueDepthSampler({
      redis: down,
      keys: new RedisKeys(prefix),
      metrics,
      logger,
      intervalMs: 60_000,
    });
    sampler.start();
    await sampler.sample();
    await sampler.stop();
    down.disconnect();
    expect(await gauge(metrics, 'deadLetters')).toEqual({ value: 7 });
    // One warning per failure streak, not one per sample.
    expect(lines.filter((l) => l.includes('could not sample the queue depth'))).toHaveLength(1);
  });

  it('exports the enqueued counts of every partition by flow and source, restarting a series Redis lost', async () => {
    const partitioned = new Producer({
      redis: TEST_REDIS_URL,
      prefix,
      partitions: 3,
      maxChunkSize: 10,
      source: 'cli',
    });
    cleanup.push(() => partitioned.close());
    // Chunks of 10 round robin over 3 partitions, and keyed triggers (their key's partition).
    await partitioned.triggerMany('Welcome_SMS', inputs('cli', 45));
    await partitioned.triggerMany('Welcome_SMS', inputs('key', 7), {
      keys: Array.from({ length: 7 }, (_, i) => `k${i}`),
    });
    // A duplicate key is not counted.
    await partitioned.trigger('Welcome_SMS', inputs('dup', 1)[0] as { IndividualId: string }, {
      key: 'k0',
    });
    const keys = new RedisKeys(prefix, 3);
    const redis = new Redis(TEST_REDIS_URL);
    const metrics = createMetrics({ defaultMetrics: false });
    const sampler = new QueueDepthSampler({
      redis,
      keys,
      metrics,
      logger: createLogger({ level: 'silent' }),
      intervalMs: 60_000,
    });
    cleanup.push(async () => {
      await sampler.stop();
      redis.disconnect();
    });
    const counts = async () =>
      Object.fromEntries(
        (await metrics.triggersEnqueued.get()).values.map((v) => [
          `${v.labels.flow}/${v.labels.source}`,
          v.value,
        ]),
      );
    const perPartition = await Promise.all(
      keys.allPartitions.map((p) => redis.hget(p.enqueued, 'cli:Welcome_SMS')),
    );
    expect(perPartition.filter((n) => Number(n) > 0).length).toBeGreaterThan(1);
    await sampler.sample();
    expect(await counts()).toEqual({ 'Welcome_SMS/cli': 52 });
    await sampler.sample();
    expect(await counts()).toEqual({ 'Welcome_SMS/cli': 52 });
    await partitioned.triggerMany('Welcome_SMS', inputs('more', 3));
    await sampler.sample();
    expect(await counts()).toEqual({ 'Welcome_SMS/cli': 55 });
    // Redis lost its counts (flushed, restored from an old snapshot): the series restarts from
    // Redis's number, as a process restart would, instead of sticking at the old one.
    await Promise.all(keys.allPartitions.map((p) => redis.del(p.enqueued)));
    await partitioned.triggerMany('Welcome_SMS', inputs('after', 4));
    await sampler.sample();
    expect(await counts()).toEqual({ 'Welcome_SMS/cli': 4 });
  });
});
