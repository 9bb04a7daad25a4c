import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseTimeBound } from './duration-option.js';

describe('duration and time options', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
  ])('reads %s', (text, ms) => {
    expect(parseDurationMs(text, '--timeout')).toBe(ms);
  });

  it.each(['10', '', '2 hours', '-5m', '1w'])('refuses %j with a one-line reason', (text) => {
    expect(() => parseDurationMs(text, '--timeout')).toThrow(/^--timeout expects a duration/);
  });

  it('reads a time as ISO or as an age', () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    expect(parseTimeBound('2h', '--since', now)).toBe(Date.parse('2025-06-01T10:00:00Z'));
    expect(parseTimeBound('2025-05-31T08:00:00Z', '--since', now)).toBe(
      Date.parse('2025-05-31T08:00:00Z'),
    );
    expect(parseTimeBound('2025-05-31', '--since', now)).toBe(Date.parse('2025-05-31'));
    expect(() => parseTimeBound('yesterday', '--since', now)).toThrow(/--since expects an ISO/);
    expect(() => parseTimeBound('2025-13-45', '--since', now)).toThrow(/--since/);
  });
});
