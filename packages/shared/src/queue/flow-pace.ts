/**
 * Per-flow pacing: the fleet never sends a paced flow's inputs faster than its rate (see
 * docs/design.md, "Pacing a flow"). A token bucket per flow, in Redis, shared by every worker:
 *
 * - tokens accrue at `perSecond` (one token = one input), up to the bucket's capacity;
 * - a worker takes n tokens for a call of n inputs before it asks for a call permit; with fewer
 *   tokens there, it is told how long until there will be n, and keeps filling the call meanwhile;
 * - a call carries at most half a window's worth (`paceCallCap`), the bucket holds a whole window
 *   (`paceCapacity`): a worker that comes back a little late for its tokens loses none of them;
 * - a new bucket (a flow just paced, or idle for a minute) starts empty: the first window is not
 *   a burst.
 *
 * Over any span of T seconds the fleet sends at most perSecond × T + capacity inputs of the flow,
 * so over a minute it is within window / 60 s of the rate, and over 30 s at 100/s within 3 %.
 *
 * The worker's Lua (pace-scripts.ts) does exactly what `takeTokens` does; the unit tests check the
 * math here and an integration test checks that the two agree.
 */

/** A flow's pace, as stored (JSON in the `paces` hash, field = flow). */
export interface FlowPace {
  /** Inputs per second, fleet-wide (> 0). */
  perSecond: number;
  /** The averaging window: the bucket holds this much of the rate. @defaultValue 1000 */
  windowMs: number;
}

/** The default averaging window: one second. */
export const DEFAULT_PACE_WINDOW_MS = 1_000;
/** Bounds of a window: 1 s to 1 h. */
export const MIN_PACE_WINDOW_MS = 1_000;
export const MAX_PACE_WINDOW_MS = 3_600_000;
/** Bounds of a rate: one input an hour to 100,000 a second. */
export const MIN_PACE_PER_SECOND = 1 / 3_600;
export const MAX_PACE_PER_SECOND = 100_000;
/** A bucket left alone this long expires (it comes back empty). */
export const PACE_BUCKET_TTL_MS = 60_000;

/** A rate or window the pace refuses, with a message an operator can act on. */
export class InvalidPaceError extends Error {
  override readonly name = 'InvalidPaceError';
  readonly code = 'INVALID_PACE';
}

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  m: 60,
  min: 60,
  minute: 60,
  h: 3_600,
  hr: 3_600,
  hour: 3_600,
};

/** `500/min`, `100/s`, `2000/hour`, `1.5/sec` → inputs per second; an InvalidPaceError otherwise. */
export function parsePaceRate(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([a-z]+)\s*$/i.exec(text);
  const unit = match ? UNIT_SECONDS[(match[2] as string).toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new InvalidPaceError(
      `${JSON.stringify(text)} is not a rate: write a number of triggers per s, min or hour, e.g. 500/min`,
    );
  }
  return checkPerSecond(Number(match[1]) / unit);
}

/** `1s`, `30s`, `1m`, `1500ms` → milliseconds; an InvalidPaceError otherwise. */
export function parsePaceWindow(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)\s*$/i.exec(text);
  const factor = match
    ? { ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000 }[
        (match[2] as string).toLowerCase() as 'ms'
      ]
    : undefined;
  if (!match || factor === undefined) {
    throw new InvalidPaceError(
      `${JSON.stringify(text)} is not a window: write a duration such as 1s, 30s or 5m`,
    );
  }
  return checkWindowMs(Number(match[1]) * factor);
}

export function checkPerSecond(perSecond: number): number {
  if (
    !Number.isFinite(perSecond) ||
    perSecond < MIN_PACE_PER_SECOND ||
    perSecond > MAX_PACE_PER_SECOND
  ) {
    throw new InvalidPaceError(
      'a pace must be between 1 trigger an hour and 100,000 triggers a second',
    );
  }
  return perSecond;
}

export function checkWindowMs(windowMs: number): number {
  if (
    !Number.isFinite(windowMs) ||
    windowMs < MIN_PACE_WINDOW_MS ||
    windowMs > MAX_PACE_WINDOW_MS
  ) {
    throw new InvalidPaceError('a pacing window must be between 1 s and 1 h');
  }
  return Math.round(windowMs);
}

/** Reads a stored pace; null when absent or unreadable (an unreadable pace paces nothing). */
export function decodePace(raw: string | null | undefined): FlowPace | null {
  if (raw === null || raw === undefined) return null;
  try {
    const value = JSON.parse(raw) as { perSecond?: unknown; windowMs?: unknown };
    const perSecond = Number(value.perSecond);
    const windowMs = value.windowMs === undefined ? DEFAULT_PACE_WINDOW_MS : Number(value.windowMs);
    if (!(perSecond > 0) || !Number.isFinite(perSecond) || !(windowMs > 0)) return null;
    return { perSecond, windowMs };
  } catch {
    return null;
  }
}

export function encodePace(pace: FlowPace): string {
  return JSON.stringify({ perSecond: pace.perSecond, windowMs: pace.windowMs });
}

/** Most inputs one call of the flow may carry: half a window's worth, at least 1. */
export function paceCallCap(pace: FlowPace): number {
  return Math.max(1, Math.floor((pace.perSecond * pace.windowMs) / 2_000));
}

/** Most tokens the bucket holds: a window's worth, at least two calls' worth. */
export function paceCapacity(pace: FlowPace): number {
  return Math.max(2 * paceCallCap(pace), (pace.perSecond * pace.windowMs) / 1_000);
}

/** A bucket in Redis: tokens, and when they were counted (epoch ms, Redis's clock). */
export interface PaceBucket {
  tokens: number;
  at: number;
}

/** What a worker is told when it asks for tokens. */
export interface PaceGrant {
  /** Inputs the call may carry (tokens taken); 0: wait `waitMs` and ask again. */
  granted: number;
  /** How long until the tokens asked for will be there (0 when granted). */
  waitMs: number;
  /** The bucket after the ask. */
  bucket: PaceBucket;
}

/** The bucket's tokens at `now`: what it had plus what accrued, up to its capacity. */
export function refill(bucket: PaceBucket | null, pace: FlowPace, now: number): PaceBucket {
  if (bucket === null) return { tokens: 0, at: now };
  const elapsed = Math.max(0, now - bucket.at);
  return {
    tokens: Math.min(paceCapacity(pace), bucket.tokens + (pace.perSecond * elapsed) / 1_000),
    at: Math.max(now, bucket.at),
  };
}

/**
 * Asks for tokens for a call of up to `want` inputs: grants min(want, call cap) when that many
 * are there, else nothing and the wait until they will be.
 */
export function takeTokens(
  bucket: PaceBucket | null,
  pace: FlowPace,
  want: number,
  now: number,
): PaceGrant {
  const filled = refill(bucket, pace, now);
  const n = Math.min(Math.floor(want), paceCallCap(pace));
  if (n <= 0) return { granted: 0, waitMs: 0, bucket: filled };
  if (filled.tokens >= n) {
    return { granted: n, waitMs: 0, bucket: { tokens: filled.tokens - n, at: filled.at } };
  }
  const waitMs = Math.max(1, Math.ceil(((n - filled.tokens) * 1_000) / pace.perSecond));
  return { granted: 0, waitMs, bucket: filled };
}

/** Gives back tokens a call was granted and did not use (its triggers were handed back). */
export function returnTokens(
  bucket: PaceBucket | null,
  pace: FlowPace,
  unused: number,
  now: number,
): PaceBucket {
  const filled = refill(bucket, pace, now);
  return { tokens: Math.min(paceCapacity(pace), filled.tokens + unused), at: filled.at };
}
