import { describe, expect, it } from 'vitest';
import { jsonSize } from './json-size.js';

describe('jsonSize', () => {
  it.each([
    [
      'a flat input',
      { IndividualId: '0PKxx0000000001AAA', EmailAddress: 'a@b.co', N: 42, ok: true },
    ],
    ['nested objects and arrays', { a: [1, 2, { b: 'x', c: null }], d: { e: -7, f: [] } }],
    ['an empty object', {}],
    ['numbers', { n: 0, m: 123_456_789, f: 1.5, g: -0.25 }],
    ['a large input', { IndividualId: 'x'.repeat(18), Payload: 'y'.repeat(65_536) }],
    [
      'an array of inputs',
      Array.from({ length: 50 }, (_, i) => ({ IndividualId: `id-${i}`, n: i })),
    ],
  ])('is within a few bytes of JSON.stringify for %s', (_name, value) => {
    const exact = Buffer.byteLength(JSON.stringify(value));
    const size = jsonSize(value);
    expect(Math.abs(size - exact)).toBeLessThanOrEqual(Math.max(4, exact * 0.05));
  });

  it('skips what JSON skips', () => {
    expect(jsonSize({ a: undefined, b: () => 1, c: 1 })).toBe(JSON.stringify({ c: 1 }).length);
  });
});
