import { describe, expect, it } from 'vitest';
import { keySlot } from './key-slot.js';
import { RedisKeys } from './redis-keys.js';

describe('RedisKeys', () => {
  it('names exactly the keys of before for one partition', () => {
    const keys = new RedisKeys('fd');
    expect(keys.partition).toBe(0);
    expect(keys.allPartitions).toEqual([keys]);
    expect(keys.bullPrefix).toBe('{fd}:q');
    expect(keys.flows).toBe('{fd}:flows');
    expect(keys.pending).toBe('{fd}:pending');
    expect(keys.deadLetters).toBe('{fd}:dlq');
    expect(keys.deadLetterEpoch).toBe('{fd}:dlq:epoch');
    expect(keys.limits).toBe('{fd}:limits');
    expect(keys.outcomes('cabc')).toBe('{fd}:out:cabc');
    expect(keys.idempotency('F', 'k')).toBe('{fd}:idem:F:k');
    expect(keys.circuit('F')).toBe('{fd}:circuit:F');
  });

  it('keeps per-partition keys in their partition slot and fleet-wide keys in partition 0', () => {
    const keys = new RedisKeys('fd', 3);
    const p0 = keys.forPartition(0);
    const p2 = RedisKeys.forPartition('fd', 2, 3);
    expect(p0).toBe(keys);
    expect(keys.forPartition(2).root).toBe(p2.root);
    expect(p2.partition).toBe(2);
    const slotOf = (k: RedisKeys) => keySlot(k.root);
    for (const partition of keys.allPartitions) {
      const own = [
        partition.bullPrefix,
        partition.flows,
        partition.pending,
        partition.deadLetters,
        partition.deadLetterItems,
        partition.deadLetterEpoch,
        partition.outcomes('cabc-1'),
        partition.idempotency('F', 'k'),
        partition.job('F', 'cabc'),
      ];
      for (const key of own) expect(keySlot(key)).toBe(slotOf(partition));
      const fleet = [
        partition.limits,
        partition.permits,
        partition.limitsProbe,
        partition.token,
        partition.tokenLock,
        partition.pausedAll,
        partition.paces,
        partition.paceBucket('F'),
        partition.circuit('F'),
        partition.stats(10),
      ];
      for (const key of fleet) expect(keySlot(key)).toBe(slotOf(p0));
    }
    expect(new Set(keys.allPartitions.map(slotOf)).size).toBe(3);
    expect(() => keys.forPartition(3)).toThrow(/QUEUE_PARTITIONS is 3/);
  });
});
