import type { CallVerdict } from '../types.js';

/** Salesforce counts a request as long-running from 20 s; above this share of it, back off. */
export const LONG_CALL_MS = 20_000;
const NEARING_LONG_CALL_MS = 15_000;

/** What one answered call tells the fleet's limiter. */
export interface LimitSignal {
  /** Shrink the adaptive concurrency limit (multiplicative decrease). */
  decrease: boolean;
  /** Grow it (additive increase): the call went through quickly. */
  increase: boolean;
  /** Pause every call of the org: why, and the least time (Retry-After) when Salesforce said. */
  pause?: { cause: PauseCause; minMs: number };
  /** The daily allocation is spent (403 TotalRequests): close the budget until usage is re-read. */
  budgetExhausted: boolean;
  /** A flow's circuit should open (404). */
  flowMissing: boolean;
  /** The call succeeded as far as the org is concerned (resets pause backoff). */
  healthy: boolean;
}

export type PauseCause = 'overloaded' | 'rate-limited' | 'daily-limit' | 'concurrency-limit';

/**
 * Reads one call's verdict and duration as signals for the fleet-wide limits (pure).
 *
 * | verdict                          | concurrency | pause                  | other           |
 * |----------------------------------|-------------|------------------------|-----------------|
 * | results, fast                    | increase    |                        | healthy         |
 * | results, ≥ 15 s (nearing 20 s)   | decrease    |                        | healthy         |
 * | overloaded (500/502/503)         | decrease    | overloaded (Retry-After)|                |
 * | rate-limited (429)               | decrease    | rate-limited (Retry-After)|              |
 * | concurrency-limit                | decrease    | concurrency-limit      |                 |
 * | daily-limit (403 TotalRequests)  |             | daily-limit            | budget closed   |
 * | timeout (sent)                   | decrease    |                        |                 |
 * | flow-missing (404)               |             |                        | open circuit    |
 */
export function limitSignal(verdict: CallVerdict, durationMs: number): LimitSignal {
  const signal: LimitSignal = {
    decrease: false,
    increase: false,
    budgetExhausted: false,
    flowMissing: false,
    healthy: false,
  };
  switch (verdict.kind) {
    case 'results': {
      signal.healthy = true;
      if (durationMs >= NEARING_LONG_CALL_MS) signal.decrease = true;
      else signal.increase = true;
      return signal;
    }
    case 'overloaded':
      return {
        ...signal,
        decrease: true,
        pause: { cause: 'overloaded', minMs: verdict.retryAfterMs ?? 0 },
      };
    case 'rate-limited':
      return {
        ...signal,
        decrease: true,
        pause: { cause: 'rate-limited', minMs: verdict.retryAfterMs ?? 0 },
      };
    case 'concurrency-limit':
      return { ...signal, decrease: true, pause: { cause: 'concurrency-limit', minMs: 0 } };
    case 'daily-limit':
      return { ...signal, budgetExhausted: true, pause: { cause: 'daily-limit', minMs: 0 } };
    case 'timeout':
      return { ...signal, decrease: verdict.sent };
    case 'flow-missing':
      return { ...signal, flowMissing: true, healthy: true };
    default:
      return signal;
  }
}

/**
 * How long the whole fleet pauses after the `streak`-th overload in a row (1 = the first):
 * exponential from 1 s, capped at 60 s, with equal jitter so the fleet's workers do not come back
 * in lock step; never less than Salesforce's Retry-After.
 */
export function pauseMs(streak: number, minMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(60_000, 1_000 * 2 ** Math.max(0, Math.min(streak - 1, 10)));
  return Math.round(Math.max(minMs, ceiling / 2 + (random() * ceiling) / 2));
}
