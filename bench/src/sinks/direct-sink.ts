import type { FlowInput } from '@flow-dispatcher/shared';
import { DirectSalesforce } from '../direct-salesforce.js';
import { LatencyRecorder } from '../latency-recorder.js';
import { BENCH_FLOW, benchInput } from '../workload.js';
import { inLanes, type SinkConfig, type TriggerSink } from './trigger-sink.js';

/**
 * B1: no queue. The producer calls Salesforce itself, one call per trigger. A burst runs with
 * `concurrency` calls in flight; a paced trigger is called the moment it arrives (a backend
 * calling from its request handler). The enqueue time is when the call starts.
 */
export class DirectSink implements TriggerSink {
  readonly recorder = new LatencyRecorder();

  private constructor(
    private readonly client: DirectSalesforce,
    private readonly concurrency: number,
  ) {}

  static async connect(config: Extract<SinkConfig, { kind: 'direct' }>): Promise<DirectSink> {
    const client = await DirectSalesforce.connect({
      loginUrl: config.loginUrl,
      flow: BENCH_FLOW,
      connections: config.connections,
    });
    return new DirectSink(client, config.concurrency);
  }

  async bulk(tag: string, from: number, count: number): Promise<void> {
    await inLanes(count, this.concurrency, (i) => this.one(benchInput(tag, from + i)));
  }

  async one(input: FlowInput): Promise<void> {
    const startedAt = Date.now();
    try {
      const result = await this.client.invoke([input]);
      if (result.succeeded === 1) this.recorder.record(startedAt, Date.now());
      else this.recorder.fail(1);
    } catch {
      this.recorder.fail(1);
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
