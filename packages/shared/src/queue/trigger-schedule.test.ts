import { describe, expect, it } from 'vitest';
import { MAX_SCHEDULE_AHEAD_MS, readNotBefore, scheduleBucket } from './trigger-schedule.js';

const now = Date.parse('2026-12-08T10:00:00Z');

describe('readNotBefore', () => {
  it('reads an ISO instant with a zone, epoch ms, a Date, or a delay', () => {
    expect(readNotBefore('2026-12-08T10:00:05Z', undefined, now)).toBe(now + 5_000);
    expect(readNotBefore('2026-12-08T11:00:05+01:00', undefined, now)).toBe(now + 5_000);
    expect(readNotBefore(now + 7, undefined, now)).toBe(now + 7);
    expect(readNotBefore(new Date(now + 9), undefined, now)).toBe(now + 9);
    expect(readNotBefore(undefined, 2_500, now)).toBe(now + 2_500);
  });

  it('answers undefined when nothing is scheduled or it is due already', () => {
    expect(readNotBefore(undefined, undefined, now)).toBeUndefined();
    expect(readNotBefore(null, null, now)).toBeUndefined();
    expect(readNotBefore('2026-12-08T09:00:00Z', undefined, now)).toBeUndefined();
    expect(readNotBefore(undefined, 0, now)).toBeUndefined();
  });

  it('refuses what it cannot read, naming the field', () => {
    expect(() => readNotBefore('2026-12-08T10:00:05', undefined, now)).toThrow(
      /^notBefore must be an ISO-8601 instant with a zone/,
    );
    expect(() => readNotBefore('tomorrow', undefined, now)).toThrow(/^notBefore/);
    expect(() => readNotBefore(undefined, -1, now)).toThrow(/^delay must be a whole number/);
    expect(() => readNotBefore(undefined, 1.5, now)).toThrow(/^delay/);
    expect(() => readNotBefore(now + 1, 5, now)).toThrow(/not both/);
    expect(() => readNotBefore(now + MAX_SCHEDULE_AHEAD_MS + 1, undefined, now)).toThrow(
      /at most 366 days ahead/,
    );
    expect(() => readNotBefore(undefined, MAX_SCHEDULE_AHEAD_MS + 1, now)).toThrow(
      /at most 366 days/,
    );
  });

  it('buckets due times by the second', () => {
    expect(scheduleBucket(now + 999)).toBe(scheduleBucket(now));
    expect(scheduleBucket(now + 1_000)).toBe(scheduleBucket(now) + 1);
  });
});
