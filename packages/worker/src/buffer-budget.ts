/**
 * Bounds what a worker process holds in memory: triggers fetched from Redis and not yet settled,
 * counted both in triggers and in bytes (the size of their inputs as JSON), so that 20,000 inputs
 * of 64 KB cannot fill the heap any more than 20,000 small ones.
 *
 * Consumers wait for room before fetching a chunk and take its whole size as soon as it is
 * fetched, before anything else is awaited, so the bound is soft by at most one chunk per flow
 * and partition. Releasing wakes every waiter; each re-checks.
 */
export class BufferBudget {
  #used = 0;
  #bytes = 0;
  #waiters: (() => void)[] = [];

  constructor(
    readonly max: number,
    readonly maxBytes: number = Number.POSITIVE_INFINITY,
  ) {}

  get used(): number {
    return this.#used;
  }

  get usedBytes(): number {
    return this.#bytes;
  }

  hasRoom(): boolean {
    return this.#used < this.max && this.#bytes < this.maxBytes;
  }

  /** Resolves at once if there is room, else at the next release (or `wakeAll`): re-check. */
  async waitForRoom(): Promise<void> {
    if (this.hasRoom()) return;
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  take(count: number, bytes = 0): void {
    this.#used += count;
    this.#bytes += bytes;
  }

  release(count: number, bytes = 0): void {
    this.#used = Math.max(0, this.#used - count);
    this.#bytes = Math.max(0, this.#bytes - bytes);
    if (this.hasRoom() && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Wakes every waiter (at shutdown, so they can see the consumer is closing). */
  wakeAll(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
