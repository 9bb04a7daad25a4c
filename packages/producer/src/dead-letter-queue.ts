import { type DeadLetter, defaults, type RedisKeys } from '@flow-dispatcher/shared';
import type { Redis } from 'ioredis';
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
 * Stored as a ZSET of ids by time plus a HASH of records; listing walks the ZSET in time order by
 * rank and filters in pages, so it stays cheap for any size the set reaches. A listing taken while
 * others replay or purge may skip or repeat a few letters; replay and purge collect first, then act.
 */
export class DeadLetterQueue {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly writer: ChunkWriter,
    private readonly resultTtlMs: number = defaults.resultTtlMs,
  ) {}

  /** How many dead letters match (all of them without a filter). */
  async count(filter: DeadLetterFilter = {}): Promise<number> {
    const { flow, errorCode, ids, since, until } = filter;
    if (flow === undefined && errorCode === undefined && ids === undefined) {
      if (since === undefined && until === undefined)
        return this.redis.zcard(this.keys.deadLetters);
      // By time alone the ZSET answers without reading a record.
      return this.redis.zcount(
        this.keys.deadLetters,
        since === undefined ? '-inf' : since,
        until === undefined ? '+inf' : `(${until}`,
      );
    }
    let n = 0;
    for await (const _ of this.scan(filter)) n++;
    return n;
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const raw = await this.redis.hget(this.keys.deadLetterItems, id);
    return raw ? (JSON.parse(raw) as DeadLetter) : undefined;
  }

  /** Matching dead letters, oldest first. */
  async *scan(filter: DeadLetterFilter = {}): AsyncGenerator<DeadLetter> {
    if (filter.ids) {
      for (let i = 0; i < filter.ids.length; i += PAGE) {
        const ids = filter.ids.slice(i, i + PAGE);
        const raws = ids.length ? await this.redis.hmget(this.keys.deadLetterItems, ...ids) : [];
        for (const raw of raws) {
          const letter = raw ? (JSON.parse(raw) as DeadLetter) : undefined;
          if (letter && matches(letter, filter)) yield letter;
        }
      }
      return;
    }
    // Walk by rank (O(log n) per page): start at the first letter at or after `since`.
    let rank =
      filter.since === undefined
        ? 0
        : await this.redis.zcount(this.keys.deadLetters, '-inf', `(${filter.since}`);
    for (;;) {
      const page = await this.redis.zrange(
        this.keys.deadLetters,
        rank,
        rank + PAGE - 1,
        'WITHSCORES',
      );
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
      const raws = ids.length ? await this.redis.hmget(this.keys.deadLetterItems, ...ids) : [];
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
   * Sends matching dead letters again under their own ids (a new chunk per flow and 1,000
   * letters). Returns how many were replayed.
   */
  async replay(
    filter: DeadLetterFilter = {},
    onProgress?: (replayed: number) => void,
  ): Promise<number> {
    let replayed = 0;
    const pending = new Map<string, DeadLetter[]>();
    const flush = async (flow: string) => {
      const letters = pending.get(flow) ?? [];
      pending.delete(flow);
      replayed += (await this.writer.writeReplay(flow, letters, this.resultTtlMs)).length;
      onProgress?.(replayed);
    };
    // Collect first: replaying while walking the set would move the cursor under our feet.
    const all: DeadLetter[] = [];
    for await (const letter of this.scan(filter)) all.push(letter);
    for (const letter of all) {
      const batch = pending.get(letter.flow) ?? [];
      batch.push(letter);
      pending.set(letter.flow, batch);
      if (batch.length >= 1_000) await flush(letter.flow);
    }
    for (const flow of [...pending.keys()]) await flush(flow);
    return replayed;
  }

  /** Deletes matching dead letters for good. Returns how many. */
  async purge(filter: DeadLetterFilter = {}): Promise<number> {
    const ids: string[] = [];
    for await (const letter of this.scan(filter)) ids.push(letter.id);
    for (let i = 0; i < ids.length; i += PAGE) {
      const page = ids.slice(i, i + PAGE);
      await this.redis
        .multi()
        .zrem(this.keys.deadLetters, ...page)
        .hdel(this.keys.deadLetterItems, ...page)
        .exec();
    }
    return ids.length;
  }
}

function matches(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.flow !== undefined && letter.flow !== filter.flow) return false;
  if (filter.errorCode !== undefined && letter.error.code !== filter.errorCode) return false;
  if (filter.since !== undefined && letter.deadAt < filter.since) return false;
  if (filter.until !== undefined && letter.deadAt >= filter.until) return false;
  return true;
}
