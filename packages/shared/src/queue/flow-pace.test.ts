import { describe, expect, it } from 'vitest';
import {
  decodePace,
  encodePace,
  type FlowPace,
  InvalidPaceError,
  type PaceBucket,
  paceCallCap,
  paceCapacity,
  parsePaceRate,
  parsePaceWindow,
  returnTokens,
  takeTokens,
} from './flow-pace.js';

const perSec = (perSecond: number, windowMs = 1_000): FlowPace => ({ perSecond, windowMs });

describe('parsePaceRate', () => {
  it.each([
    ['500/min', 500 / 60],
    ['6000/min', 100],
    ['100/s', 100],
    ['1.5/sec', 1.5],
    ['7200/hour', 2],
    ['30 / m', 0.5],
    ['2/HR', 2 / 3600],
  ])('%s is %f a second', (text, expected) => {
    expect(parsePaceRate(text)).toBeCloseTo(expected, 12);
  });

  it.each(['500', 'fast', '500/day', '-5/min', '0/s', '/min', '1e3/s', '200000/s', '0.5/hour'])(
    'refuses %s',
    (text) => {
      expect(() => parsePaceRate(text)).toThrow(InvalidPaceError);
    },
  );
});

describe('parsePaceWindow', () => {
  it.each([
    ['1s', 1_000],
    ['1500ms', 1_500],
    ['5m', 300_000],
    ['1h', 3_600_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parsePaceWindow(text)).toBe(ms);
  });

  it.each(['0s', '500ms', '2h', 'soon', '1d'])('refuses %s', (text) => {
    expect(() => parsePaceWindow(text)).toThrow(InvalidPaceError);
  });
});

describe('the stored pace', () => {
  it('round-trips, and an unreadable one paces nothing', () => {
    expect(decodePace(encodePace(perSec(100, 2_000)))).toEqual(perSec(100, 2_000));
    expect(decodePace('{"perSecond":5}')).toEqual(perSec(5, 1_000));
    expect(decodePace(null)).toBeNull();
    expect(decodePace('nope')).toBeNull();
    expect(decodePace('{"perSecond":0}')).toBeNull();
    expect(decodePace('{"perSecond":-3}')).toBeNull();
  });
});

describe('call cap and capacity', () => {
  it('a call carries half a window of the rate; the bucket holds a whole window', () => {
    expect(paceCallCap(perSec(100))).toBe(50);
    expect(paceCapacity(perSec(100))).toBe(100);
    expect(paceCallCap(perSec(500 / 60, 60_000))).toBe(250);
    expect(paceCapacity(perSec(500 / 60, 60_000))).toBeCloseTo(500, 9);
  });

  it('a slow rate still sends one input per call, and holds two', () => {
    expect(paceCallCap(perSec(0.5))).toBe(1);
    expect(paceCapacity(perSec(0.5))).toBe(2);
  });
});

describe('takeTokens', () => {
  const pace = perSec(100);

  it('a new bucket starts empty: the first call waits for its tokens', () => {
    const first = takeTokens(null, pace, 200, 10_000);
    expect(first.granted).toBe(0);
    expect(first.waitMs).toBe(500); // 50 tokens (the call cap) at 100/s
    expect(first.bucket).toEqual({ tokens: 0, at: 10_000 });
    const later = takeTokens(first.bucket, pace, 200, 10_500);
    expect(later.granted).toBe(50);
    expect(later.bucket.tokens).toBeCloseTo(0, 9);
  });

  it('grants what the call holds when it holds less than the cap', () => {
    const bucket: PaceBucket = { tokens: 80, at: 0 };
    const grant = takeTokens(bucket, pace, 30, 0);
    expect(grant).toEqual({ granted: 30, waitMs: 0, bucket: { tokens: 50, at: 0 } });
  });

  it('tells how long until the tokens will be there', () => {
    const grant = takeTokens({ tokens: 20, at: 0 }, pace, 50, 100); // 30 by now
    expect(grant.granted).toBe(0);
    expect(grant.waitMs).toBe(200);
    expect(grant.bucket.tokens).toBeCloseTo(30, 9);
  });

  it('never holds more than a window, however long it was idle', () => {
    const grant = takeTokens({ tokens: 0, at: 0 }, pace, 50, 3_600_000);
    expect(grant.granted).toBe(50);
    expect(grant.bucket.tokens).toBeCloseTo(50, 9);
  });

  it('asking for nothing takes nothing', () => {
    expect(takeTokens({ tokens: 10, at: 0 }, pace, 0, 0)).toMatchObject({ granted: 0, waitMs: 0 });
  });

  it('a clock that went back adds nothing', () => {
    const grant = takeTokens({ tokens: 10, at: 5_000 }, pace, 50, 4_000);
    expect(grant.bucket).toEqual({ tokens: 10, at: 5_000 });
  });

  it('sends at the rate over a long run: at most rate × T + one window, whoever asks', () => {
    // Two askers that come back when told (each 1–30 ms late), for 30 s of backlog.
    let bucket: PaceBucket | null = null;
    let sent = 0;
    const firstAt = 1_000;
    const next: [number, number] = [firstAt, firstAt + 7];
    let lastGrantAt = 0;
    let firstGrantAt: number | undefined;
    let late = 1;
    for (;;) {
      const who = next[0] <= next[1] ? 0 : 1;
      const now = next[who];
      if (now > firstAt + 40_000) break;
      const grant = takeTokens(bucket, pace, 200, now);
      bucket = grant.bucket;
      if (grant.granted > 0) {
        firstGrantAt ??= now;
        if (now < (firstGrantAt as number) + 30_000) sent += grant.granted;
        lastGrantAt = now;
      }
      late = (late * 7) % 31;
      next[who] = now + (grant.granted > 0 ? 1 : grant.waitMs) + late;
    }
    expect(lastGrantAt).toBeGreaterThan(firstAt + 39_000);
    // 30 s at 100/s from the first grant, whatever the lateness: 3,000 (+ the first call).
    expect(sent).toBeGreaterThanOrEqual(2_950);
    expect(sent).toBeLessThanOrEqual(3_000 + paceCapacity(pace));
  });
});

describe('returnTokens', () => {
  it('gives back unused tokens, up to the capacity', () => {
    expect(returnTokens({ tokens: 10, at: 0 }, perSec(100), 20, 0)).toEqual({ tokens: 30, at: 0 });
    expect(returnTokens({ tokens: 90, at: 0 }, perSec(100), 50, 0).tokens).toBe(100);
    expect(returnTokens(null, perSec(100), 5, 7)).toEqual({ tokens: 5, at: 7 });
  });
});
