import { Queue } from 'bullmq';
import type { B2WorkerConfig } from '../roles/b2-worker.js';
import type { SinkConfig } from '../sinks/trigger-sink.js';
import { ConsumerFleet, FleetSystem } from './consumer-fleet.js';
import type { SystemContext, SystemDriver } from './system-driver.js';

export interface B2Options {
  workers: number;
  /** BullMQ Worker concurrency per process. */
  concurrency: number;
}

const B2_QUEUE = 'b2-triggers';

/** B2: plain BullMQ, one job per trigger, one call per job (see roles/b2-worker.ts). */
export class B2Bullmq extends FleetSystem implements SystemDriver {
  readonly system = 'B2';
  readonly queued = true;
  readonly sink: SinkConfig;
  readonly #queue: Queue;

  constructor(
    private readonly ctx: SystemContext,
    private readonly options: B2Options,
  ) {
    super();
    this.sink = {
      kind: 'bullmq',
      redisUrl: ctx.redis.url,
      queue: B2_QUEUE,
      perCall: 1_000,
      inFlight: 4,
    };
    this.#queue = new Queue(B2_QUEUE, { connection: ctx.redis.client });
  }

  async start(): Promise<void> {
    await this.#queue.pause();
    const config: B2WorkerConfig = {
      redisUrl: this.ctx.redis.url,
      loginUrl: this.ctx.sim.url,
      queue: B2_QUEUE,
      concurrency: this.options.concurrency,
    };
    this.fleet = await ConsumerFleet.start('b2-worker', 'worker', this.options.workers, config);
  }

  hold(): Promise<void> {
    return this.#queue.pause();
  }

  release(): Promise<void> {
    return this.#queue.resume();
  }

  async stop(): Promise<void> {
    await this.fleet?.stop();
    await this.#queue.close();
  }
}
