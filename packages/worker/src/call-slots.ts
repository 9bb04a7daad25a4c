/** Releases a call slot; calling it twice is harmless. */
export type ReleaseSlot = () => void;

/** Permission to have one call to Salesforce in flight. */
export interface CallSlots {
  /** Resolves once a call may start. Waiters are served first come, first served. */
  acquire(): Promise<ReleaseSlot>;
  /** Calls in flight now (through this process). */
  readonly inUse: number;
  /** The current limit. */
  readonly limit: number;
}

/**
 * A counting semaphore for this process's calls.
 *
 * States: `inUse` < `limit` grants at once; at the limit, callers queue FIFO and each release
 * hands its slot straight to the oldest waiter.
 */
export class LocalCallSlots implements CallSlots {
  #inUse = 0;
  readonly #waiters: ((release: ReleaseSlot) => void)[] = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.#inUse;
  }

  acquire(): Promise<ReleaseSlot> {
    if (this.#inUse < this.limit) {
      this.#inUse++;
      return Promise.resolve(this.#release());
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #release(): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next(this.#release());
      else this.#inUse--;
    };
  }
}
