/**
 * Permission to have one call to Salesforce in flight.
 *
 * A permit is counted against the concurrency limit from the moment it is granted until it is
 * released or, for the fleet's permits, until its lease lapses. A call must never be in flight on
 * a permit that is no longer counted, so before each HTTP request the client asks `covers`: is
 * this permit known to stay counted for as long as the request may take?
 */
export interface CallPermit {
  /** Gives the slot back (to the next waiter of this process, or to the fleet); idempotent. */
  release(): void;
  /**
   * Whether a request that may stay in flight for `durationMs` can start now under this permit.
   * It may renew the permit first (a Redis round trip); it answers false when the permit lapsed or
   * could not be renewed in time, and the request must then not be sent.
   */
  covers(durationMs: number): Promise<boolean>;
}

/** Where calls get their permits. */
export interface CallSlots {
  /** Resolves once a call may start. Waiters are served first come, first served. */
  acquire(): Promise<CallPermit>;
  /** Calls in flight now (through this process). */
  readonly inUse: number;
  /** The current limit. */
  readonly limit: number;
}

const ALWAYS = Promise.resolve(true);

/**
 * A counting semaphore for this process's calls (no fleet: a permit never lapses).
 *
 * States: `inUse` < `limit` grants at once; at the limit, callers queue FIFO and each release
 * hands its slot straight to the oldest waiter.
 */
export class LocalCallSlots implements CallSlots {
  #inUse = 0;
  readonly #waiters: ((permit: CallPermit) => void)[] = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.#inUse;
  }

  acquire(): Promise<CallPermit> {
    if (this.#inUse < this.limit) {
      this.#inUse++;
      return Promise.resolve(this.#permit());
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #permit(): CallPermit {
    let released = false;
    return {
      covers: () => ALWAYS,
      release: () => {
        if (released) return;
        released = true;
        const next = this.#waiters.shift();
        if (next) next(this.#permit());
        else this.#inUse--;
      },
    };
  }
}
