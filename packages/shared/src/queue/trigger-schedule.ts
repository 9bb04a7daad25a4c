/**
 * Scheduled triggers (README, "Scheduled triggers"): a trigger given `notBefore` (an instant) or
 * `delay` (ms) is sent no earlier than that. Its chunk (one class per 1 s bucket of due times) is
 * added as a BullMQ delayed job due SCHEDULE_LEAD_MS before its earliest trigger, and a worker
 * holds each trigger until it is due.
 */

/** A chunk's class holds the triggers due within the same bucket of this length. */
export const SCHEDULE_BUCKET_MS = 1_000;
/** A scheduled chunk is handed to workers this long before its earliest trigger is due. */
export const SCHEDULE_LEAD_MS = 1_000;
/** The furthest ahead a trigger may be scheduled. */
export const MAX_SCHEDULE_AHEAD_MS = 366 * 24 * 60 * 60 * 1_000;

/** A `notBefore` or `delay` that cannot be read; `field` names it. */
export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
  constructor(
    message: string,
    readonly field: 'notBefore' | 'delay',
  ) {
    super(message);
  }
}

/** ISO-8601 date-time with a zone (Z or ±hh:mm): an instant, never a local time. */
const ISO_INSTANT =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * When a trigger is due (epoch ms), from `notBefore` (a Date, an ISO-8601 instant with a zone, or
 * epoch ms) or `delay` (ms from `now`); undefined when neither is given or it is due already
 * (sent as any other trigger). Throws ScheduleError naming the field for a value it cannot read,
 * both given, or a time more than 366 days ahead.
 */
export function readNotBefore(
  notBefore: unknown,
  delay: unknown,
  now = Date.now(),
): number | undefined {
  if (notBefore != null && delay != null) {
    throw new ScheduleError('give notBefore or delay, not both', 'notBefore');
  }
  let due: number;
  if (delay != null) {
    if (typeof delay !== 'number' || !Number.isInteger(delay) || delay < 0) {
      throw new ScheduleError('delay must be a whole number of milliseconds, 0 or more', 'delay');
    }
    if (delay > MAX_SCHEDULE_AHEAD_MS) {
      throw new ScheduleError('delay must be at most 366 days', 'delay');
    }
    due = now + delay;
  } else if (notBefore != null) {
    due = instant(notBefore);
    if (due - now > MAX_SCHEDULE_AHEAD_MS) {
      throw new ScheduleError('notBefore must be at most 366 days ahead', 'notBefore');
    }
  } else return undefined;
  return due > now ? due : undefined;
}

function instant(value: unknown): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isFinite(ms)) return ms;
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) return value;
  } else if (typeof value === 'string' && ISO_INSTANT.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new ScheduleError(
    'notBefore must be an ISO-8601 instant with a zone (2026-12-24T09:00:00Z or +01:00), epoch milliseconds, or a Date',
    'notBefore',
  );
}

/** The schedule bucket of a due time: triggers of one bucket may share a chunk. */
export function scheduleBucket(dueAt: number): number {
  return Math.floor(dueAt / SCHEDULE_BUCKET_MS);
}
