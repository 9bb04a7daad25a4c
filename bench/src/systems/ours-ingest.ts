import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startIngestCli, stopCli } from '../cli-process.js';
import type { LatencyReport } from '../latency-recorder.js';
import type { ProbedProcess } from '../process-probe.js';
import type { SinkConfig } from '../sinks/trigger-sink.js';
import { BENCH_INGEST_TOKEN } from '../workload.js';
import { Ours, type OursOptions, oursEnv } from './ours.js';
import type { SystemContext, SystemDriver } from './system-driver.js';

/**
 * Ours fed over HTTP: a `flow-dispatcher ingest` process (group commit on, its defaults) in front
 * of the same workers as `Ours`. The load generator sends one trigger per request. The enqueue
 * time of a trigger is its chunk's write time, i.e. after ingest's group-commit linger.
 */
export class OursIngest implements SystemDriver {
  readonly system = 'ours-ingest';
  readonly queued = true;
  readonly #ours: Ours;
  #ingest: ChildProcess | undefined;
  #url: string | undefined;

  constructor(
    private readonly ctx: SystemContext,
    options: OursOptions,
    /** Ingest settings beyond the bench's own (INGEST_LINGER_MS from the environment). */
    private readonly ingestEnv: Record<string, string>,
  ) {
    this.#ours = new Ours(ctx, options);
  }

  get sink(): SinkConfig {
    if (!this.#url) throw new Error('ingest is not started');
    return {
      kind: 'ingest-http',
      url: this.#url,
      token: BENCH_INGEST_TOKEN,
      concurrency: 64,
      connections: 512,
    };
  }

  async start(): Promise<void> {
    await this.#ours.start();
    const ingest = await startIngestCli(
      {
        ...oursEnv(this.ctx),
        // The workers' METRICS_PORT: unset for ingest, whose /metrics the bench reads on its URL.
        METRICS_PORT: '',
        ...this.ingestEnv,
        INGEST_TOKENS: BENCH_INGEST_TOKEN,
      },
      join(this.ctx.dir, 'ingest.log'),
    );
    this.#ingest = ingest.child;
    this.#url = ingest.url;
  }

  processes(): ProbedProcess[] {
    const ingest = this.#ingest?.pid;
    return [
      ...this.#ours.processes(),
      ...(ingest === undefined ? [] : [{ role: 'ingest', pid: ingest }]),
    ];
  }

  hold(): Promise<void> {
    return this.#ours.hold();
  }

  release(): Promise<void> {
    return this.#ours.release();
  }

  resetRecord(): Promise<void> {
    return this.#ours.resetRecord();
  }

  settled(written: number): Promise<number> {
    return this.#ours.settled(written);
  }

  latencies(): Promise<LatencyReport> {
    return this.#ours.latencies();
  }

  async stop(): Promise<void> {
    if (this.#ingest) await stopCli(this.#ingest);
    await this.#ours.stop();
  }

  cpuProfiles() {
    return this.#ours.cpuProfiles();
  }
}
