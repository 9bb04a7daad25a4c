import type { CallStatus } from './call-log.js';
import type { CallFault } from './fault-injection.js';
import { type RequestKind, requestKinds } from './request-kind.js';

/** Requests of one kind: `total` at arrival, `byStatus` once answered (keys: HTTP statuses). */
export interface RequestCount {
  total: number;
  byStatus: Record<string, number>;
}

export interface SimulatorStats {
  /**
   * Answered (or otherwise finished) invoke calls; keys are HTTP statuses or reset/hang/aborted.
   * `rolledBack`: calls whose shared transaction broke a governor limit (every input failed).
   */
  invokeCalls: { total: number; byStatus: Record<string, number>; rolledBack: number };
  /**
   * Every request to the Salesforce endpoints, by kind, refused ones included. A request that is
   * never answered (reset, aborted, still hanging) counts in `total` only.
   */
  requests: Record<RequestKind, RequestCount>;
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
  /** Requests answered 403 API_DISABLED_FOR_ORG / INSUFFICIENT_ACCESS (the `refuse` setting). */
  refusedForAccess: { apiDisabled: number; insufficientAccess: number };
  /** Whole-call faults still armed by `failNext`. */
  armedFaults: Record<CallFault, number>;
}

/** Running totals behind `stats()`; cleared by `reset()`. */
export class StatsCounters {
  invokeTotal = 0;
  invokeByStatus: Record<string, number> = {};
  invokeRolledBack = 0;
  requests = emptyRequestCounts();
  inputsReceived = 0;
  inputsSucceeded = 0;
  inputsFailed = 0;
  tokensGranted = 0;
  tokensRefused = 0;
  refusedDaily = 0;
  refusedConcurrency = 0;
  refusedApiDisabled = 0;
  refusedInsufficientAccess = 0;

  countCall(status: Exclude<CallStatus, 'in-flight'>): void {
    this.invokeTotal++;
    const key = String(status);
    this.invokeByStatus[key] = (this.invokeByStatus[key] ?? 0) + 1;
  }

  requestArrived(kind: RequestKind): void {
    this.requests[kind].total++;
  }

  requestAnswered(kind: RequestKind, status: number): void {
    const byStatus = this.requests[kind].byStatus;
    const key = String(status);
    byStatus[key] = (byStatus[key] ?? 0) + 1;
  }

  /** Deep copy of the request counts, for `stats()`. */
  requestCounts(): Record<RequestKind, RequestCount> {
    const out = emptyRequestCounts();
    for (const kind of requestKinds) {
      out[kind] = {
        total: this.requests[kind].total,
        byStatus: { ...this.requests[kind].byStatus },
      };
    }
    return out;
  }

  clear(): void {
    this.invokeTotal = 0;
    this.invokeByStatus = {};
    this.invokeRolledBack = 0;
    this.requests = emptyRequestCounts();
    this.inputsReceived = 0;
    this.inputsSucceeded = 0;
    this.inputsFailed = 0;
    this.tokensGranted = 0;
    this.tokensRefused = 0;
    this.refusedDaily = 0;
    this.refusedConcurrency = 0;
    this.refusedApiDisabled = 0;
    this.refusedInsufficientAccess = 0;
  }
}

function emptyRequestCounts(): Record<RequestKind, RequestCount> {
  return Object.fromEntries(
    requestKinds.map((kind) => [kind, { total: 0, byStatus: {} }]),
  ) as Record<RequestKind, RequestCount>;
}
