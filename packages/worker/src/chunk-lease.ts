/**
 * What this process knows of its lock on one chunk job, for one run of it (one fetch: runs of the
 * same chunk, in this process or another, never share a lease).
 *
 * BullMQ's lock is a Redis key that expires `lockDurationMs` after it was last set. Only Redis
 * knows when that is, but the lock was set after the command that set it was sent, so
 * "sent at + lockDurationMs" is a time by which it is surely still held (`validUntil`): the fetch
 * (BullMQ stamps `processedOn` with the time it sent the command that took the lock) and every
 * renewal that Redis confirmed move it forward.
 *
 *   held ──renewal confirmed──► held (validUntil moves on)
 *     │
 *     ├─ renewal answered "not your lock" (0) ─────────────┐
 *     └─ validUntil − margin passes with no confirmation ──┴─► lost (final)
 *
 * Once lost, another worker may own the chunk (the stalled check hands it on once the key has
 * expired), so nothing of this run may be sent any more: its buffered triggers are dropped and
 * its calls already in flight only settle. The margin covers the moment between the check and the
 * request leaving the socket; it costs a run that many milliseconds of sending per lock period at
 * worst, which only matters when renewals stop arriving anyway.
 */
export class ChunkLease {
  #validUntil: number;
  #lost = false;
  #reason = '';
  #renewing = false;
  readonly #onLost: ((reason: string) => void)[] = [];
  readonly #marginMs: number;

  constructor(
    /** The lock's duration, as BullMQ sets it at each fetch and renewal. */
    readonly lockDurationMs: number,
    /** Epoch ms at which the command that took the lock was sent. */
    lockedAt: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.#validUntil = lockedAt + lockDurationMs;
    this.#marginMs = Math.min(1_000, lockDurationMs / 10);
  }

  /** The lock is gone or may be: final. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Why the lock was given up (for logs). */
  get reason(): string {
    return this.#reason;
  }

  /** Epoch ms until which the lock is surely held (as far as this process knows). */
  get validUntil(): number {
    return this.#validUntil;
  }

  /** Whether a call may be sent for this chunk now; marks the lease lost when its time is up. */
  canSend(now = this.clock()): boolean {
    if (this.#lost) return false;
    if (now < this.#validUntil - this.#marginMs) return true;
    this.markLost('the lock could not be renewed before it expired');
    return false;
  }

  /**
   * Renews the lock with `extend` (BullMQ's `extendLock`: 1 when renewed, 0 when the lock is not
   * ours any more). One renewal at a time: while one is unanswered (Redis unreachable), the next
   * round skips, and the lease runs out on its own if none is confirmed in time.
   */
  renew(extend: () => Promise<number>): Promise<void> {
    if (this.#lost || this.#renewing) return Promise.resolve();
    this.#renewing = true;
    const sentAt = this.clock();
    return extend()
      .then(
        (renewed) => {
          if (renewed === 1)
            this.#validUntil = Math.max(this.#validUntil, sentAt + this.lockDurationMs);
          else this.markLost('Redis says the lock belongs to nobody or to another worker');
        },
        () => {
          // Unknown: the lease runs out on its own unless a later renewal is confirmed.
          this.canSend();
        },
      )
      .finally(() => {
        this.#renewing = false;
      });
  }

  /** Gives the lock up for good and tells the listeners (once). */
  markLost(reason: string): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#reason = reason;
    for (const listener of this.#onLost.splice(0)) listener(reason);
  }

  /** Calls `listener` once when the lease is lost (at once if it already is). */
  onLost(listener: (reason: string) => void): void {
    if (this.#lost) listener(this.#reason);
    else this.#onLost.push(listener);
  }
}
