import {
  type DeadLetter,
  defaults,
  parseTriggerId,
  type RedisConnection,
  type RedisKeys,
} from '@flow-dispatcher/shared';
import type { ChunkWriter } from './chunk-writer.js';

/** Which dead letters an operation applies to; every given condition must hold. */
export interface DeadLetterFilter {
  flow?: string;
  /** Salesforce's or our error code, e.g. UNKNOWN_EXCEPTION, NOT_FOUND. */
  errorCode?: string;
  /** Dead-lettered at or after (epoch ms). */
  since?: number;
  /** Dead-lettered before (epoch ms). */
  until?: number;
  /** Only these trigger ids. */
  ids?: readonly string[];
}

const PAGE = 500;

/**
 * The dead letters: triggers Salesforce refused for good, or that ran out of attempts. They stay
 * until replayed or purged (no expiry: nobody should lose a trigger by waiting too long to look).
 * Stored per queue partition as a ZSET of ids by time plus a HASH of records (a letter lives in
 * the partition of its trigger, whose id names it); listing walks each partition's ZSET in time
 * order by rank, filters in pages, and merges the partitions by time, so it stays cheap for any
 * size the sets reach. A listing taken while others replay or purge may skip or repeat a few
 * letters; replay and purge collect first, then act.
 */
export class DeadLetterQueue {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly writer: ChunkWriter,
    private readonly resultTtlMs: number = defaults.resultTtlMs,
  ) {}

  /** How many dead letters match (all of them without a filter), over every partition. */
  async count(filter: DeadLetterFilter = {}): Promise<number> {
    const { flow, errorCode, ids, since, until } = filter;
    if (flow === undefined && errorCode === undefined && ids === undefined) {
      const counts = await Promise.all(
        this.keys.allPartitions.map((keys) =>
          since === undefined && until === undefined
            ? this.redis.zcard(keys.deadLetters)
            : // By time alone the ZSET answers without reading a record.
              this.redis.zcount(
                keys.deadLetters,
                since === undefined ? '-inf' : since,
                until === undefined ? '+inf' : `(${until}`,
              ),
        ),
      );
      return counts.reduce((sum, n) => sum + n, 0);
    }
    let n = 0;
    for await (const _ of this.scan(filter)) n++;
    return n;
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const keys = this.#keysOf(id);
    if (!keys) return undefined;
    const raw = await this.redis.hget(keys.deadLetterItems, id);
    return raw ? (JSON.parse(raw) as DeadLetter) : undefined;
  }

  /** Matching dead letters, oldest first (with `ids`: in their order). */
  async *scan(filter: DeadLetterFilter = {}): AsyncGenerator<DeadLetter> {
    if (filter.ids) {
      for (let i = 0; i < filter.ids.length; i += PAGE) {
        const ids = filter.ids.slice(i, i + PAGE);
        const found = new Map<string, DeadLetter>();
        for (const keys of this.keys.allPartitions) {
          const mine = ids.filter((id) => this.#keysOf(id) === keys);
          const raws = mine.length ? await this.redis.hmget(keys.deadLetterItems, ...mine) : [];
          raws.forEach((raw, j) => {
            if (raw) found.set(mine[j] as string, JSON.parse(raw) as DeadLetter);
          });
        }
        for (const id of ids) {
          const letter = found.get(id);
          if (letter && matches(letter, filter)) yield letter;
        }
      }
      return;
    }
    const partitions = this.keys.allPartitions;
    if (partitions.length === 1) {
      yield* this.#scanPartition(partitions[0] as RedisKeys, filter);
      return;
    }
    // Merge the partitions' time-ordered walks: always yield the oldest head.
    const walks = partitions.map((keys) => this.#scanPartition(keys, filter));
    const heads = await Promise.all(walks.map((walk) => walk.next()));
    for (;;) {
      let oldest = -1;
      heads.forEach((head, i) => {
        if (head.done) return;
        const best = heads[oldest];
        if (oldest === -1 || (best && !best.done && head.value.deadAt < best.value.deadAt)) {
          oldest = i;
        }
      });
      if (oldest === -1) return;
      const head = heads[oldest];
      if (!head || head.done) return;
      yield head.value;
      heads[oldest] = await (walks[oldest] as AsyncGenerator<DeadLetter>).next();
    }
  }

  /** One partition's matching dead letters, oldest first. */
  async *#scanPartition(keys: RedisKeys, filter: DeadLetterFilter): AsyncGenerator<DeadLetter> {
    // Walk by rank (O(log n) per page): start at the first letter at or after `since`.
    let rank =
      filter.since === undefined
        ? 0
        : await this.redis.zcount(keys.deadLetters, '-inf', `(${filter.since}`);
    for (;;) {
      const page = await this.redis.zrange(keys.deadLetters, rank, rank + PAGE - 1, 'WITHSCORES');
      if (page.length === 0) return;
      rank += page.length / 2;
      const ids: string[] = [];
      let past = false;
      for (let i = 0; i < page.length; i += 2) {
        if (filter.until !== undefined && Number(page[i + 1]) >= filter.until) {
          past = true;
          break;
        }
        ids.push(page[i] as string);
      }
      const raws = ids.length ? await this.redis.hmget(keys.deadLetterItems, ...ids) : [];
      for (const raw of raws) {
        const letter = raw ? (JSON.parse(raw) as DeadLetter) : undefined;
        if (letter && matches(letter, filter)) yield letter;
      }
      if (past || page.length < PAGE * 2) return;
    }
  }

  async list(filter: DeadLetterFilter = {}, limit = 100): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    for await (const letter of this.scan(filter)) {
      letters.push(letter);
      if (letters.length >= limit) break;
    }
    return letters;
  }

  /**
   * Sends matching dead letters again under their own ids (a new chunk per partition, flow and
   * 1,000 letters, in the letter's own partition). Returns how many were replayed.
   */
  async replay(
    filter: DeadLetterFilter = {},
    onProgress?: (replayed: number) => void,
  ): Promise<number> {
    let replayed = 0;
    const pending = new Map<string, { flow: string; partition: number; letters: DeadLetter[] }>();
    const flush = async (group: string) => {
      const batch = pending.get(group);
      pending.delete(group);
      if (!batch) return;
      replayed += (
        await this.writer.writeReplay(batch.flow, batch.letters, this.resultTtlMs, batch.partition)
      ).length;
      onProgress?.(replayed);
    };
    // Collect first: replaying while walking the set would move the cursor under our feet.
    const all: DeadLetter[] = [];
    for await (const letter of this.scan(filter)) all.push(letter);
    for (const letter of all) {
      const partition = this.#keysOf(letter.id)?.partition ?? 0;
      const group = `${partition}:${letter.flow}`;
      const batch = pending.get(group) ?? { flow: letter.flow, partition, letters: [] };
      batch.letters.push(letter);
      pending.set(group, batch);
      if (batch.letters.length >= 1_000) await flush(group);
    }
    for (const group of [...pending.keys()]) await flush(group);
    return replayed;
  }

  /** Deletes matching dead letters for good. Returns how many. */
  async purge(filter: DeadLetterFilter = {}): Promise<number> {
    const byPartition = new Map<RedisKeys, string[]>();
    let purged = 0;
    for await (const letter of this.scan(filter)) {
      const keys = this.#keysOf(letter.id) ?? this.keys;
      const ids = byPartition.get(keys) ?? [];
      ids.push(letter.id);
      byPartition.set(keys, ids);
      purged++;
    }
    for (const [keys, ids] of byPartition) {
      for (let i = 0; i < ids.length; i += PAGE) {
        const page = ids.slice(i, i + PAGE);
        await this.redis
          .multi()
          .zrem(keys.deadLetters, ...page)
          .hdel(keys.deadLetterItems, ...page)
          .exec();
      }
    }
    return purged;
  }

  /** The partition a dead letter lives in: its trigger's (undefined for one we do not have). */
  #keysOf(id: string): RedisKeys | undefined {
    const partition = parseTriggerId(id)?.partition ?? 0;
    return partition < this.keys.partitionCount ? this.keys.forPartition(partition) : undefined;
  }
}

function matches(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.flow !== undefined && letter.flow !== filter.flow) return false;
  if (filter.errorCode !== undefined && letter.error.code !== filter.errorCode) return false;
  if (filter.since !== undefined && letter.deadAt < filter.since) return false;
  if (filter.until !== undefined && letter.deadAt >= filter.until) return false;
  return true;
}
