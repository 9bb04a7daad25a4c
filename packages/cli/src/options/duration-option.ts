import { UsageError } from '../usage-error.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration such as `500ms`, `30s`, `10m`, `2h`, `7d` (pure). A bare number is refused:
 * "10" could be seconds or minutes, and guessing wrong would be worse than asking.
 */
export function parseDurationMs(value: string, option: string): number {
  const match = DURATION.exec(value.trim());
  const unit = match?.[2];
  if (!match || unit === undefined) {
    throw new UsageError(
      `${option} expects a duration such as 30s, 10m, 2h or 7d, got ${JSON.stringify(value)}`,
    );
  }
  return Math.round(Number(match[1]) * (UNIT_MS[unit] ?? 0));
}

/**
 * Parses a point in time (pure): an ISO 8601 time (`2025-06-01T12:00:00Z`, `2025-06-01`) or a
 * duration back from `now` (`2h` = two hours ago). Returns epoch ms.
 */
export function parseTimeBound(value: string, option: string, now: number): number {
  const trimmed = value.trim();
  if (DURATION.test(trimmed)) return now - parseDurationMs(trimmed, option);
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const time = Date.parse(trimmed);
    if (Number.isFinite(time)) return time;
  }
  throw new UsageError(
    `${option} expects an ISO time (2025-06-01T12:00:00Z) or an age such as 2h or 30m, got ${JSON.stringify(value)}`,
  );
}
