import { describe, expect, it } from 'vitest';
import {
  chunkIdTime,
  chunkPartition,
  fromRuns,
  newChunkId,
  parseTriggerId,
  toRuns,
  triggerId,
} from './chunk-job.js';

describe('trigger ids', () => {
  it('round-trip and name the flow, chunk and slot', () => {
    const chunk = newChunkId(1_700_000_000_000);
    expect(chunk).toMatch(/^c[0-9a-z]+$/);
    const id = triggerId('Welcome_SMS', chunk, 17);
    expect(parseTriggerId(id)).toEqual({
      flow: 'Welcome_SMS',
      chunkId: chunk,
      index: 17,
      partition: 0,
    });
  });

  it('say their queue partition (partition 0 ids are unchanged), URL-safe and without ":"', () => {
    expect(newChunkId(1_700_000_000_000, 0)).toMatch(/^c[0-9a-z]{22}$/);
    for (const partition of [1, 2, 9, 42, 127]) {
      const chunk = newChunkId(1_700_000_000_000, partition);
      expect(chunk).toMatch(/^c[0-9a-z]{22}-\d+$/);
      expect(chunkPartition(chunk)).toBe(partition);
      expect(chunkIdTime(chunk)).toBe(1_700_000_000_000);
      const id = triggerId('Welcome_SMS', chunk, 3);
      expect(encodeURIComponent(id)).toBe(id);
      expect(parseTriggerId(id)).toEqual({
        flow: 'Welcome_SMS',
        chunkId: chunk,
        index: 3,
        partition,
      });
    }
    expect(chunkPartition(newChunkId())).toBe(0);
  });

  it('are unique and sort by time', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newChunkId()));
    expect(ids.size).toBe(10_000);
    expect(newChunkId(1_000) < newChunkId(2_000_000_000_000)).toBe(true);
  });

  it.each([
    '',
    'Flow',
    'Flow.c1.1',
    '../x.cabcdefgh.1',
    'Flow.cabcdefgh.-1',
    'Flow.cabcdefgh.1.2',
    'Flow.CABCDEFGH.1',
    'Flow.cabcdefgh-0.1',
    'Flow.cabcdefgh-01.1',
    'Flow.cabcdefgh-1000.1',
    'Flow.cabcdefgh:1.1',
  ])('rejects %j', (id) => {
    expect(parseTriggerId(id)).toBeUndefined();
  });
});

describe('runs (request ids and trace contexts of a chunk)', () => {
  it('store one value per run of consecutive inputs, and read back per input', () => {
    const values = ['r1', 'r1', 'r1', undefined, 'r2', 'r2', 'r1'];
    const runs = toRuns(values);
    expect(runs).toEqual([
      ['r1', 3],
      [null, 1],
      ['r2', 2],
      ['r1', 1],
    ]);
    expect(fromRuns(runs, values.length)).toEqual(values);
  });

  it('are absent when no input has a value', () => {
    expect(toRuns([undefined, undefined])).toBeUndefined();
    expect(toRuns([])).toBeUndefined();
  });

  it('read anything malformed as no values, never past the chunk', () => {
    for (const bad of [null, 'x', [['a', -1]], [['a', 1.5]], ['a'], { a: 1 }]) {
      expect(fromRuns(bad, 2)).toEqual([undefined, undefined]);
    }
    expect(fromRuns([['a', 5]], 2)).toEqual(['a', 'a']);
    expect(fromRuns([['a', 1]], 3)).toEqual(['a', undefined, undefined]);
  });
});
