import { describe, expect, it } from 'vitest';
import { RoundRobin, splitByPartition } from './partition-routing.js';

const keyed = (...keys: (string | null)[]) => keys.map((key) => ({ key }));

describe('splitByPartition', () => {
  it('keeps every request whole with one partition', () => {
    expect(splitByPartition('F', keyed('a', null, 'b', 'c'), 1)).toEqual([
      { partition: 0, indexes: [0, 1, 2, 3] },
    ]);
    expect(splitByPartition('F', keyed(null, null), 1)).toEqual([
      { partition: undefined, indexes: [0, 1] },
    ]);
  });

  it('sends a key to the same partition every time, whatever its neighbours', () => {
    const keys = Array.from({ length: 60 }, (_, i) => `signup-${i}`);
    const home = new Map<string, number | undefined>();
    for (const part of splitByPartition('F', keyed(...keys), 3)) {
      for (const index of part.indexes) home.set(keys[index] as string, part.partition);
    }
    expect(new Set(home.values())).toEqual(new Set([0, 1, 2]));
    for (const key of keys) {
      const [alone] = splitByPartition('F', keyed(key), 3);
      expect(alone?.partition).toBe(home.get(key));
      const [withOthers] = splitByPartition('F', keyed(key, null, null), 3);
      expect(withOthers).toEqual({ partition: home.get(key), indexes: [0, 1, 2] });
    }
  });

  it('splits a request whose keys hash to several partitions, each trigger once, in order', () => {
    const items = keyed(...Array.from({ length: 30 }, (_, i) => (i % 4 === 0 ? null : `k${i}`)));
    const parts = splitByPartition('F', items, 3);
    expect(parts.length).toBeGreaterThan(1);
    const all = parts.flatMap((p) => p.indexes).sort((a, b) => a - b);
    expect(all).toEqual(items.map((_, i) => i));
    for (const part of parts) {
      expect(part.partition).toBeTypeOf('number');
      expect([...part.indexes].sort((a, b) => a - b)).toEqual(part.indexes);
    }
    // The keyless triggers ride with the first keyed trigger's partition.
    const first = parts.find((p) => p.indexes.includes(1));
    expect(first?.indexes).toContain(0);
    expect(first?.indexes).toContain(4);
  });
});

describe('RoundRobin', () => {
  it('cycles through every partition', () => {
    const rr = new RoundRobin(3);
    expect(Array.from({ length: 7 }, () => rr.next())).toEqual([0, 1, 2, 0, 1, 2, 0]);
    const one = new RoundRobin(1);
    expect([one.next(), one.next()]).toEqual([0, 0]);
  });
});
