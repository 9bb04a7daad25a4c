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

/**
 * Packs the triggers of one flow, from any number of chunks, into calls.
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
  #buffer: PendingTrigger[] = [];
  #head = 0;
  readonly #splits: PendingTrigger[][] = [];
  #timer: NodeJS.Timeout | undefined;
  #asking = false;
  #closed = false;

  constructor(
    readonly flow: string,
    private readonly limits: BatcherLimits,
    private readonly slots: CallSlots,
    private readonly send: SendBatch,
    private readonly onSendError: (err: unknown, batch: PendingTrigger[]) => void,
  ) {}

  /** Triggers buffered and not yet in a call. */
  get size(): number {
    return this.#buffer.length - this.#head + this.#splits.reduce((n, b) => n + b.length, 0);
  }

  add(triggers: readonly PendingTrigger[]): void {
    if (this.#closed || this.limits.blocked()) {
      for (const trigger of triggers) trigger.run.handBack();
      return;
    }
    for (const trigger of triggers) this.#buffer.push(trigger);
    this.#pump();
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
    const left: PendingTrigger[] = [];
    const dropped: PendingTrigger[] = [];
    for (let i = this.#head; i < this.#buffer.length; i++) {
      const trigger = this.#buffer[i] as PendingTrigger;
      (trigger.run === run ? dropped : left).push(trigger);
    }
    if (dropped.length > 0) {
      this.#buffer = left;
      this.#head = 0;
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
    const left = [...this.#buffer.slice(this.#head), ...this.#splits.flat()];
    this.#buffer = [];
    this.#head = 0;
    this.#splits.length = 0;
    for (const trigger of left) trigger.run.handBack();
  }

  #pending(): number {
    return this.#buffer.length - this.#head;
  }

  #pump(): void {
    if (this.#closed || this.#asking) return;
    if (this.#splits.length === 0) {
      const pending = this.#pending();
      if (pending === 0) return;
      if (pending < this.limits.maxInputs()) {
        const oldest = this.#buffer[this.#head];
        const waitMs = oldest ? oldest.arrivedAt + this.limits.lingerMs() - Date.now() : 0;
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

  /** The next call's triggers: a split first, else the buffer's oldest; none whose lock lapsed. */
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
    return this.#take(Math.min(this.limits.maxInputs(), grant), now);
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

  #take(max: number, now: number): PendingTrigger[] {
    const want = Math.max(1, max);
    let end = Math.min(this.#buffer.length, this.#head + want);
    let batch = this.#buffer.slice(this.#head, end);
    if (!batch.every((trigger) => trigger.run.canSend(now))) {
      // Rare: a run's lock lapsed while its triggers waited. Skip them and fill from behind.
      batch = [];
      end = this.#head;
      while (end < this.#buffer.length && batch.length < want) {
        const trigger = this.#buffer[end++] as PendingTrigger;
        if (trigger.run.canSend(now)) batch.push(trigger);
        else trigger.run.handBack();
      }
    }
    this.#head = end;
    if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }
}
