/** How transient failures are retried, per trigger. */
export interface RetryPolicy {
  /** A trigger that failed transiently this many times is dead-lettered. */
  maxAttempts: number;
  /** A trigger older than this (since enqueue) when it fails transiently is dead-lettered. */
  maxAgeMs: number;
  /** First retry delay; it doubles with each attempt. */
  retryBaseMs: number;
  /** Longest retry delay. */
  retryMaxMs: number;
}

/**
 * Delay before the next try after `attempts` counted failures (1 = the first failure): exponential
 * from `retryBaseMs`, capped at `retryMaxMs`, with "equal jitter" (half fixed, half random) so a
 * storm's failures do not come back in lock step. `floorMs` (a Retry-After) is honoured.
 */
export function retryDelayMs(
  attempts: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
  floorMs = 0,
): number {
  const exponent = Math.max(0, Math.min(attempts - 1, 30));
  const ceiling = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** exponent);
  const delay = ceiling / 2 + random() * (ceiling / 2);
  return Math.round(Math.max(delay, floorMs));
}
