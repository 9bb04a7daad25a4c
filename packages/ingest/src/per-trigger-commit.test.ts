import type { ChunkItem, TriggerReceipt } from '@flow-dispatcher/producer';
import { describe, expect, it } from 'vitest';
import { PerTriggerCommit } from './per-trigger-commit.js';

describe('PerTriggerCommit', () => {
  it('writes one job per trigger and answers in request order', async () => {
    const writes: (readonly ChunkItem[])[] = [];
    const commit = new PerTriggerCommit(async (flow, items): Promise<TriggerReceipt[]> => {
      writes.push(items);
      return items.map(() => ({ id: `${flow}.c${writes.length}.0`, key: null, duplicate: false }));
    });
    const receipts = await commit.submit('F', [
      { input: { IndividualId: 'a' } },
      { input: { IndividualId: 'b' } },
      { input: { IndividualId: 'c' } },
    ]);
    expect(writes.map((w) => w.length)).toEqual([1, 1, 1]);
    expect(receipts.map((r) => r.id)).toEqual(['F.c1.0', 'F.c2.0', 'F.c3.0']);
    await commit.close();
  });
});
