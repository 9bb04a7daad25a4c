import type { Logger, Metrics, RedisKeys } from '@flow-dispatcher/shared';
import type { Redis } from 'ioredis';
import type { RetryPolicy } from './backoff.js';
import { BufferBudget } from './buffer-budget.js';
import { CallExecutor, type CallObserver, type FlowInvoker } from './call-executor.js';

import { type CallSlots, LocalCallSlots } from './call-slots.js';
import { ChunkProcessor } from './chunk-processor.js';
import { FlowBatcher } from './flow-batcher.js';
import { FlowConsumer } from './flow-consumer.js';
import { OutcomeStore } from './outcome-store.js';

export interface DispatcherOptions {
  /** Shared connection for commands; BullMQ opens one blocking connection per flow beside it. */
  redis: Redis;
  keys: RedisKeys;
  invoker: FlowInvoker;
  logger: Logger;
  metrics: Metrics;
  policy: RetryPolicy;
  /** Most inputs per call (SF_MAX_INPUTS_PER_CALL). */
  maxInputsPerCall: number;
  /** Longest wait for a call to fill (DISPATCH_LINGER_MS). */
  lingerMs: number;
  /** Calls in flight from this process. */
  maxConcurrency: number;
  /** Triggers held in memory at most. */
  maxBufferedTriggers: number;
  /** Retention of trigger records after their last change. */
  resultTtlMs: number;
  /** How often the flow registry is read for new flows. @defaultValue 500 */
  flowPollMs?: number;
  /** @defaultValue 30000 */
  lockDurationMs?: number;
  /** @defaultValue 30000 */
  stalledIntervalMs?: number;
  /** @defaultValue 2 */
  drainDelaySeconds?: number;
  /** Replaces the per-process call slots (fleet-wide limits). */
  slots?: CallSlots;
  /** Told of every call once its triggers are settled. */
  observers?: readonly CallObserver[];
}

/**
 * The worker: consumes every flow's queue, packs triggers into calls, settles each trigger.
 *
 * States: created → running (flows discovered from the registry every `flowPollMs`) → stopping
 * (no new chunks; buffered triggers handed back to their chunks, which go back to the queue; calls
 * in flight finish and are recorded) → stopped. A process killed outright loses nothing either:
 * its chunks' locks expire and the stalled check of any other worker puts them back.
 */
export class Dispatcher {
  readonly #consumers = new Map<string, FlowConsumer>();
  readonly #batchers = new Map<string, FlowBatcher>();
  readonly #budget: BufferBudget;
  readonly #slots: CallSlots;
  readonly #processor: ChunkProcessor;
  readonly #executor: CallExecutor;
  #pollTimer: NodeJS.Timeout | undefined;
  #state: 'created' | 'running' | 'stopping' | 'stopped' = 'created';

  constructor(private readonly options: DispatcherOptions) {
    const { redis, keys, logger, metrics } = options;
    this.#budget = new BufferBudget(options.maxBufferedTriggers);
    this.#slots = options.slots ?? new LocalCallSlots(options.maxConcurrency);
    metrics.concurrencyLimit.set(this.#slots.limit);
    const store = new OutcomeStore(redis, keys, options.resultTtlMs);
    this.#executor = new CallExecutor({
      invoker: options.invoker,
      store,
      policy: options.policy,
      metrics,
      logger,
      split: (flow, batch) => this.#batcher(flow).addSplit(batch),
      observers: options.observers ?? [],
    });
    this.#processor = new ChunkProcessor({
      store,
      budget: this.#budget,
      logger,
      batcher: (flow) => this.#batcher(flow),
    });
  }

  get state(): string {
    return this.#state;
  }

  /** Flows consumed now. */
  get flows(): string[] {
    return [...this.#consumers.keys()];
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`dispatcher is ${this.#state}`);
    this.#state = 'running';
    await this.#discoverFlows();
    this.#schedulePoll();
    this.options.logger.info({ flows: this.flows }, 'dispatcher started');
  }

  #schedulePoll(): void {
    this.#pollTimer = setTimeout(async () => {
      try {
        await this.#discoverFlows();
      } catch (err) {
        this.options.logger.warn({ err }, 'could not read the flow registry');
      }
      if (this.#state === 'running') this.#schedulePoll();
    }, this.options.flowPollMs ?? 500);
  }

  async #discoverFlows(): Promise<void> {
    const flows = await this.options.redis.smembers(this.options.keys.flows);
    for (const flow of flows) {
      if (this.#state !== 'running' || this.#consumers.has(flow)) continue;
      const consumer = new FlowConsumer(
        flow,
        {
          connection: this.options.redis,
          bullPrefix: this.options.keys.bullPrefix,
          lockDurationMs: this.options.lockDurationMs ?? 30_000,
          stalledIntervalMs: this.options.stalledIntervalMs ?? 30_000,
          drainDelaySeconds: this.options.drainDelaySeconds ?? 2,
        },
        this.#processor,
        this.#budget,
        this.options.logger,
      );
      this.#consumers.set(flow, consumer);
      await consumer.start();
      this.options.logger.info({ flow }, 'consuming flow');
    }
  }

  #batcher(flow: string): FlowBatcher {
    let batcher = this.#batchers.get(flow);
    if (!batcher) {
      const { maxInputsPerCall, lingerMs, logger } = this.options;
      batcher = new FlowBatcher(
        flow,
        { maxInputs: () => maxInputsPerCall, lingerMs: () => lingerMs },
        this.#slots,
        this.#executor.send,
        (err) => logger.error({ flow, err }, 'call failed unexpectedly'),
      );
      this.#batchers.set(flow, batcher);
    }
    return batcher;
  }

  /**
   * Graceful stop: stop fetching, hand back what is buffered, let calls in flight finish and be
   * recorded, give every held chunk back, close the queues. Resolves when nothing is held.
   */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return;
    this.#state = 'stopping';
    clearTimeout(this.#pollTimer);
    for (const consumer of this.#consumers.values()) consumer.stopFetching();
    this.#budget.wakeAll();
    for (const batcher of this.#batchers.values()) batcher.close();
    await Promise.all([...this.#consumers.values()].map((consumer) => consumer.close()));
    this.#state = 'stopped';
    this.options.logger.info('dispatcher stopped');
  }
}
