import type { Logger, RedisConnection, RedisKeys } from '@flow-dispatcher/shared';

/**
 * The backlog, in triggers: the sum of the per-flow pending counters (stored, not yet settled) of
 * every queue partition, less the scheduled triggers no worker has taken yet, read every `pollMs` rather than per request, so admission costs no Redis
 * round trip. It lags by up to one poll; a limit is a guard rail, not an exact quota. When a read fails the last value
 * is kept (writes fail on their own while Redis is away).
 */
export class BacklogMonitor {
  #backlog = 0;
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly options: { pollMs: number; logger: Logger; onSample?: (n: number) => void },
  ) {}

  /** Triggers stored and not yet settled, all flows, as of the last read. */
  get backlog(): number {
    return this.#backlog;
  }

  start(): void {
    if (this.#timer) return;
    void this.read();
    this.#timer = setInterval(() => void this.read(), this.options.pollMs);
    this.#timer.unref();
  }

  /** Reads the counters now (one read at a time). */
  read(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #read(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    try {
      const [pending, scheduled] = await Promise.all([
        Promise.all(this.keys.allPartitions.map((keys) => this.redis.hvals(keys.pending))),
        Promise.all(this.keys.allPartitions.map((keys) => this.redis.hvals(keys.scheduled))),
      ]);
      // Scheduled triggers no worker has taken yet are not a backlog to push back on.
      this.#backlog = Math.max(0, sumPending(pending.flat()) - sumPending(scheduled.flat()));
      this.options.onSample?.(this.#backlog);
    } catch (err) {
      this.options.logger.debug(
        { err: { message: (err as Error).message } },
        'backlog read failed; keeping the last value',
      );
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#reading;
  }
}

/** Sum of pending counters (pure); a negative counter (a worker settled twice) counts as 0. */
export function sumPending(values: readonly string[]): number {
  let sum = 0;
  for (const value of values) {
    const n = Number(value);
    if (Number.isFinite(n) && n > 0) sum += n;
  }
  return sum;
}
