import type { FlowInput } from '@flow-dispatcher/shared';
import { Pool } from 'undici';
import { BENCH_FLOW, benchInput } from '../workload.js';
import { inLanes, type SinkConfig, type TriggerSink } from './trigger-sink.js';

/**
 * Ours through HTTP ingest: one trigger per `POST /v1/flows/{flow}/triggers`, as a backend in any
 * language would send it; ingest group-commits concurrent requests into chunk jobs. A burst runs
 * `concurrency` requests at once (the warm-up); a paced trigger is sent the moment it is due.
 */
export class IngestHttpSink implements TriggerSink {
  readonly #pool: Pool;
  readonly #path = `/v1/flows/${BENCH_FLOW}/triggers`;
  readonly #authorization: string;

  constructor(private readonly config: Extract<SinkConfig, { kind: 'ingest-http' }>) {
    this.#pool = new Pool(config.url, { connections: config.connections, pipelining: 1 });
    this.#authorization = `Bearer ${config.token}`;
  }

  async bulk(tag: string, from: number, count: number): Promise<void> {
    await inLanes(count, this.config.concurrency, (i) => this.one(benchInput(tag, from + i)));
  }

  async one(input: FlowInput): Promise<void> {
    const response = await this.#pool.request({
      method: 'POST',
      path: this.#path,
      headers: { authorization: this.#authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ triggers: [{ input }] }),
    });
    const text = await response.body.text();
    if (response.statusCode !== 202) {
      throw new Error(`ingest answered ${response.statusCode}: ${text.slice(0, 200)}`);
    }
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
