import type { Logger, Metrics, RedisKeys } from '@flow-dispatcher/shared';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * BullMQ states exported as `flow_dispatcher_queue_jobs{state}`. Completed chunks are removed;
 * BullMQ 6 keeps the jobs of a paused queue in `waiting`.
 */
export const SAMPLED_JOB_STATES = [
  'waiting',
  'prioritized',
  'active',
  'delayed',
  'failed',
] as const;

export interface QueueDepthSamplerOptions {
  redis: Redis;
  keys: RedisKeys;
  metrics: Metrics;
  logger: Logger;
  /** Time between two samples. @defaultValue 5000 */
  intervalMs?: number;
}

/**
 * Copies the depth of the queues from Redis into gauges: chunk jobs per flow and BullMQ state
 * (`getJobCounts` on each flow of the registry), triggers not yet settled per flow (the pending
 * counter), and dead letters (the size of the dead-letter set).
 *
 * States: created → running (one sample at start, then one every `intervalMs`; a sample never
 * overlaps the previous one) → stopped. The trade-off: the numbers are up to `intervalMs` old,
 * and in exchange Redis pays one sample per interval per worker whatever the number of scrapers
 * and their rate. Every worker reports the same fleet-wide numbers, so queries aggregate them
 * with `max`. A failed sample leaves the last numbers in place and logs once per failure streak.
 */
export class QueueDepthSampler {
  readonly #queues = new Map<string, Queue>();
  #timer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> | undefined;
  #state: 'created' | 'running' | 'stopped' = 'created';
  #failing = false;

  constructor(private readonly options: QueueDepthSamplerOptions) {}

  start(): void {
    if (this.#state !== 'created') return;
    this.#state = 'running';
    this.#tick();
  }

  #tick(): void {
    this.#sampling = this.sample().finally(() => {
      this.#sampling = undefined;
      if (this.#state !== 'running') return;
      this.#timer = setTimeout(() => this.#tick(), this.options.intervalMs ?? 5_000);
      this.#timer.unref();
    });
  }

  /** Reads the depths once and sets the gauges. Never throws. */
  async sample(): Promise<void> {
    const { redis, keys, metrics, logger } = this.options;
    try {
      const [flows, pending, deadLetters] = await Promise.all([
        redis.smembers(keys.flows),
        redis.hgetall(keys.pending),
        redis.zcard(keys.deadLetters),
      ]);
      const counts = await Promise.all(
        flows.map((flow) => this.#queue(flow).getJobCounts(...SAMPLED_JOB_STATES)),
      );
      flows.forEach((flow, i) => {
        for (const state of SAMPLED_JOB_STATES) {
          metrics.queueJobs.set({ flow, state }, counts[i]?.[state] ?? 0);
        }
        metrics.backlogTriggers.set({ flow }, Number(pending[flow] ?? 0));
      });
      metrics.deadLetters.set(deadLetters);
      if (this.#failing) logger.info('queue depth sampling recovered');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) logger.warn({ err }, 'could not sample the queue depth; will retry');
      this.#failing = true;
    }
  }

  #queue(flow: string): Queue {
    let queue = this.#queues.get(flow);
    if (!queue) {
      queue = new Queue(flow, {
        connection: this.options.redis,
        prefix: this.options.keys.bullPrefix,
      });
      // Errors reach `sample` through the failed command; keep the emitter from throwing.
      queue.on('error', () => {});
      this.#queues.set(flow, queue);
    }
    return queue;
  }

  /** Stops sampling; resolves once a sample in progress has finished. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    await this.#sampling;
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
  }
}
