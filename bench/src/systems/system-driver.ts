import type { LatencyReport } from '../latency-recorder.js';
import type { LoadGenerator } from '../load-generator-client.js';
import type { PrivateRedis } from '../private-redis.js';
import type { ProbedProcess } from '../process-probe.js';
import type { SimulatorProcess } from '../simulator-process.js';
import type { SinkConfig } from '../sinks/trigger-sink.js';

export type SystemId = 'B0' | 'B1' | 'B2' | 'ours' | 'ours-ingest';

/** What a system driver gets to work with in one run. */
export interface SystemContext {
  redis: PrivateRedis;
  sim: SimulatorProcess;
  loadGenerator: LoadGenerator;
  /** A directory for this run's files (logs, profiles). */
  dir: string;
}

/**
 * One system under test, as the scenarios drive it: start its consuming processes, hold them
 * (nothing is consumed; the backlog builds up) and release them, say how many triggers are
 * settled, hand over every enqueue → answer time, stop.
 */
export interface SystemDriver {
  readonly system: SystemId;
  /** False for B1: no queue, nothing to hold, the producer's burst is the whole run. */
  readonly queued: boolean;
  /** How the load generator hands triggers to this system (read after `start`). */
  readonly sink: SinkConfig;
  /** Starts the consuming processes; they start held. */
  start(): Promise<void>;
  /** The processes to measure, besides the load generator, Redis and the simulator. */
  processes(): ProbedProcess[];
  hold(): Promise<void>;
  release(): Promise<void>;
  /** Forgets what was answered so far: the warm-up is over, the measured phase starts. */
  resetRecord(): Promise<void>;
  /** Triggers answered (or given up) since `resetRecord`, out of `written` handed over since. */
  settled(written: number): Promise<number>;
  /** Every enqueue → answer time since `resetRecord` (call once the phase settled). */
  latencies(): Promise<LatencyReport>;
  stop(): Promise<void>;
  /** Where CPU profiles of its processes were written, and when each process started. */
  cpuProfiles?(): { dir: string; startedAtByPid: Map<number, number> } | undefined;
}
