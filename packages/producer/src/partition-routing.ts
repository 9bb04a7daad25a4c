import { partitionOfKey } from '@flow-dispatcher/shared';

/** A request's triggers bound for one queue partition. */
export interface PartitionPart {
  /** The partition; undefined for triggers without keys, which may go to any partition. */
  partition: number | undefined;
  /** Positions of the triggers in the request, ascending. */
  indexes: number[];
}

/**
 * Which queue partition each trigger of a request goes to (pure). A trigger with an idempotency
 * key goes to its key's partition, so a repeat of the key is checked, and its trigger read, where
 * the key is stored. Triggers without a key follow the request's first keyed trigger (so a
 * request whose keys share a partition stays one atomic chunk); a request with no key at all is
 * one part with no partition, placed round robin when it is written. With one partition every
 * request is one part.
 */
export function splitByPartition(
  flow: string,
  items: readonly { key?: string | null | undefined }[],
  partitions: number,
): PartitionPart[] {
  const byPartition = new Map<number | undefined, number[]>();
  let keyless: number[] | undefined;
  let home: number | undefined;
  items.forEach((item, index) => {
    if (item.key == null) {
      keyless ??= [];
      keyless.push(index);
      return;
    }
    const partition = partitionOfKey(flow, item.key, partitions);
    home ??= partition;
    const indexes = byPartition.get(partition) ?? [];
    indexes.push(index);
    byPartition.set(partition, indexes);
  });
  if (keyless) {
    const joined = byPartition.get(home);
    if (joined) {
      joined.push(...keyless);
      joined.sort((a, b) => a - b);
    } else byPartition.set(undefined, keyless);
  }
  return [...byPartition].map(([partition, indexes]) => ({ partition, indexes }));
}

/** Round robin over `count` partitions, for chunks without keys. */
export class RoundRobin {
  #next = 0;

  constructor(readonly count: number) {}

  next(): number {
    const partition = this.#next;
    this.#next = (this.#next + 1) % this.count;
    return partition;
  }
}
