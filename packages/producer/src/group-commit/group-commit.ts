import { defaults } from '@flow-dispatcher/shared';
import type { ChunkItem, TriggerReceipt } from '../chunk-writer.js';
import type { PartitionPart } from '../partition-routing.js';
import { ProducerClosedError } from '../producer-closed-error.js';
import { fitsInChunk, splitByRequest } from './chunk-packing.js';
import type { CommitObserver, TriggerCommitter, WriteChunk } from './trigger-committer.js';

export interface GroupCommitOptions {
  /** Longest wait, from a chunk's first request, before it is written. 0 = the same tick. */
  lingerMs: number;
  /** Soft cap of triggers per chunk: a chunk is written as soon as it reaches it. */
  maxChunk: number;
  /** Chunk writes in flight per lane (flow and partition). @defaultValue defaults.ingestMaxWritesInFlight */
  maxWritesInFlight?: number;
  /**
   * Chunk writes in flight per lane of requests that carry idempotency keys. A keyed write is an
   * optimistic transaction that the writer runs one at a time (WATCH is per connection), so a
   * second write in flight would only wait its turn, cut small, while the open chunk could have
   * gathered its requests. @defaultValue defaults.ingestMaxKeyedWritesInFlight
   */
  maxKeyedWritesInFlight?: number;
  /**
   * How a request's triggers split over the queue partitions (the producer's `partitionsOf`):
   * each part joins the lane of its flow and partition, so every chunk is one partition's.
   * @defaultValue one part, no partition (one queue partition)
   */
  split?: (flow: string, items: readonly ChunkItem[]) => PartitionPart[];
}

interface Waiter {
  items: readonly ChunkItem[];
  resolve: (receipts: TriggerReceipt[]) => void;
  reject: (err: unknown) => void;
}

interface Chunk {
  waiters: Waiter[];
  triggers: number;
  /** Its linger is over: written as soon as a write slot is free. */
  due: boolean;
  /** Cancels the linger timer. */
  cancel: (() => void) | undefined;
}

interface Lane {
  flow: string;
  /** Its key in the lane map: flow, partition, chunk class, and whether its requests carry keys. */
  id: string;
  /** Writes it may have in flight. */
  maxWrites: number;
  /** The chunk requests join. */
  open: Chunk | undefined;
  /** Full chunks waiting for a write slot, oldest first. */
  sealed: Chunk[];
  writing: number;
}

/**
 * Group commit: concurrent requests for one flow become one chunk job.
 *
 * Lanes are per flow, chunk class (priority) and queue partition: a request whose keys fall in several partitions joins
 * several lanes, one part each; requests without keys share a lane whose chunks are placed round
 * robin when written. Parts with idempotency keys and parts without have lanes of their own, as
 * their writes differ (a keyed one is a transaction, one at a time per writer). Per lane, a chunk
 * is open → (linger over, or full) → written → each request answered with its own receipts, or
 * every request of the chunk failed with the write's error. A
 * request joins the open chunk if it fits under `maxChunk`; otherwise the open chunk is sealed and
 * the request starts the next one (a request larger than the cap gets a chunk of its own: a
 * request, or with several partitions a request's part, is never split, so it is stored or
 * refused whole). At most `maxWritesInFlight` writes run per lane (`maxKeyedWritesInFlight` for
 * keyed lanes);
 * while they are all busy, a chunk whose linger is over stays open and keeps filling, so chunks
 * grow with the load instead of queueing up small.
 *
 * The trade-off: every request waits up to `lingerMs` (plus one write) in exchange for one BullMQ
 * job, one MULTI, per many triggers, which is what lets one Redis take tens of thousands of
 * triggers per second instead of a few thousand.
 */
export class GroupCommit implements TriggerCommitter {
  readonly #lanes = new Map<string, Lane>();
  readonly #writes = new Set<Promise<void>>();
  readonly #lingerMs: number;
  readonly #maxChunk: number;
  readonly #maxWritesInFlight: number;
  readonly #maxKeyedWritesInFlight: number;
  readonly #split: (flow: string, items: readonly ChunkItem[]) => PartitionPart[];
  #closed = false;

  constructor(
    private readonly write: WriteChunk,
    options: GroupCommitOptions,
    private readonly observer: CommitObserver = {},
  ) {
    this.#lingerMs = options.lingerMs;
    this.#maxChunk = Math.max(1, options.maxChunk);
    this.#maxWritesInFlight = Math.max(
      1,
      options.maxWritesInFlight ?? defaults.ingestMaxWritesInFlight,
    );
    this.#maxKeyedWritesInFlight = Math.max(
      1,
      options.maxKeyedWritesInFlight ?? defaults.ingestMaxKeyedWritesInFlight,
    );
    this.#split =
      options.split ??
      ((_flow, items) => [{ partition: undefined, indexes: items.map((_, i) => i) }]);
  }

  /**
   * Resolves with one receipt per trigger, in order, once every part is stored. A request split
   * over partitions is rejected if any part's write fails (its other parts may be stored).
   */
  async submit(flow: string, items: readonly ChunkItem[]): Promise<TriggerReceipt[]> {
    if (items.length === 0) return [];
    const parts = this.#split(flow, items);
    if (parts.length === 1) {
      return this.#submitPart(flow, parts[0]?.partition, parts[0]?.chunkClass, items);
    }
    const written = await Promise.all(
      parts.map((part) =>
        this.#submitPart(
          flow,
          part.partition,
          part.chunkClass,
          part.indexes.map((i) => items[i] as ChunkItem),
        ),
      ),
    );
    const receipts: TriggerReceipt[] = new Array(items.length);
    written.forEach((run, i) => {
      parts[i]?.indexes.forEach((index, j) => {
        receipts[index] = run[j] as TriggerReceipt;
      });
    });
    return receipts;
  }

  #submitPart(
    flow: string,
    partition: number | undefined,
    chunkClass: string | undefined,
    items: readonly ChunkItem[],
  ): Promise<TriggerReceipt[]> {
    if (this.#closed) {
      return Promise.reject(new ProducerClosedError('closed: nothing was stored'));
    }
    return new Promise((resolve, reject) => {
      const lane = this.#lane(
        flow,
        partition,
        chunkClass,
        items.some((item) => item.key != null),
      );
      if (lane.open && !fitsInChunk(lane.open.triggers, items.length, this.#maxChunk)) {
        this.#seal(lane);
      }
      if (!lane.open) lane.open = this.#openChunk(lane);
      const chunk = lane.open;
      chunk.waiters.push({ items, resolve, reject });
      chunk.triggers += items.length;
      if (chunk.triggers >= this.#maxChunk) this.#seal(lane);
      this.#pump(lane);
    });
  }

  /** Writes every waiting chunk now and resolves when all writes have ended. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const lane of this.#lanes.values()) {
      if (lane.open) lane.open.due = true;
      this.#pump(lane);
    }
    while (this.#writes.size > 0) await Promise.all([...this.#writes]);
  }

  #lane(
    flow: string,
    partition: number | undefined,
    chunkClass: string | undefined,
    keyed: boolean,
  ): Lane {
    const id = `${flow}\u0000${partition ?? '*'}\u0000${chunkClass ?? ''}\u0000${keyed ? 'k' : ''}`;
    let lane = this.#lanes.get(id);
    if (!lane) {
      const maxWrites = keyed ? this.#maxKeyedWritesInFlight : this.#maxWritesInFlight;
      lane = { flow, id, maxWrites, open: undefined, sealed: [], writing: 0 };
      this.#lanes.set(id, lane);
    }
    return lane;
  }

  #openChunk(lane: Lane): Chunk {
    const chunk: Chunk = { waiters: [], triggers: 0, due: false, cancel: undefined };
    const lingerOver = () => {
      chunk.cancel = undefined;
      chunk.due = true;
      this.#pump(lane);
    };
    if (this.#lingerMs > 0) {
      const timer = setTimeout(lingerOver, this.#lingerMs);
      chunk.cancel = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(lingerOver);
      chunk.cancel = () => clearImmediate(immediate);
    }
    return chunk;
  }

  #seal(lane: Lane): void {
    const chunk = lane.open;
    if (!chunk) return;
    lane.open = undefined;
    clearTimer(chunk);
    lane.sealed.push(chunk);
  }

  #pump(lane: Lane): void {
    while (lane.writing < lane.maxWrites) {
      let chunk = lane.sealed.shift();
      if (!chunk && lane.open?.due) {
        chunk = lane.open;
        lane.open = undefined;
        clearTimer(chunk);
      }
      if (!chunk) break;
      this.#startWrite(lane, chunk);
    }
    if (!lane.open && lane.sealed.length === 0 && lane.writing === 0) this.#lanes.delete(lane.id);
  }

  #startWrite(lane: Lane, chunk: Chunk): void {
    const { flow } = lane;
    lane.writing++;
    const { waiters, triggers } = chunk;
    const items =
      waiters.length === 1 ? (waiters[0]?.items ?? []) : waiters.flatMap((w) => w.items);
    const done = this.write(flow, items)
      .then(
        (receipts) => {
          const runs = splitByRequest(
            receipts,
            waiters.map((w) => w.items.length),
          );
          waiters.forEach((waiter, i) => {
            waiter.resolve(runs[i] ?? []);
          });
          this.observer.onChunk?.(flow, triggers, waiters.length);
        },
        (err: unknown) => {
          this.observer.onError?.(flow, triggers, waiters.length, err);
          for (const waiter of waiters) waiter.reject(err);
        },
      )
      .catch((err: unknown) => {
        // splitByRequest refused the receipts: no request may be told it was stored. (Waiters
        // already settled ignore this.)
        for (const waiter of waiters) waiter.reject(err);
      })
      .finally(() => {
        lane.writing--;
        this.#writes.delete(done);
        // A lane is dropped only when idle (nothing open, sealed or writing), so this is the live one.
        this.#pump(lane);
      });
    this.#writes.add(done);
  }
}

function clearTimer(chunk: Chunk): void {
  chunk.cancel?.();
  chunk.cancel = undefined;
}
