import { describe, expect, it } from 'vitest';
import { fitsInChunk, splitByRequest } from './chunk-packing.js';

describe('fitsInChunk', () => {
  it('takes requests up to the cap', () => {
    expect(fitsInChunk(0, 1, 10)).toBe(true);
    expect(fitsInChunk(9, 1, 10)).toBe(true);
    expect(fitsInChunk(10, 1, 10)).toBe(false);
    expect(fitsInChunk(5, 6, 10)).toBe(false);
  });

  it('gives a request larger than the cap an empty chunk of its own, never a split', () => {
    expect(fitsInChunk(0, 50, 10)).toBe(true);
    expect(fitsInChunk(1, 50, 10)).toBe(false);
  });
});

describe('splitByRequest', () => {
  it('hands each request its own receipts, in order', () => {
    expect(splitByRequest(['a', 'b', 'c', 'd', 'e', 'f'], [1, 3, 2])).toEqual([
      ['a'],
      ['b', 'c', 'd'],
      ['e', 'f'],
    ]);
  });

  it('refuses receipts that do not add up', () => {
    expect(() => splitByRequest(['a', 'b'], [1, 2])).toThrow(/3 triggers came back with 2/);
    expect(() => splitByRequest(['a', 'b', 'c'], [1, 1])).toThrow();
  });
});
