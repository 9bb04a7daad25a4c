import type { FlowInput, TriggerRecord } from '@flow-dispatcher/shared';
import type { ChunkLease } from './chunk-lease.js';

/** A trigger waiting in a batcher or riding a call. */
export interface PendingTrigger {
  run: ChunkRun;
  /** Position in the chunk. */
  index: number;
  input: FlowInput;
  /** Counted attempts before this round. */
  attempts: number;
  /** Epoch ms when the trigger was stored (its chunk job's timestamp). */
  enqueuedAt: number;
  /** The request that brought it (ingest's request id), for the call's log line. */
  requestId?: string | undefined;
  /** W3C `traceparent` of the span that enqueued it (only while tracing). */
  traceparent?: string | undefined;
  /** When it entered the batcher (for the linger clock). */
  arrivedAt: number;
  /**
   * Its batcher lane: 0 high, 1 normal, 2 low (from its chunk job's priority).
   * @defaultValue 1 (normal)
   */
  lane?: number;
  /** When it may be sent (epoch ms), for a scheduled trigger: the batcher holds it until then. */
  dueAt?: number;
  /**
   * Set once a call that carried it failed alike on every input: the flow's breaker has counted
   * it, and counts it no more (the halves of a call refused whole carry the same triggers).
   */
  evidence?: boolean;
}

/**
 * One round of one chunk job in this process: the triggers that were due are handed to the
 * batcher, and the run completes when each of them is settled (a new record, persisted) or handed
 * back (not sent: shutdown, or the chunk's lock was lost). The chunk processor then decides the
 * job's fate.
 */
export class ChunkRun {
  /** New records of this round, by index; already persisted in Redis. */
  readonly records = new Map<number, TriggerRecord>();
  #remaining = 0;
  #handedBack = 0;
  #resolve: () => void = () => {};
  readonly done: Promise<void>;

  constructor(
    readonly flow: string,
    readonly chunkId: string,
    /** Trigger id per index when it is not the default one (replayed triggers). */
    readonly ids: readonly (string | null)[] | undefined,
    /** Idempotency key per index, kept for dead letters. */
    readonly keys: readonly (string | null)[] | undefined,
    /** The queue partition of the chunk: its outcomes and dead letters are written there. */
    readonly partition = 0,
    /** This run's lock on the chunk; without one (unit tests), the run may always send. */
    readonly lease?: ChunkLease,
  ) {
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Declares how many triggers this round sends; resolves `done` at once when none. */
  expect(count: number): void {
    this.#remaining = count;
    if (count === 0) this.#resolve();
  }

  /** Whether this run's triggers may still be sent (its chunk lock is surely held). */
  canSend(now?: number): boolean {
    return this.lease?.canSend(now) ?? true;
  }

  get handedBack(): number {
    return this.#handedBack;
  }

  settle(index: number, record: TriggerRecord): void {
    this.records.set(index, record);
    this.#finishOne();
  }

  handBack(): void {
    this.#handedBack++;
    this.#finishOne();
  }

  #finishOne(): void {
    this.#remaining--;
    if (this.#remaining === 0) this.#resolve();
  }
}
