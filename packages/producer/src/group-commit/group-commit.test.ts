import { describe, expect, it } from 'vitest';
import type { ChunkItem, TriggerReceipt } from '../chunk-writer.js';
import { splitByPartition } from '../partition-routing.js';
import { GroupCommit } from './group-commit.js';

/** A fake chunk store: records each write, answers when told to (or at once). */
function fakeStore(
  options: { manual?: boolean; fail?: (items: readonly ChunkItem[]) => boolean } = {},
) {
  const writes: { flow: string; items: readonly ChunkItem[] }[] = [];
  const pending: (() => void)[] = [];
  let next = 0;
  const write = (flow: string, items: readonly ChunkItem[]): Promise<TriggerReceipt[]> => {
    writes.push({ flow, items });
    const chunk = next++;
    return new Promise((resolve, reject) => {
      const answer = () => {
        if (options.fail?.(items)) reject(new Error('redis down'));
        else
          resolve(
            items.map((item, i) => ({
              id: `${flow}.c${chunk}.${i}`,
              key: item.key ?? null,
              duplicate: false,
            })),
          );
      };
      if (options.manual) pending.push(answer);
      else answer();
    });
  };
  return { write, writes, pending };
}

const item = (n: number): ChunkItem => ({ input: { IndividualId: `id${n}` } });
const keyed = (n: number): ChunkItem => ({ input: { IndividualId: `id${n}` }, key: `k${n}` });
const items = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => item(from + i));

describe('GroupCommit', () => {
  it('writes concurrent requests of one flow as one chunk and answers each with its own ids', async () => {
    const store = fakeStore();
    const commit = new GroupCommit(store.write, { lingerMs: 5, maxChunk: 100 });
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, n) => commit.submit('Welcome_SMS', [item(n)])),
    );
    expect(store.writes).toHaveLength(1);
    expect(store.writes[0]?.items.map((i) => i.input.IndividualId)).toEqual(
      Array.from({ length: 10 }, (_, n) => `id${n}`),
    );
    expect(answers.map((a) => a.map((r) => r.id))).toEqual(
      Array.from({ length: 10 }, (_, n) => [`Welcome_SMS.c0.${n}`]),
    );
  });

  it('keeps flows apart', async () => {
    const store = fakeStore();
    const commit = new GroupCommit(store.write, { lingerMs: 1, maxChunk: 100 });
    await Promise.all([
      commit.submit('A', [item(1)]),
      commit.submit('B', [item(2)]),
      commit.submit('A', [item(3)]),
    ]);
    expect(store.writes.map((w) => [w.flow, w.items.length]).sort()).toEqual([
      ['A', 2],
      ['B', 1],
    ]);
  });

  it('writes a chunk as soon as it reaches the cap, and never splits a request', async () => {
    const store = fakeStore();
    const commit = new GroupCommit(store.write, { lingerMs: 1_000, maxChunk: 3 });
    const answers = Promise.all([
      commit.submit('F', [item(1)]),
      commit.submit('F', [item(2), item(3)]), // fills the chunk: written at once, no linger
      commit.submit('F', [item(4), item(5)]),
      commit.submit('F', items(10, 5)), // bigger than the cap: a chunk of its own
      commit.submit('F', [item(6)]), // waits for its (long) linger: close() writes it
    ]);
    await commit.close();
    expect((await answers).map((a) => a.length)).toEqual([1, 2, 2, 5, 1]);
    expect(store.writes.map((w) => w.items.map((i) => i.input.IndividualId))).toEqual([
      ['id1', 'id2', 'id3'],
      ['id4', 'id5'],
      ['id10', 'id11', 'id12', 'id13', 'id14'],
      ['id6'],
    ]);
  });

  it('fails every request of a failed chunk, and only those', async () => {
    const store = fakeStore({
      fail: (written) => written.some((i) => i.input.IndividualId === 'id2'),
    });
    const commit = new GroupCommit(store.write, { lingerMs: 1, maxChunk: 2 });
    const results = await Promise.allSettled([
      commit.submit('F', [item(1)]),
      commit.submit('F', [item(2)]),
      commit.submit('F', [item(3)]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
  });

  it('lets the open chunk grow while every write slot is busy', async () => {
    const store = fakeStore({ manual: true });
    const commit = new GroupCommit(store.write, {
      lingerMs: 0,
      maxChunk: 1_000,
      maxWritesInFlight: 1,
    });
    const first = commit.submit('F', [item(0)]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.writes).toHaveLength(1);
    // The only slot is busy: these gather, however long their linger has been over.
    const later = Array.from({ length: 20 }, (_, n) => commit.submit('F', [item(n + 1)]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.writes).toHaveLength(1);
    store.pending.shift()?.();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.writes).toHaveLength(2);
    expect(store.writes[1]?.items).toHaveLength(20);
    store.pending.shift()?.();
    expect((await Promise.all(later)).flat()).toHaveLength(20);
  });

  it('writes keyed requests one chunk at a time per lane, gathering the rest, beside keyless writes', async () => {
    const store = fakeStore({ manual: true });
    const commit = new GroupCommit(store.write, { lingerMs: 0, maxChunk: 1_000 });
    const first = commit.submit('F', [keyed(0)]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.writes).toHaveLength(1);
    // Keyed requests wait for the one keyed write, however long their linger has been over...
    const later = Array.from({ length: 20 }, (_, n) => commit.submit('F', [keyed(n + 1)]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.writes).toHaveLength(1);
    // ...while keyless ones have a lane of their own, with its own write slots.
    const keyless = [commit.submit('F', [item(100)])];
    await new Promise((resolve) => setImmediate(resolve));
    keyless.push(commit.submit('F', [item(101)]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.writes.map((w) => w.items.map((i) => i.key ?? '-'))).toEqual([
      ['k0'],
      ['-'],
      ['-'],
    ]);
    store.pending.shift()?.();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.writes).toHaveLength(4);
    expect(store.writes[3]?.items.map((i) => i.key)).toEqual(
      Array.from({ length: 20 }, (_, n) => `k${n + 1}`),
    );
    for (const answer of store.pending.splice(0)) answer();
    expect((await Promise.all(later)).flat()).toHaveLength(20);
    expect((await Promise.all(keyless)).flat()).toHaveLength(2);
  });

  it('answers a request only after its chunk is written', async () => {
    const store = fakeStore({ manual: true });
    const commit = new GroupCommit(store.write, { lingerMs: 0, maxChunk: 10 });
    let answered = false;
    const request = commit.submit('F', [item(1)]).then(() => {
      answered = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(store.writes).toHaveLength(1);
    expect(answered).toBe(false);
    store.pending.shift()?.();
    await request;
    expect(answered).toBe(true);
  });

  it('writes what is waiting on close, then refuses new requests', async () => {
    const store = fakeStore();
    const commit = new GroupCommit(store.write, { lingerMs: 60_000, maxChunk: 10 });
    const waiting = commit.submit('F', [item(1)]);
    await commit.close();
    await expect(waiting).resolves.toHaveLength(1);
    await expect(commit.submit('F', [item(2)])).rejects.toMatchObject({ code: 'PRODUCER_CLOSED' });
  });

  it('keeps a lane per flow and partition: each chunk holds one partition, a split request gets every receipt in order', async () => {
    const store = fakeStore();
    const split = (flow: string, batch: readonly ChunkItem[]) => splitByPartition(flow, batch, 3);
    const commit = new GroupCommit(store.write, { lingerMs: 5, maxChunk: 100, split });
    const requests = [
      Array.from({ length: 12 }, (_, n) => keyed(n)),
      [keyed(20)],
      [keyed(21), item(22)],
      items(30, 3),
      items(40, 2),
    ];
    const answers = await Promise.all(requests.map((r) => commit.submit('Welcome_SMS', r)));
    // Every chunk written holds triggers of one partition (keyless ones ride with their request's
    // first key, or share the lane of requests without keys).
    for (const write of store.writes) {
      expect(splitByPartition('Welcome_SMS', write.items, 3)).toHaveLength(1);
    }
    expect(store.writes.length).toBeGreaterThan(1);
    expect(store.writes.length).toBeLessThanOrEqual(4);
    // Each request gets one receipt per trigger, in its own order, and no id twice.
    answers.forEach((receipts, r) => {
      expect(receipts.map((x) => x.key)).toEqual(requests[r]?.map((i) => i.key ?? null));
    });
    const ids = answers.flat().map((x) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('fails a split request when one of its parts fails', async () => {
    const store = fakeStore({ fail: (batch) => batch.some((i) => i.key === 'k1') });
    const split = (flow: string, batch: readonly ChunkItem[]) => splitByPartition(flow, batch, 3);
    const commit = new GroupCommit(store.write, { lingerMs: 1, maxChunk: 100, split });
    const request = Array.from({ length: 9 }, (_, n) => ({ input: { n }, key: `k${n}` }));
    expect(splitByPartition('F', request, 3).length).toBeGreaterThan(1);
    await expect(commit.submit('F', request)).rejects.toThrow('redis down');
  });
});
