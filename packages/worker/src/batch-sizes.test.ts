import { describe, expect, it } from 'vitest';
import { BatchSizes } from './batch-sizes.js';

describe('BatchSizes', () => {
  it('halves on a governor limit and grows back slowly after a quiet period', () => {
    let now = 0;
    const sizes = new BatchSizes(200, 30_000, () => now);
    expect(sizes.get('F')).toBe(200);
    expect(sizes.shrink('F', 200)).toBe(100);
    expect(sizes.shrink('F', 100)).toBe(50);
    expect(sizes.get('Other')).toBe(200);
    sizes.succeeded('F', 50);
    expect(sizes.get('F')).toBe(50); // too soon
    now = 31_000;
    sizes.succeeded('F', 20);
    expect(sizes.get('F')).toBe(50); // not a full call
    sizes.succeeded('F', 50);
    expect(sizes.get('F')).toBe(55);
    for (let i = 0; i < 40; i++) sizes.succeeded('F', sizes.get('F'));
    expect(sizes.get('F')).toBe(200);
  });

  it('never goes below one input nor grows past the configured max', () => {
    const sizes = new BatchSizes(3, 0, () => 0);
    expect(sizes.shrink('F', 1)).toBe(1);
    for (let i = 0; i < 10; i++) sizes.succeeded('F', sizes.get('F'));
    expect(sizes.get('F')).toBe(3);
  });
});
