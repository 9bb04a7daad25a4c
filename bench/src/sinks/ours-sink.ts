import { Producer } from '@flow-dispatcher/producer';
import type { FlowInput } from '@flow-dispatcher/shared';
import { BENCH_FLOW, benchInputs } from '../workload.js';
import type { SinkConfig, TriggerSink } from './trigger-sink.js';

/** Slices of a burst handed to one `triggerMany` call (bounds the producer's memory). */
const SLICE = 50_000;

/**
 * Ours through the producer library: a burst goes through `triggerMany` (chunk jobs of
 * `chunkSize`), a paced trigger through `trigger` (calls made together share a chunk job, as
 * with ingest's group commit, without a linger).
 */
export class OursSink implements TriggerSink {
  readonly #producer: Producer;
  readonly #lanes: number;

  constructor(config: Extract<SinkConfig, { kind: 'ours' }>) {
    this.#producer = new Producer({
      redis: config.redisUrl,
      prefix: config.prefix,
      maxChunkSize: config.chunkSize,
    });
    this.#lanes = config.lanes;
  }

  async bulk(tag: string, from: number, count: number): Promise<void> {
    for (let offset = 0; offset < count; offset += SLICE) {
      const inputs = benchInputs(tag, from + offset, Math.min(SLICE, count - offset));
      await this.#producer.triggerMany(BENCH_FLOW, inputs, { concurrency: this.#lanes });
    }
  }

  async one(input: FlowInput): Promise<void> {
    await this.#producer.trigger(BENCH_FLOW, input);
  }

  close(): Promise<void> {
    return this.#producer.close();
  }
}
