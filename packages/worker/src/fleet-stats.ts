import {
  type Logger,
  type RedisConnection,
  type RedisKeys,
  STATS_BUCKET_SECONDS,
} from '@flow-dispatcher/shared';
import type { CallEvent } from './call-executor.js';

const STATS_TTL_SECONDS = 3_600;

/**
 * Publishes what this worker's calls did into Redis, so `flow-dispatcher stats` can show the whole
 * fleet's rates without scraping every worker: counters are summed in memory per call and added to
 * the current 10-second bucket every `flushMs` (one pipeline), so the hot path never waits on it.
 * A crash loses at most that much of the counts; the counts are for people, not for correctness.
 */
export class FleetStats {
  #pending = new Map<string, number>();
  #bucket = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
    /**
     * How often the counts go to Redis; `stats` waits this long (and some) for a bucket to settle.
     */
    private readonly flushMs: number,
  ) {}

  readonly observe = (event: CallEvent): void => {
    this.#add('calls', 1);
    this.#add('inputs', event.inputs);
    if (event.succeeded) this.#add('succeeded', event.succeeded);
    if (event.retried) this.#add('retried', event.retried);
    if (event.dead) this.#add('dead', event.dead);
    this.#add(`status:${event.outcome.status ?? event.outcome.verdict.kind}`, 1);
  };

  #add(field: string, n: number): void {
    const bucket = Math.floor(Date.now() / 1000 / STATS_BUCKET_SECONDS) * STATS_BUCKET_SECONDS;
    if (bucket !== this.#bucket) {
      // Counts of the old bucket go out first, into the old bucket.
      void this.flush();
      this.#bucket = bucket;
    }
    this.#pending.set(field, (this.#pending.get(field) ?? 0) + n);
  }

  start(): void {
    this.#timer = setInterval(() => void this.flush(), this.flushMs);
    this.#timer.unref();
  }

  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const counts = this.#pending;
    const key = this.keys.stats(this.#bucket);
    this.#pending = new Map();
    const pipeline = this.redis.pipeline();
    for (const [field, n] of counts) pipeline.hincrby(key, field, n);
    pipeline.expire(key, STATS_TTL_SECONDS);
    try {
      await pipeline.exec();
    } catch (err) {
      this.logger.debug({ err }, 'could not publish fleet stats');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
