import type { RedisConnection } from '@flow-dispatcher/shared';

/**
 * A connection for optimistic transactions (WATCH, reads, then MULTI … EXEC), lent to one
 * transaction at a time. WATCH state belongs to the connection: two transactions interleaved on it
 * would each be aborted by the other's keys, or have their WATCH cleared by the other's EXEC.
 *
 * States: idle, or running one transaction while later ones wait in arrival order. A transaction
 * that fails does not stop the ones after it. The trade-off: one slow transaction delays the
 * others of this producer; those are keyed writes and dead-letter replays and purges, which are
 * rarer than plain writes (which never wait here).
 */
export class WatchLane {
  #tail: Promise<unknown> = Promise.resolve();

  constructor(readonly redis: RedisConnection) {}

  /** Runs `transaction` once every transaction handed over before it has finished. */
  run<T>(transaction: (redis: RedisConnection) => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => transaction(this.redis));
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Resolves once every transaction handed over so far has finished. */
  async idle(): Promise<void> {
    await this.#tail;
  }
}
