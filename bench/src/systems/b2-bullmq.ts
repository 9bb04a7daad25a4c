import { Queue } from 'bullmq';
import { roleScript } from '../bench-paths.js';
import { RpcChild } from '../child-rpc.js';
import { type LatencyReport, mergeLatencyReports } from '../latency-recorder.js';
import type { ProbedProcess } from '../process-probe.js';
import type { B2WorkerConfig } from '../roles/b2-worker.js';
import type { SinkConfig } from '../sinks/trigger-sink.js';
import type { SystemContext, SystemDriver } from './system-driver.js';

export interface B2Options {
  workers: number;
  /** BullMQ Worker concurrency per process. */
  concurrency: number;
}

const B2_QUEUE = 'b2-triggers';

/** B2: plain BullMQ, one job per trigger, one call per job (see roles/b2-worker.ts). */
export class B2Bullmq implements SystemDriver {
  readonly system = 'B2';
  readonly queued = true;
  readonly sink: SinkConfig;
  readonly #queue: Queue;
  #workers: RpcChild[] = [];

  constructor(
    private readonly ctx: SystemContext,
    private readonly options: B2Options,
  ) {
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
    this.#workers = await Promise.all(
      Array.from({ length: this.options.workers }, (_, i) =>
        RpcChild.start(`b2-worker-${i}`, roleScript('b2-worker')),
      ),
    );
    await Promise.all(this.#workers.map((w) => w.call('prepare', config)));
  }

  processes(): ProbedProcess[] {
    return this.#workers.map((w) => ({ role: 'worker', pid: w.pid }));
  }

  hold(): Promise<void> {
    return this.#queue.pause();
  }

  release(): Promise<void> {
    return this.#queue.resume();
  }

  async resetRecord(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.call('reset')));
  }

  async settled(): Promise<number> {
    const progress = await Promise.all(
      this.#workers.map((w) => w.call<{ answered: number; failed: number }>('progress')),
    );
    return progress.reduce((n, p) => n + p.answered + p.failed, 0);
  }

  async latencies(): Promise<LatencyReport> {
    return mergeLatencyReports(
      await Promise.all(this.#workers.map((w) => w.call<LatencyReport>('report'))),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.stop()));
    await this.#queue.close();
  }
}
