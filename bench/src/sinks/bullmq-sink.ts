import { createRedis, type FlowInput } from '@flow-dispatcher/shared';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { benchInput } from '../workload.js';
import { inLanes, type SinkConfig, type TriggerSink } from './trigger-sink.js';

/** Completed jobs are dropped at once (as ours drops settled chunks): Redis stays small. */
export const B2_JOB_OPTIONS: JobsOptions = { removeOnComplete: true, removeOnFail: false };

/**
 * B2's producer: plain BullMQ, one job per trigger. A burst goes through `addBulk` (`perCall`
 * jobs per call, `inFlight` calls at once), the fastest way BullMQ offers to add many jobs.
 */
export class BullmqSink implements TriggerSink {
  readonly #redis: Redis;
  readonly #queue: Queue;

  constructor(private readonly config: Extract<SinkConfig, { kind: 'bullmq' }>) {
    this.#redis = createRedis(config.redisUrl, { connectionName: 'bench-b2-producer' });
    this.#queue = new Queue(config.queue, { connection: this.#redis });
  }

  async bulk(tag: string, from: number, count: number): Promise<void> {
    const { perCall, inFlight } = this.config;
    const calls = Math.ceil(count / perCall);
    await inLanes(calls, inFlight, async (c) => {
      const first = from + c * perCall;
      const size = Math.min(perCall, from + count - first);
      const jobs = Array.from({ length: size }, (_, i) => ({
        name: 'trigger',
        data: benchInput(tag, first + i),
        opts: B2_JOB_OPTIONS,
      }));
      await this.#queue.addBulk(jobs);
    });
  }

  async one(input: FlowInput): Promise<void> {
    await this.#queue.add('trigger', input, B2_JOB_OPTIONS);
  }

  async close(): Promise<void> {
    await this.#queue.close();
    await this.#redis.quit();
  }
}
