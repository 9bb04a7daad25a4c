import type { LatencyReport } from '../latency-recorder.js';
import type { ProbedProcess } from '../process-probe.js';
import type { SinkConfig } from '../sinks/trigger-sink.js';
import type { SystemContext, SystemDriver } from './system-driver.js';

export interface B1Options {
  /** Calls in flight during a burst. */
  concurrency: number;
}

/**
 * B1: no queue, no consumer. The load generator is the backend and calls Salesforce once per
 * trigger (see sinks/direct-sink.ts); it is the only process of the system besides Salesforce.
 */
export class B1Direct implements SystemDriver {
  readonly system = 'B1';
  readonly queued = false;
  readonly sink: SinkConfig;

  constructor(
    private readonly ctx: SystemContext,
    options: B1Options,
  ) {
    // A paced load calls as triggers arrive, whatever the burst concurrency: enough connections
    // that none waits for a socket.
    this.sink = {
      kind: 'direct',
      loginUrl: ctx.sim.url,
      concurrency: options.concurrency,
      connections: Math.max(options.concurrency, 512),
    };
  }

  async start(): Promise<void> {}

  processes(): ProbedProcess[] {
    return [];
  }

  async hold(): Promise<void> {}

  async release(): Promise<void> {}

  resetRecord(): Promise<void> {
    return this.ctx.loadGenerator.reset();
  }

  async settled(): Promise<number> {
    const progress = await this.ctx.loadGenerator.progress();
    return progress.answered + progress.failed;
  }

  async latencies(): Promise<LatencyReport> {
    const report = await this.ctx.loadGenerator.report();
    if (!report) throw new Error('the load generator kept no latencies for B1');
    return report;
  }

  async stop(): Promise<void> {}
}
