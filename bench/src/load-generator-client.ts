import { roleScript } from './bench-paths.js';
import { RpcChild } from './child-rpc.js';
import type { LatencyReport } from './latency-recorder.js';
import type { BulkResult, PacedResult } from './roles/load-generator.js';
import type { SinkConfig } from './sinks/trigger-sink.js';

/** The harness's handle on the load generator child (see roles/load-generator.ts). */
export class LoadGenerator {
  private constructor(readonly rpc: RpcChild) {}

  static async start(): Promise<LoadGenerator> {
    return new LoadGenerator(await RpcChild.start('load-generator', roleScript('load-generator')));
  }

  get pid(): number {
    return this.rpc.pid;
  }

  prepare(config: SinkConfig): Promise<void> {
    return this.rpc.call('prepare', config);
  }

  bulk(tag: string, from: number, count: number): Promise<BulkResult> {
    return this.rpc.call('bulk', { tag, from, count });
  }

  paced(tag: string, rate: number, durationMs: number): Promise<PacedResult> {
    return this.rpc.call('paced', { tag, rate, durationMs });
  }

  progress(): Promise<{ answered: number; failed: number }> {
    return this.rpc.call('progress');
  }

  report(): Promise<LatencyReport | null> {
    return this.rpc.call('report');
  }

  /** Forgets the latencies recorded so far (after a warm-up). */
  reset(): Promise<void> {
    return this.rpc.call('reset');
  }

  stop(): Promise<void> {
    return this.rpc.stop();
  }
}
