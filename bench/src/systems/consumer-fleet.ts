import { roleScript } from '../bench-paths.js';
import { RpcChild } from '../child-rpc.js';
import { type LatencyReport, mergeLatencyReports } from '../latency-recorder.js';
import type { ProbedProcess } from '../process-probe.js';

/**
 * The consumer processes of a baseline (B0's consumers, B2's workers): `count` children of one
 * role, prepared with the same config, asked together, their answers and latencies summed.
 */
export class ConsumerFleet {
  private constructor(
    readonly role: string,
    readonly children: readonly RpcChild[],
  ) {}

  static async start(
    script: 'b0-consumer' | 'b2-worker',
    role: 'consumer' | 'worker',
    count: number,
    config: unknown,
  ): Promise<ConsumerFleet> {
    const children = await Promise.all(
      Array.from({ length: count }, (_, i) => RpcChild.start(`${script}-${i}`, roleScript(script))),
    );
    const fleet = new ConsumerFleet(role, children);
    await fleet.callAll('prepare', config);
    return fleet;
  }

  processes(): ProbedProcess[] {
    return this.children.map((c) => ({ role: this.role, pid: c.pid }));
  }

  callAll<T>(cmd: string, args?: unknown): Promise<T[]> {
    return Promise.all(this.children.map((c) => c.call<T>(cmd, args)));
  }

  /** Triggers answered or failed since the last `reset`, over every child. */
  async settled(): Promise<number> {
    const progress = await this.callAll<{ answered: number; failed: number }>('progress');
    return progress.reduce((n, p) => n + p.answered + p.failed, 0);
  }

  async latencies(): Promise<LatencyReport> {
    return mergeLatencyReports(await this.callAll<LatencyReport>('report'));
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop()));
  }
}

/** What a baseline driver answers from its consumer fleet, once `start` has set `fleet`. */
export abstract class FleetSystem {
  protected fleet: ConsumerFleet | undefined;

  protected get started(): ConsumerFleet {
    if (!this.fleet) throw new Error('the system is not started');
    return this.fleet;
  }

  processes(): ProbedProcess[] {
    return this.fleet?.processes() ?? [];
  }

  async resetRecord(): Promise<void> {
    await this.started.callAll('reset');
  }

  settled(): Promise<number> {
    return this.started.settled();
  }

  latencies(): Promise<LatencyReport> {
    return this.started.latencies();
  }
}
