import type { Logger, RedisConnection } from '@flow-dispatcher/shared';
import { type Job, Worker } from 'bullmq';
import type { BufferBudget } from './buffer-budget.js';
import { ChunkLease } from './chunk-lease.js';
import type { ChunkProcessor } from './chunk-processor.js';

export interface FlowConsumerOptions {
  connection: RedisConnection;
  /** The queue partition's BullMQ prefix. */
  bullPrefix: string;
  /** Which queue partition the queue is in. @defaultValue 0 */
  partition?: number;
  /** BullMQ lock on an active chunk; renewed every half of it while the chunk is held. */
  lockDurationMs: number;
  /** How often stalled chunks (their worker died) are looked for. */
  stalledIntervalMs: number;
  /** Longest block waiting for a chunk when the queue is empty, in seconds (BullMQ's unit). */
  drainDelaySeconds: number;
  /**
   * With no chunk fetched for this long (or while the flow is held) and none held, the consumer
   * stops and closes its blocking connection (`onIdle`): a worker's Redis connections follow the
   * flows that have work, not every flow ever seen.
   */
  idleCloseMs: number;
}

/**
 * Fetches the chunk jobs of one flow's queue (in one queue partition), as long as the process has
 * room for more triggers.
 *
 * BullMQ's worker is used in manual mode (`getNextJob`): the number of jobs held is bounded by
 * triggers buffered, not by a job count, because a chunk may hold one trigger or thousands. The
 * price is doing BullMQ's bookkeeping ourselves: lock renewal for held chunks and the stalled
 * check (which gives a dead worker's chunks back to the queue).
 *
 * Each fetch of a chunk is a run with a lease of its own (keyed by the fetch's lock token, so a
 * chunk fetched again by this process never shares renewal state with an earlier run that still
 * has calls in flight). A renewal Redis refuses, or none confirmed before the lock's expiry, loses
 * the lease: the run sends nothing more (chunk-lease.ts).
 */
export class FlowConsumer {
  readonly #worker: Worker;
  /** Held runs, by lock token. */
  readonly #active = new Map<string, { job: Job; lease: ChunkLease }>();
  readonly #running = new Set<Promise<void>>();
  #closing = false;
  #loop: Promise<void> | undefined;
  #lockTimer: NodeJS.Timeout | undefined;
  #tokens = 0;

  constructor(
    readonly flow: string,
    private readonly options: FlowConsumerOptions,
    private readonly processor: ChunkProcessor,
    private readonly budget: BufferBudget,
    private readonly logger: Logger,
    /** The flow may not be called now (it is held): fetch nothing. */
    private readonly blocked: () => boolean = () => false,
    /** Told once the consumer stopped by itself (idle, or its flow held); it closes next. */
    private readonly onIdle: (consumer: FlowConsumer) => void = () => {},
  ) {
    this.#worker = new Worker(flow, null, {
      connection: options.connection,
      prefix: options.bullPrefix,
      autorun: false,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      // A chunk whose worker died goes back to the queue; only after this many deaths in a row
      // is it moved to failed (it stays in Redis, visible and retryable, its triggers reported dead).
      maxStalledCount: 100,
      drainDelay: options.drainDelaySeconds,
    });
    this.#worker.on('error', (err) => this.logger.warn({ flow, err }, 'queue connection error'));
  }

  /** Chunks held now. */
  get held(): number {
    return this.#active.size;
  }

  async start(): Promise<void> {
    await this.#worker.startStalledCheckTimer();
    this.#lockTimer = setInterval(() => this.#renewLocks(), this.options.lockDurationMs / 2);
    this.#loop = this.#fetchLoop();
  }

  async #fetchLoop(): Promise<void> {
    let lastChunkAt = Date.now();
    while (!this.#closing) {
      const blocked = this.blocked();
      if (
        this.#active.size === 0 &&
        (blocked || Date.now() - lastChunkAt >= this.options.idleCloseMs)
      ) {
        this.#closing = true;
        this.onIdle(this);
        break;
      }
      if (blocked) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (!this.budget.hasRoom()) {
        await this.budget.waitForRoom();
        continue;
      }
      const token = `${this.#worker.id}:${this.#tokens++}`;
      let job: Job | undefined;
      const askedAt = Date.now();
      try {
        job = await this.#worker.getNextJob(token, { block: true });
      } catch (err) {
        if (this.#closing) break;
        this.logger.warn({ flow: this.flow, err }, 'could not fetch a chunk; retrying in 1 s');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      if (!job?.id) continue;
      lastChunkAt = Date.now();
      // BullMQ stamps processedOn with the time it sent the command that took the lock.
      this.#hold(job, token, job.processedOn ?? askedAt);
    }
  }

  #hold(job: Job, token: string, lockedAt: number): void {
    const id = job.id as string;
    const lease = new ChunkLease(this.options.lockDurationMs, lockedAt);
    this.#active.set(token, { job, lease });
    const running = this.processor
      .process(job, token, lease, this.#closing, this.options.partition ?? 0)
      .catch((err) =>
        this.logger.error({ flow: this.flow, chunkId: id, err }, 'chunk processing failed'),
      )
      .finally(() => {
        this.#active.delete(token);
        this.#running.delete(running);
      });
    this.#running.add(running);
  }

  #renewLocks(): void {
    for (const [token, { job, lease }] of this.#active) {
      if (!lease.canSend()) continue;
      void lease.renew(async () => {
        try {
          return Number(await job.extendLock(token, this.options.lockDurationMs));
        } catch (err) {
          this.logger.warn(
            { flow: this.flow, chunkId: job.id, err },
            'could not renew a chunk lock',
          );
          throw err;
        }
      });
    }
  }

  /** Stops fetching (within `drainDelaySeconds`); held chunks finish through their processors. */
  stopFetching(): void {
    this.#closing = true;
  }

  /** Waits for the fetch loop and every held chunk, then closes the queue connections. */
  async close(): Promise<void> {
    this.stopFetching();
    await this.#loop;
    while (this.#running.size > 0) await Promise.all([...this.#running]);
    clearInterval(this.#lockTimer);
    await this.#worker.close();
  }
}
