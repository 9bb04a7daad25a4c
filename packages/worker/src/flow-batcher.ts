import type { CallPermit, CallSlots } from '@flow-dispatcher/salesforce';
import type { ChunkRun, PendingTrigger } from './chunk-run.js';
import type { CallPace } from './flow-pacing.js';

/**
 * Sends one call's worth of triggers and resolves once each is settled or handed back. It
 * releases the permit as soon as the HTTP exchange is over (the slot guards calls in flight, not
 * the bookkeeping after them); the batcher releases again afterwards, which is harmless.
 */
export type SendBatch = (
  flow: string,
  batch: PendingTrigger[],
  permit: CallPermit,
) => Promise<void>;

export interface BatcherLimits {
  /** The flow may not be called now (it is held): hand triggers back instead. */
  blocked(): boolean;
  /** Most inputs per call, read at each call (it may adapt per flow). */
  maxInputs(): number;
  /** Longest wait for a call to fill, read at each decision. */
  lingerMs(): number;
  /** The flow's pace (flow-pacing.ts): a call waits for its tokens, then for its permit. */
  pace?: CallPace;
}

/** Lanes of a batcher: 0 = high, 1 = normal, 2 = low (trigger-priority.ts). */
const LANES = 3;

/** One lane's FIFO of triggers: `items[head…]` are buffered. */
interface Lane {
  items: PendingTrigger[];
  head: number;
}

/**
 * Packs the triggers of one flow, from any number of chunks, into calls.
 *
 * Triggers wait in one of three lanes by priority (`PendingTrigger.lane`), and each call is filled
 * from the highest lane first, then the next (a call may mix lanes): a high trigger waits at most
 * one linger plus one call behind any backlog buffered here. The linger clock runs from the
 * oldest trigger of any lane. A scheduled trigger not due yet waits aside (`#later`) and joins its
 * lane when due, its linger counted from then.
 *
 * States: empty → filling (a linger timer runs from the oldest trigger's arrival) → ready (full,
 * or the oldest has waited `lingerMs`) → waiting for a call slot → sending. The batch is cut when
 * the slot is granted, not when it was asked for: while the fleet is at its concurrency limit,
 * triggers keep arriving and each call leaves as full as it can be. That trades a little latency
 * at saturation for fewer API calls, which is the scarce resource. Split batches (bisecting a call
 * Salesforce refused as a whole, or resending one refused for a governor limit in smaller calls)
 * go out first, one call each, cut again if the flow's most inputs per call shrank meanwhile.
 *
 * A trigger whose chunk lock is no longer surely held (`run.canSend()`) is never put in a call: it
 * is handed back when the batch is cut, and `dropRun` removes a run's triggers as soon as its lock
 * is known lost, so another worker that now owns the chunk is the only one to send them.
 */
export class FlowBatcher {
  #lanes: Lane[] = Array.from({ length: LANES }, () => ({ items: [], head: 0 }));
  readonly #splits: PendingTrigger[][] = [];
  /** Scheduled triggers not due yet, by due time (README, "Scheduled triggers"). */
  #later: PendingTrigger[] = [];
  #laterTimer: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #asking = false;
  #closed = false;

  constructor(
    readonly flow: string,
    private readonly limits: BatcherLimits,
    private readonly slots: CallSlots,
    private readonly send: SendBatch,
    private readonly onSendError: (err: unknown, batch: PendingTrigger[]) => void,
    /** Told of each batch cut from the lanes (not of splits), as its call starts (metrics). */
    private readonly onCallStart: (
      batch: readonly PendingTrigger[],
      now: number,
    ) => void = () => {},
  ) {}

  /** Triggers buffered and not yet in a call. */
  get size(): number {
    return this.#pending() + this.#later.length + this.#splits.reduce((n, b) => n + b.length, 0);
  }

  /**
   * Buffers triggers in their lanes. A scheduled one not due yet (`dueAt`) is held aside until it
   * is, then enters its lane as if it arrived then (its linger counts from its due time).
   */
  add(triggers: readonly PendingTrigger[]): void {
    if (this.#closed || this.limits.blocked()) {
      for (const trigger of triggers) trigger.run.handBack();
      return;
    }
    const now = Date.now();
    let later = false;
    for (const trigger of triggers) {
      if (trigger.dueAt !== undefined && trigger.dueAt > now) {
        this.#later.push(trigger);
        later = true;
      } else this.#laneOf(trigger).items.push(trigger);
    }
    if (later) {
      this.#later.sort((a, b) => (a.dueAt ?? 0) - (b.dueAt ?? 0));
      this.#armLater(now);
    }
    this.#pump();
  }

  /** Moves the triggers now due from `#later` into their lanes, and waits for the next one. */
  #releaseDue(): void {
    this.#laterTimer = undefined;
    const now = Date.now();
    let due = 0;
    while (due < this.#later.length && (this.#later[due]?.dueAt ?? 0) <= now) due++;
    if (due > 0) {
      for (const trigger of this.#later.splice(0, due)) {
        trigger.arrivedAt = trigger.dueAt ?? now;
        this.#laneOf(trigger).items.push(trigger);
      }
    }
    this.#armLater(now);
    this.#pump();
  }

  #armLater(now: number): void {
    const next = this.#later[0];
    if (!next || this.#closed) return;
    clearTimeout(this.#laterTimer);
    this.#laterTimer = setTimeout(() => this.#releaseDue(), Math.max(0, (next.dueAt ?? now) - now));
  }

  /** Sends `batch` as one call of its own, ahead of the buffer. */
  addSplit(batch: PendingTrigger[]): void {
    if (this.#closed || this.limits.blocked()) {
      for (const trigger of batch) trigger.run.handBack();
      return;
    }
    this.#splits.push(batch);
    this.#pump();
  }

  /** Stops taking triggers and hands back every buffered one. Calls in flight go on. */
  close(): void {
    this.#closed = true;
    this.handBackBuffered();
  }

  /**
   * Hands back every buffered trigger of `run` (its chunk's lock was lost: another worker may own
   * the chunk now). Calls already in flight are not touched.
   */
  dropRun(run: ChunkRun): void {
    const dropped: PendingTrigger[] = [];
    for (const lane of this.#lanes) {
      const left: PendingTrigger[] = [];
      let any = false;
      for (let i = lane.head; i < lane.items.length; i++) {
        const trigger = lane.items[i] as PendingTrigger;
        if (trigger.run === run) {
          dropped.push(trigger);
          any = true;
        } else left.push(trigger);
      }
      if (any) {
        lane.items = left;
        lane.head = 0;
      }
    }
    if (this.#later.some((trigger) => trigger.run === run)) {
      for (const trigger of this.#later) if (trigger.run === run) dropped.push(trigger);
      this.#later = this.#later.filter((trigger) => trigger.run !== run);
    }
    for (let i = this.#splits.length - 1; i >= 0; i--) {
      const split = this.#splits[i] as PendingTrigger[];
      const kept = split.filter((trigger) => trigger.run !== run);
      if (kept.length === split.length) continue;
      for (const trigger of split) if (trigger.run === run) dropped.push(trigger);
      if (kept.length === 0) this.#splits.splice(i, 1);
      else this.#splits[i] = kept;
    }
    for (const trigger of dropped) trigger.run.handBack();
  }

  /** Hands back every buffered trigger (to its chunk, which goes back to the queue). */
  handBackBuffered(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#laterTimer);
    this.#laterTimer = undefined;
    const left = [
      ...this.#lanes.flatMap((lane) => lane.items.slice(lane.head)),
      ...this.#later,
      ...this.#splits.flat(),
    ];
    this.#lanes = Array.from({ length: LANES }, () => ({ items: [], head: 0 }));
    this.#later = [];
    this.#splits.length = 0;
    for (const trigger of left) trigger.run.handBack();
  }

  #laneOf(trigger: PendingTrigger): Lane {
    const index = Math.min(LANES - 1, Math.max(0, trigger.lane ?? 1));
    return this.#lanes[index] as Lane;
  }

  #pending(): number {
    let pending = 0;
    for (const lane of this.#lanes) pending += lane.items.length - lane.head;
    return pending;
  }

  /** When the oldest buffered trigger of any lane arrived (each lane is in arrival order). */
  #oldestArrival(): number | undefined {
    let oldest: number | undefined;
    for (const lane of this.#lanes) {
      const head = lane.items[lane.head];
      if (head && (oldest === undefined || head.arrivedAt < oldest)) oldest = head.arrivedAt;
    }
    return oldest;
  }

  #pump(): void {
    if (this.#closed || this.#asking) return;
    if (this.#splits.length === 0) {
      const pending = this.#pending();
      if (pending === 0) return;
      if (pending < this.limits.maxInputs()) {
        const oldest = this.#oldestArrival();
        const waitMs = oldest !== undefined ? oldest + this.limits.lingerMs() - Date.now() : 0;
        if (waitMs > 0) {
          this.#timer ??= setTimeout(() => {
            this.#timer = undefined;
            this.#pump();
          }, waitMs);
          return;
        }
      }
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#asking = true;
    // A paced flow's call waits for its tokens (filling meanwhile) before its permit is granted.
    const admitted =
      this.limits.pace?.admit(() => Math.min(this.size, this.limits.maxInputs()), this.slots) ??
      this.slots.acquire().then((permit) => ({ permit, grant: Number.POSITIVE_INFINITY }));
    admitted.then(
      ({ permit, grant }) => this.#onSlot(permit, grant),
      (err) => {
        this.#asking = false;
        this.onSendError(err, []);
      },
    );
  }

  #onSlot(permit: CallPermit, grant: number): void {
    this.#asking = false;
    if (this.limits.blocked()) this.handBackBuffered();
    const batch = this.#closed || grant <= 0 ? [] : this.#nextBatch(grant);
    this.limits.pace?.settle(grant, batch.length);
    if (batch.length === 0) {
      permit.release();
      this.#pump();
      return;
    }
    this.send(this.flow, batch, permit)
      .catch((err) => this.onSendError(err, batch))
      .finally(() => permit.release());
    this.#pump();
  }

  /** The next call's triggers: a split first, else the lanes' oldest; none whose lock lapsed. */
  #nextBatch(grant: number): PendingTrigger[] {
    const now = Date.now();
    for (;;) {
      const split = this.#nextSplit(grant);
      if (split === undefined) break;
      const sendable = split.filter((trigger) => trigger.run.canSend(now));
      if (sendable.length === split.length) return split;
      for (const trigger of split) if (!trigger.run.canSend(now)) trigger.run.handBack();
      if (sendable.length > 0) return sendable;
    }
    const batch = this.#take(Math.min(this.limits.maxInputs(), grant), now);
    if (batch.length > 0) {
      try {
        this.onCallStart(batch, now);
      } catch {
        // Metrics only: never in the way of a call.
      }
    }
    return batch;
  }

  /**
   * The next split batch, cut to the flow's current most inputs per call: a batch split for a
   * governor limit waits for a slot while other calls of the flow may shrink the size again, and a
   * call that is already known too large would only be refused once more (and cost an API call).
   * The rest stays first in line. Cutting a bisected half smaller still finds its bad input.
   */
  #nextSplit(grant: number): PendingTrigger[] | undefined {
    const next = this.#splits[0];
    if (!next) return undefined;
    const max = Math.max(1, Math.min(this.limits.maxInputs(), grant));
    if (next.length <= max) return this.#splits.shift();
    return next.splice(0, max);
  }

  /** Up to `max` triggers, from the highest lane first; a trigger whose lock lapsed is handed back. */
  #take(max: number, now: number): PendingTrigger[] {
    const want = Math.max(1, max);
    const batch: PendingTrigger[] = [];
    for (const lane of this.#lanes) {
      while (lane.head < lane.items.length && batch.length < want) {
        const trigger = lane.items[lane.head++] as PendingTrigger;
        // Rare: a run's lock lapsed while its triggers waited. Skip them and fill from behind.
        if (trigger.run.canSend(now)) batch.push(trigger);
        else trigger.run.handBack();
      }
      if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
        lane.items = lane.items.slice(lane.head);
        lane.head = 0;
      }
      if (batch.length >= want) break;
    }
    return batch;
  }
}
