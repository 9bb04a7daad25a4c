import type { AnswerTimeline } from './answer-timeline.js';
import type { CpuProfileSummary } from './cpu-profile-summary.js';
import type { LatencySummary } from './latency-summary.js';
import type { SystemId } from './systems/system-driver.js';

export type ScenarioId = 'drain' | 'paced' | 'bound-concurrency' | 'bound-daily' | 'tune';

/** One process's share of a run. */
export interface ProcessRecord {
  role: string;
  pid: number;
  /** CPU ms inside the measured window (Redis: INFO cpu used_cpu_user + used_cpu_sys). */
  cpuMs: number | null;
  cpuMsPer1k: number | null;
  peakRssMb: number | null;
}

/** Everything measured of one system in one scenario: one row of the table, one JSON record. */
export interface RunRecord {
  id: string;
  system: SystemId;
  scenario: ScenarioId;
  label: string;
  /** What the run was configured with (rate, concurrency, workers, …). */
  params: Record<string, number | string | boolean>;
  /** `stalled`: no progress for the stall timeout (lost triggers); `timeboxed`: bound runs. */
  status: 'ok' | 'stalled' | 'timeboxed';
  /** Triggers handed over in the measured phase. */
  triggers: number;
  timing: {
    writeStartAt: number;
    writeEndAt: number;
    /** When the consumers were released (bulk drain), else the write start. */
    releaseAt: number;
    /** Latest Salesforce answer among the run's triggers. */
    lastAnswerAt: number;
    /** Window over which CPU was measured: from just before the first hand-over to settled. */
    windowMs: number;
    windowEndAt: number;
  };
  throughput: {
    /** Triggers answered per second, from the first hand-over to the last answer. */
    endToEnd: number | null;
    /** Triggers answered per second from the release of a held backlog to the last answer. */
    drain: number | null;
    /** Triggers handed over per second by the producer. */
    write: number | null;
    /** Most triggers answered in any 1 s window. */
    peakPerSecond: number | null;
  };
  /** Answers per 100 ms from the release (bulk) or the first hand-over (paced). */
  timeline: AnswerTimeline;
  salesforce: {
    calls: number;
    inputs: number;
    callsPerTrigger: number | null;
    inputsPerCall: number | null;
    /** Invoke calls open at once, at most (the simulator's count, refused calls included). */
    highestConcurrency: number;
    /** Requests charged to the daily allocation in the window. */
    apiUsed: number;
    byStatus: Record<string, number>;
    refusedForLimits: { daily: number; concurrency: number };
    /**
     * Bound runs only, from the simulator's call record: calls in flight on average between the
     * release and the end of the window, and the mean duration of a call as the simulator saw it.
     */
    inFlight: {
      mean: number;
      meanCallMs: number;
      calls: number;
      firstCallAfterMs: number | null;
      steadyMean: number | null;
    } | null;
  };
  latencyMs: LatencySummary;
  delivery: {
    expected: number;
    /** Distinct IndividualIds the simulator ran a flow interview for. */
    unique: number;
    total: number;
    duplicates: number;
    /** expected − unique; null for a time-boxed run (not lost: not sent yet). */
    lost: number | null;
    /** expected − unique, whatever the status. */
    undelivered: number;
    /** Inputs Salesforce answered as failed, or that the system gave up on. */
    failed: number;
  };
  processes: ProcessRecord[];
  /** With --cpu-prof: ours' workers' profile over the measured phase. */
  cpuProfile?: CpuProfileSummary;
  notes: string[];
}
