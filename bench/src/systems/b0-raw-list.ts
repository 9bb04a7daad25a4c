import { roleScript } from '../bench-paths.js';
import { RpcChild } from '../child-rpc.js';
import { type LatencyReport, mergeLatencyReports } from '../latency-recorder.js';
import type { ProbedProcess } from '../process-probe.js';
import type { B0ConsumerConfig } from '../roles/b0-consumer.js';
import type { SinkConfig } from '../sinks/trigger-sink.js';
import type { SystemContext, SystemDriver } from './system-driver.js';

export interface B0Options {
  consumers: number;
  /** Calls in flight per consumer process (ours: SF_MAX_CONCURRENCY). */
  concurrency: number;
  maxInputs: number;
  lingerMs: number;
}

/** B0: LPUSH onto a raw list, consumers RPOP/BRPOP into full batched calls (see roles/b0-consumer.ts). */
export class B0RawList implements SystemDriver {
  readonly system = 'B0';
  readonly queued = true;
  readonly sink: SinkConfig;
  #consumers: RpcChild[] = [];

  constructor(
    private readonly ctx: SystemContext,
    private readonly options: B0Options,
  ) {
    this.sink = {
      kind: 'raw-list',
      redisUrl: ctx.redis.url,
      key: B0_KEY,
      perCommand: 1_000,
      inFlight: 4,
    };
  }

  async start(): Promise<void> {
    const config: B0ConsumerConfig = {
      redisUrl: this.ctx.redis.url,
      loginUrl: this.ctx.sim.url,
      key: B0_KEY,
      maxInputs: this.options.maxInputs,
      lingerMs: this.options.lingerMs,
      concurrency: this.options.concurrency,
    };
    this.#consumers = await Promise.all(
      Array.from({ length: this.options.consumers }, (_, i) =>
        RpcChild.start(`b0-consumer-${i}`, roleScript('b0-consumer')),
      ),
    );
    await Promise.all(this.#consumers.map((c) => c.call('prepare', config)));
  }

  processes(): ProbedProcess[] {
    return this.#consumers.map((c) => ({ role: 'consumer', pid: c.pid }));
  }

  async hold(): Promise<void> {
    await Promise.all(this.#consumers.map((c) => c.call('hold')));
  }

  async release(): Promise<void> {
    await Promise.all(this.#consumers.map((c) => c.call('release')));
  }

  async resetRecord(): Promise<void> {
    await Promise.all(this.#consumers.map((c) => c.call('reset')));
  }

  async settled(): Promise<number> {
    const progress = await Promise.all(
      this.#consumers.map((c) => c.call<{ answered: number; failed: number }>('progress')),
    );
    return progress.reduce((n, p) => n + p.answered + p.failed, 0);
  }

  async latencies(): Promise<LatencyReport> {
    return mergeLatencyReports(
      await Promise.all(this.#consumers.map((c) => c.call<LatencyReport>('report'))),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.#consumers.map((c) => c.stop()));
  }
}

const B0_KEY = 'b0:triggers';
