import type { CallStatus } from './call-log.js';
import type { CallFault } from './fault-injection.js';

export interface SimulatorStats {
  /** Answered (or otherwise finished) invoke calls; keys are HTTP statuses or reset/hang/aborted. */
  invokeCalls: { total: number; byStatus: Record<string, number> };
  /** `received`: inputs in well-formed bodies of existing flows, refused calls included. */
  inputs: { received: number; succeeded: number; failed: number };
  /** `duplicates`: successful interviews beyond the first per IndividualId. */
  deliveries: { unique: number; total: number; duplicates: number };
  tokenRequests: { granted: number; refused: number };
  apiUsage: { used: number; max: number };
  /** `highest`: most invoke calls open at once (refused ones included); `limit` null = no cap. */
  concurrency: { highest: number; inFlight: number; limit: number | null };
  /** Requests answered 403 REQUEST_LIMIT_EXCEEDED. */
  refusedForLimits: { daily: number; concurrency: number };
  /** Whole-call faults still armed by `failNext`. */
  armedFaults: Record<CallFault, number>;
}

/** Running totals behind `stats()`; cleared by `reset()`. */
export class StatsCounters {
  invokeTotal = 0;
  invokeByStatus: Record<string, number> = {};
  inputsReceived = 0;
  inputsSucceeded = 0;
  inputsFailed = 0;
  tokensGranted = 0;
  tokensRefused = 0;
  refusedDaily = 0;
  refusedConcurrency = 0;

  countCall(status: Exclude<CallStatus, 'in-flight'>): void {
    this.invokeTotal++;
    const key = String(status);
    this.invokeByStatus[key] = (this.invokeByStatus[key] ?? 0) + 1;
  }

  clear(): void {
    this.invokeTotal = 0;
    this.invokeByStatus = {};
    this.inputsReceived = 0;
    this.inputsSucceeded = 0;
    this.inputsFailed = 0;
    this.tokensGranted = 0;
    this.tokensRefused = 0;
    this.refusedDaily = 0;
    this.refusedConcurrency = 0;
  }
}
