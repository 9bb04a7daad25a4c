/**
 * Bounds the triggers a worker process holds in memory (fetched from Redis, not yet settled).
 *
 * Consumers wait for room before fetching a chunk and add its size once fetched, so the bound is
 * soft by at most one chunk per flow. Releasing wakes every waiter; each re-checks.
 */
export class BufferBudget {
  #used = 0;
  #waiters: (() => void)[] = [];

  constructor(readonly max: number) {}

  get used(): number {
    return this.#used;
  }

  hasRoom(): boolean {
    return this.#used < this.max;
  }

  /** Resolves at once if there is room, else at the next release (or `wakeAll`): re-check. */
  async waitForRoom(): Promise<void> {
    if (this.hasRoom()) return;
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  take(count: number): void {
    this.#used += count;
  }

  release(count: number): void {
    this.#used = Math.max(0, this.#used - count);
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
