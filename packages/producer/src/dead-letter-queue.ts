import {
  applyInputEdits,
  checkInputEdits,
  type DeadLetter,
  defaults,
  type InputEdits,
  parseTriggerId,
  type RedisConnection,
  type RedisKeys,
} from '@flow-dispatcher/shared';
import type { ChunkWriter } from './chunk-writer.js';
import { ContendedTransactionError } from './contended-transaction-error.js';
import { InputEditConflictError, InvalidInputEditsError } from './input-edit-errors.js';
import { commitTransaction, openTransaction } from './redis-transaction.js';
import type { WatchLane } from './watch-lane.js';

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

export interface ReplayOptions {
  /** Applied to each replayed trigger's input (see applyInputEdits). */
  edits?: InputEdits;
  /** Called with the running count after each chunk of replayed letters is written. */
  onProgress?: (replayed: number) => void;
}

const PAGE = 500;
/** Letters per replayed chunk. */
const REPLAY_CHUNK = 1_000;
/** Tries of an optimistic transaction before it gives up (each abort means another one won). */
const MAX_ROUNDS = 20;

/**
 * The dead letters: triggers Salesforce refused for good, or that ran out of attempts. They stay
 * until replayed or purged (no expiry: nobody should lose a trigger by waiting too long to look).
 * Stored per queue partition as a ZSET of ids by time plus a HASH of records (a letter lives in
 * the partition of its trigger, whose id names it); listing walks each partition's ZSET in time
 * order by rank, filters in pages, and merges the partitions by time, so it stays cheap for any
 * size the sets reach. A listing taken while others replay or purge may skip or repeat a few
 * letters. Replay and purge collect the matching ids first, then act on them in optimistic
 * transactions that read each letter again: a letter is replayed or purged once, by one caller.
 */
export class DeadLetterQueue {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly writer: ChunkWriter,
    /** The connection replays' and purges' transactions run on (shared with the writer's). */
    private readonly lane: WatchLane,
    private readonly resultTtlMs: number = defaults.resultTtlMs,
    /** Resolves once the partition layout is known to match (see Producer.checkPartitionLayout). */
    private readonly ready: () => Promise<void> = async () => {},
  ) {}

  /** How many dead letters match (all of them without a filter), over every partition. */
  async count(filter: DeadLetterFilter = {}): Promise<number> {
    await this.ready();
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
    await this.ready();
    const keys = this.#keysOf(id);
    if (!keys) return undefined;
    const raw = await this.redis.hget(keys.deadLetterItems, id);
    return raw ? (JSON.parse(raw) as DeadLetter) : undefined;
  }

  /** Matching dead letters, oldest first (with `ids`: in their order). */
  async *scan(filter: DeadLetterFilter = {}): AsyncGenerator<DeadLetter> {
    await this.ready();
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

  /**
   * The first `limit` dead letters matching `filter` (default `defaults.deadLetterListLimit`, 100).
   */
  async list(
    filter: DeadLetterFilter = {},
    limit: number = defaults.deadLetterListLimit,
  ): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    for await (const letter of this.scan(filter)) {
      letters.push(letter);
      if (letters.length >= limit) break;
    }
    return letters;
  }

  /**
   * Sends matching dead letters again under their own ids (a new chunk per partition, flow and
   * 1,000 letters, in the letter's own partition), with `options.edits` applied to their inputs.
   * Each letter is replayed at most once, whatever else runs at the same time: replays and purges
   * of the same letters (see ChunkWriter.replayDeadLetters), and letters that die while this runs
   * (a letter dead from now on, a replayed trigger dying again included, is left for the next
   * replay). Answers how many letters THIS call replayed: with another replay or a purge racing it,
   * fewer than matched. Checks the edits first (InvalidInputEditsError), then every matching letter
   * against them (InputEditConflictError) before replaying any.
   */
  async replay(
    filter: DeadLetterFilter = {},
    options: ReplayOptions | ((replayed: number) => void) = {},
  ): Promise<number> {
    const { edits, onProgress } = typeof options === 'function' ? { onProgress: options } : options;
    if (edits) {
      const problem = checkInputEdits(edits);
      if (problem) throw new InvalidInputEditsError(problem);
    }
    await this.ready();
    const bounded = boundedNow(filter);
    // Collect the ids first (replaying while walking the set would move the cursor under our
    // feet); the letters themselves are read again in the transaction that replays them.
    const groups = new Map<string, { flow: string; partition: number; ids: string[] }>();
    let conflicts = 0;
    let conflict: { id: string; reason: string } | undefined;
    for await (const letter of this.scan(bounded)) {
      if (edits) {
        const edited = applyInputEdits(letter.input, edits);
        if ('conflict' in edited) {
          conflicts++;
          conflict ??= { id: letter.id, reason: edited.conflict };
          continue;
        }
      }
      const partition = this.#keysOf(letter.id)?.partition ?? 0;
      const group = `${partition}:${letter.flow}`;
      const entry = groups.get(group) ?? { flow: letter.flow, partition, ids: [] };
      entry.ids.push(letter.id);
      groups.set(group, entry);
    }
    if (conflict) throw new InputEditConflictError(conflicts, conflict.id, conflict.reason);
    const prepare = (letter: DeadLetter): DeadLetter | undefined => {
      if (!matches(letter, bounded)) return undefined;
      if (!edits) return letter;
      const edited = applyInputEdits(letter.input, edits);
      return 'input' in edited ? { ...letter, input: edited.input } : undefined;
    };
    let replayed = 0;
    for (const { flow, partition, ids } of groups.values()) {
      for (let i = 0; i < ids.length; i += REPLAY_CHUNK) {
        const done = await this.writer.replayDeadLetters(
          flow,
          partition,
          ids.slice(i, i + REPLAY_CHUNK),
          prepare,
          this.resultTtlMs,
        );
        replayed += done.length;
        onProgress?.(replayed);
      }
    }
    return replayed;
  }

  /**
   * Deletes matching dead letters for good (those dead before this call: not one dying while it
   * runs). Answers how many THIS call deleted. Atomic with respect to replays: each page is an
   * optimistic transaction on the partition's dead-letter epoch, like a replay's, so a letter is
   * either replayed or purged, never both, and a replay never sends a letter a purge reported
   * deleted.
   */
  async purge(filter: DeadLetterFilter = {}): Promise<number> {
    await this.ready();
    const bounded = boundedNow(filter);
    const byPartition = new Map<RedisKeys, string[]>();
    for await (const letter of this.scan(bounded)) {
      const keys = this.#keysOf(letter.id) ?? this.keys;
      const ids = byPartition.get(keys) ?? [];
      ids.push(letter.id);
      byPartition.set(keys, ids);
    }
    let purged = 0;
    for (const [keys, ids] of byPartition) {
      for (let i = 0; i < ids.length; i += PAGE) {
        purged += await this.#purgePage(keys, ids.slice(i, i + PAGE), bounded);
      }
    }
    return purged;
  }

  /** Deletes those of `ids` still dead and matching, in one optimistic transaction; how many. */
  #purgePage(keys: RedisKeys, ids: readonly string[], filter: DeadLetterFilter): Promise<number> {
    return this.lane.run(async (client) => {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        await client.watch(keys.deadLetterEpoch);
        const raws = await client.hmget(keys.deadLetterItems, ...ids);
        const gone = ids.filter((_, i) => {
          const raw = raws[i];
          return raw ? matches(JSON.parse(raw) as DeadLetter, filter) : false;
        });
        if (gone.length === 0) {
          await client.unwatch();
          return 0;
        }
        const multi = openTransaction(client);
        multi.zrem(keys.deadLetters, ...gone);
        multi.hdel(keys.deadLetterItems, ...gone);
        multi.incr(keys.deadLetterEpoch);
        const results = await commitTransaction(multi);
        if (results === null) continue; // a replay or purge took letters meanwhile: read again
        const failed = results.find(([err]) => err !== null);
        if (failed?.[0]) throw failed[0];
        return gone.length;
      }
      throw new ContendedTransactionError(
        'dead letters are too contended (other replays or purges kept taking them); try again',
      );
    });
  }

  /** The partition a dead letter lives in: its trigger's (undefined for one we do not have). */
  #keysOf(id: string): RedisKeys | undefined {
    const partition = parseTriggerId(id)?.partition ?? 0;
    return partition < this.keys.partitionCount ? this.keys.forPartition(partition) : undefined;
  }
}

/** `filter`, limited to letters dead before now when it has no end of its own. */
function boundedNow(filter: DeadLetterFilter): DeadLetterFilter {
  return { ...filter, until: filter.until ?? Date.now() + 1 };
}

function matches(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.flow !== undefined && letter.flow !== filter.flow) return false;
  if (filter.errorCode !== undefined && letter.error.code !== filter.errorCode) return false;
  if (filter.since !== undefined && letter.deadAt < filter.since) return false;
  if (filter.until !== undefined && letter.deadAt >= filter.until) return false;
  return true;
}
