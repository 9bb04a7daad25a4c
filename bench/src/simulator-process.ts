import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordedCall, SimulatorStats } from '@flow-dispatcher/simulator';
import { CLI_BIN } from './bench-paths.js';

export interface DeliverySummary {
  uniqueDelivered: number;
  totalDelivered: number;
  duplicates: number;
}

/**
 * The simulated Salesforce, as its own process (`flow-dispatcher simulator`), shared by every run
 * of a bench: between runs the harness resets its record through `/__sim/reset`, so each run's
 * calls and deliveries are its own. Its allocation is set far above anything a run spends, except
 * in the bound scenario, which sets its own limits and puts these back.
 */
export class SimulatorProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(options: { latencyMs: number; dir: string }): Promise<SimulatorProcess> {
    const configFile = join(options.dir, 'simulator-config.json');
    writeFileSync(configFile, JSON.stringify(SIMULATOR_BASE_CONFIG));
    const child = spawn(
      process.execPath,
      [CLI_BIN, 'simulator', '--latency-ms', String(options.latencyMs), '--config', configFile],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(
        () => reject(new Error('the simulator did not start in 20 s')),
        20_000,
      );
      child.stdout?.setEncoding('utf8').on('data', (text: string) => {
        buffered += text;
        const match = /"url":"([^"]+)"/.exec(buffered);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the simulator exited while starting (code ${code})`));
      });
    });
    return new SimulatorProcess(child, url);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async #admin<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}/__sim/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator ${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  reset(): Promise<unknown> {
    return this.#admin('POST', 'reset');
  }

  /** A config patch as JSON (`maxConcurrency: null` lifts the cap). */
  configure(patch: Record<string, unknown>): Promise<unknown> {
    return this.#admin('POST', 'config', patch);
  }

  stats(): Promise<SimulatorStats> {
    return this.#admin('GET', 'stats');
  }

  /** The newest invoke calls (at most `maxRecordedCalls`), in arrival order. */
  calls(since = 0): Promise<RecordedCall[]> {
    return this.#admin('GET', `calls?since=${since}`);
  }

  deliveries(): Promise<DeliverySummary> {
    return this.#admin('GET', 'deliveries/summary');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/**
 * What every run starts from: an allocation no run can spend (B1 and B2 make one call per
 * trigger), no concurrency cap, and a call record kept small (the bench reads counters only).
 */
export const SIMULATOR_BASE_CONFIG = {
  dailyLimit: 1_000_000_000_000,
  dailyUsed: 0,
  maxConcurrency: null,
  maxRecordedCalls: 10_000,
} as const;
