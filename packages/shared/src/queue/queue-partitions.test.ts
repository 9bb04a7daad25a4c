import { describe, expect, it } from 'vitest';
import { keySlot } from './key-slot.js';
import {
  partitionOfKey,
  partitionRoots,
  partitionsLeftBehind,
  slotRange,
} from './queue-partitions.js';

function rangeOf(slot: number, count: number): number {
  for (let i = 0; i < count; i++) if (slot < slotRange(i, count).to) return i;
  return -1;
}

describe('partitionRoots', () => {
  it('keeps partition 0 at {prefix}, the keys of a deployment without partitions', () => {
    expect(partitionRoots('fd', 1)).toEqual(['{fd}']);
    for (let n = 1; n <= 6; n++) expect(partitionRoots('fd', n)[0]).toBe('{fd}');
  });

  it('cuts the slots the way redis-cli --cluster create lays out masters', () => {
    expect([0, 1, 2].map((i) => slotRange(i, 3))).toEqual([
      { from: 0, to: 5_461 },
      { from: 5_461, to: 10_923 },
      { from: 10_923, to: 16_384 },
    ]);
  });

  it.each(['fd', 'acme-prod', 't-e2e-0a1b2c3d', 'x'])(
    'puts the partitions of %j in distinct slot ranges for N = 1..6',
    (prefix) => {
      for (let n = 1; n <= 6; n++) {
        const roots = partitionRoots(prefix, n);
        expect(roots).toHaveLength(n);
        expect(new Set(roots).size).toBe(n);
        const ranges = roots.map((root) => rangeOf(keySlot(root), n));
        expect(new Set(ranges).size).toBe(n);
        // Deterministic: every process computes the same roots.
        expect(partitionRoots(prefix, n)).toEqual(roots);
        for (const root of roots.slice(1)) expect(root).toMatch(/^\{[^{}]+\.p\d+\.\d+\}$/);
      }
    },
  );

  it('refuses a partition count out of range', () => {
    expect(() => partitionRoots('fd', 0)).toThrow(RangeError);
    expect(() => partitionRoots('fd', 129)).toThrow(RangeError);
  });
});

describe('partitionsLeftBehind', () => {
  it('says which partitions a new QUEUE_PARTITIONS no longer has', () => {
    expect(partitionsLeftBehind('fd', 1, 3)).toEqual([]);
    expect(partitionsLeftBehind('fd', 3, 3)).toEqual([]);
    expect(partitionsLeftBehind('fd', 3, 1)).toEqual([1, 2]);
    const moved = partitionsLeftBehind('fd', 3, 4);
    expect(moved).not.toContain(0);
    for (const p of moved)
      expect(partitionRoots('fd', 4)).not.toContain(partitionRoots('fd', 3)[p]);
  });
});

describe('partitionOfKey', () => {
  it('sends a key to the same partition every time, and spreads keys over all of them', () => {
    expect(partitionOfKey('Welcome_SMS', 'signup-42', 1)).toBe(0);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const p = partitionOfKey('Welcome_SMS', `signup-${i}`, 3);
      expect(partitionOfKey('Welcome_SMS', `signup-${i}`, 3)).toBe(p);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(3);
      seen.add(p);
    }
    expect(seen).toEqual(new Set([0, 1, 2]));
  });
});
