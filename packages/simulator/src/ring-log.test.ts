import { describe, expect, it } from 'vitest';
import { RingLog } from './ring-log.js';

interface Entry {
  seq: number;
  value: string;
}

const log = (capacity: number) => new RingLog<Entry>(capacity, (entry) => ({ ...entry }));

describe('RingLog', () => {
  it('keeps the newest records in order, numbered from 1 across clear()', () => {
    const ring = log(3);
    for (const value of ['a', 'b', 'c', 'd', 'e']) ring.append((seq) => ({ seq, value }));
    expect(ring.since()).toEqual([
      { seq: 3, value: 'c' },
      { seq: 4, value: 'd' },
      { seq: 5, value: 'e' },
    ]);
    expect(ring.since(4).map((entry) => entry.seq)).toEqual([5]);
    expect(ring.since(1).map((entry) => entry.seq)).toEqual([3, 4, 5]);
    ring.clear();
    expect(ring.since()).toEqual([]);
    expect(ring.append((seq) => ({ seq, value: 'f' })).seq).toBe(6);
  });

  it('hands out copies while the owner updates the live record', () => {
    const ring = log(2);
    const live = ring.append((seq) => ({ seq, value: 'open' }));
    const copy = ring.since()[0];
    live.value = 'done';
    expect(copy?.value).toBe('open');
    expect(ring.since()[0]?.value).toBe('done');
  });

  it('resizes to the newest records and keeps them live', () => {
    const ring = log(4);
    const records = ['a', 'b', 'c', 'd', 'e'].map((value) =>
      ring.append((seq) => ({ seq, value })),
    );
    ring.resize(2);
    expect(ring.since().map((entry) => entry.value)).toEqual(['d', 'e']);
    const last = records.at(-1);
    if (last) last.value = 'E';
    expect(ring.since().map((entry) => entry.value)).toEqual(['d', 'E']);
    ring.resize(3);
    ring.append((seq) => ({ seq, value: 'f' }));
    ring.append((seq) => ({ seq, value: 'g' }));
    expect(ring.since().map((entry) => entry.value)).toEqual(['E', 'f', 'g']);
  });
});
