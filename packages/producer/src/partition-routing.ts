import { partitionOfKey } from '@flow-dispatcher/shared';

/** A request's triggers bound for one queue partition. */
export interface PartitionPart {
  /** The partition; undefined for triggers without keys, which may go to any partition. */
  partition: number | undefined;
  /** Positions of the triggers in the request, ascending. */
  indexes: number[];
  /**
   * The class every trigger of the part shares (its priority): a chunk holds one class, and group
   * commit keeps a lane per class. Undefined: the default class.
   */
  chunkClass?: string;
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

/**
 * Splits a request's triggers by chunk class first (`classOf`: the priority), then each class by
 * queue partition (`splitByPartition`): every part is one atomic chunk write of one class and one
 * partition. A request of one class is split exactly as by `splitByPartition`.
 */
export function splitByClassAndPartition<T extends { key?: string | null | undefined }>(
  flow: string,
  items: readonly T[],
  partitions: number,
  classOf: (item: T) => string,
): PartitionPart[] {
  const byClass = new Map<string, number[]>();
  items.forEach((item, index) => {
    const cls = classOf(item);
    const indexes = byClass.get(cls);
    if (indexes) indexes.push(index);
    else byClass.set(cls, [index]);
  });
  if (byClass.size <= 1) {
    const [cls] = byClass.keys();
    return splitByPartition(flow, items, partitions).map((part) => ({
      ...part,
      chunkClass: cls,
    }));
  }
  const parts: PartitionPart[] = [];
  for (const [cls, indexes] of byClass) {
    const subset = indexes.map((i) => items[i] as T);
    for (const part of splitByPartition(flow, subset, partitions)) {
      parts.push({
        partition: part.partition,
        indexes: part.indexes.map((j) => indexes[j] as number),
        chunkClass: cls,
      });
    }
  }
  return parts;
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
