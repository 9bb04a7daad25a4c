import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CLI_BIN } from '../bench-paths.js';
import { startCli, stopCli } from '../cli-process.js';
import type { LatencyReport } from '../latency-recorder.js';
import type { ProbedProcess } from '../process-probe.js';
import type { SinkConfig } from '../sinks/trigger-sink.js';
import { Ours, type OursOptions, oursEnv } from './ours.js';
import type { SystemContext, SystemDriver } from './system-driver.js';

const TOKEN = 'bench-ingest-token-0123456789';

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
  ) {
    this.#ours = new Ours(ctx, options);
  }

  get sink(): SinkConfig {
    if (!this.#url) throw new Error('ingest is not started');
    return { kind: 'ingest-http', url: this.#url, token: TOKEN, concurrency: 64, connections: 512 };
  }

  async start(): Promise<void> {
    await this.#ours.start();
    const started = await startCli(
      [CLI_BIN, 'ingest'],
      { ...oursEnv(this.ctx), INGEST_PORT: '0', INGEST_TOKENS: TOKEN },
      join(this.ctx.dir, 'ingest.log'),
      '"msg":"ingest ready"',
    );
    this.#ingest = started.child;
    const port = (JSON.parse(started.readyLine) as { port?: number }).port;
    if (!port) throw new Error('ingest did not say which port it listens on');
    this.#url = `http://127.0.0.1:${port}`;
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
