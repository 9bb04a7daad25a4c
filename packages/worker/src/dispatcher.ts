import type { InvokeOutcome, LimitSignal } from '@flow-dispatcher/salesforce';
import { type CallSlots, LocalCallSlots } from '@flow-dispatcher/salesforce';
import {
  type Logger,
  type Metrics,
  type RedisConnection,
  type RedisKeys,
  TRIGGER_PRIORITIES,
} from '@flow-dispatcher/shared';
import { Queue } from 'bullmq';
import type { RetryPolicy } from './backoff.js';
import { BatchSizes } from './batch-sizes.js';
import { BufferBudget } from './buffer-budget.js';
import { CallExecutor, type CallObserver, type FlowInvoker } from './call-executor.js';
import { ChunkProcessor } from './chunk-processor.js';
import { FlowBatcher } from './flow-batcher.js';
import { type BreakerThresholds, FlowBreaker } from './flow-breaker.js';
import { FlowConsumer } from './flow-consumer.js';
import { FlowHolds, type ProbeResult } from './flow-holds.js';
import { FlowPacing } from './flow-pacing.js';
import { type OutcomeEventOptions, OutcomeStore } from './outcome-store.js';

export interface DispatcherOptions {
  /**
   * Shared connection for commands (one server or a Cluster); BullMQ opens one blocking connection
   * per flow and partition beside it.
   */
  redis: RedisConnection;
  /** The deployment's keys (any partition's instance: it knows them all). */
  keys: RedisKeys;
  /** Queue partitions to consume (WORKER_PARTITIONS). @defaultValue every partition */
  partitions?: readonly number[];
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
  /** Bytes of input (as JSON) held in memory at most. */
  maxBufferedBytes: number;
  /** Retention of trigger records after their last change. */
  resultTtlMs: number;
  /** Outcome events (OUTCOME_EVENTS and its trims); default: settled ones, default trims. */
  outcomeEvents?: OutcomeEventOptions;
  /** How often the flow registry is read for new flows. */
  flowPollMs: number;
  /** Lock on a chunk this worker holds, renewed at half (WORKER_LOCK_DURATION_MS). */
  lockDurationMs: number;
  /** How often this worker looks for chunks of dead workers (WORKER_STALLED_INTERVAL_MS). */
  stalledIntervalMs: number;
  /** A consumer's blocking wait for a chunk, in seconds (BullMQ's `drainDelay`). */
  drainDelaySeconds: number;
  /** A flow whose calls were cut for a governor limit grows back after this quiet time. */
  batchGrowDelayMs: number;
  /** A flow's consumer with nothing fetched for this long closes (it reopens when work comes). */
  consumerIdleMs: number;
  /** Replaces the per-process call slots (fleet-wide limits). */
  slots?: CallSlots;
  /** Told of every call once its triggers are settled. */
  observers?: readonly CallObserver[];
  /** Learns from every answer (the fleet limiter). */
  onSignal?: (signal: LimitSignal, outcome: InvokeOutcome) => void;
  /** Multiplies the linger time (the fleet limiter stretches it as the budget runs out). */
  lingerFactor?: () => number;
  /**
   * Is the cause of a flow's hold gone (a fresh describe answers)? Without it, holds are only
   * released by hand.
   */
  probeFlow?: (flow: string) => Promise<ProbeResult>;
  /** First probe of a held flow after this long; then twice as far each time. */
  circuitProbeMs: number;
  /** The longest wait between two probes of a held flow. */
  circuitProbeMaxMs: number;
  /** Probes of held flows the whole fleet may make per second. */
  holdProbesPerSecond: number;
  /** How often this process re-reads which flows are held, and looks for probes due. */
  holdRefreshMs: number;
  /** When the same input error on every input of a flow's calls holds the flow. */
  breaker: BreakerThresholds;
}

/** Polls of the flow registry between two looks at the queues of flows without a consumer. */
const IDLE_CHECK_EVERY = 4;

/**
 * The worker: consumes every flow's queue, packs triggers into calls, settles each trigger.
 *
 * With several queue partitions it consumes each flow's queue in every partition it is given (one
 * consumer per flow and partition); a flow's triggers from all of them share one batcher, so
 * calls fill the same whatever the partitioning, and a call's outcomes are recorded one
 * transaction per partition.
 *
 * States: created → running (flows discovered from the registries every `flowPollMs`) → stopping
 * (no new chunks; buffered triggers handed back to their chunks, which go back to the queue; calls
 * in flight finish and are recorded) → stopped. A process killed outright loses nothing either:
 * its chunks' locks expire and the stalled check of any other worker puts them back.
 */
export class Dispatcher {
  readonly #consumers = new Map<string, FlowConsumer>();
  /** `partition:flow` of every flow this process has consumed at some point. */
  readonly #seen = new Set<string>();
  /** Consumers closing after they went idle (awaited by `stop`). */
  readonly #closing = new Set<Promise<void>>();
  #polls = 0;
  readonly #batchers = new Map<string, FlowBatcher>();
  readonly #budget: BufferBudget;
  readonly #slots: CallSlots;
  readonly #processor: ChunkProcessor;
  readonly #executor: CallExecutor;
  readonly #batchSizes: BatchSizes;
  readonly #holds: FlowHolds;
  readonly #pacing: FlowPacing;
  readonly #partitions: readonly RedisKeys[];
  #pollTimer: NodeJS.Timeout | undefined;
  #state: 'created' | 'running' | 'stopping' | 'stopped' = 'created';

  constructor(private readonly options: DispatcherOptions) {
    const { redis, keys, logger, metrics } = options;
    this.#partitions = (
      options.partitions ?? keys.allPartitions.map((partition) => partition.partition)
    ).map((partition) => keys.forPartition(partition));
    this.#budget = new BufferBudget(options.maxBufferedTriggers, options.maxBufferedBytes);
    this.#slots = options.slots ?? new LocalCallSlots(options.maxConcurrency);
    metrics.concurrencyLimit.set(this.#slots.limit);
    const store = new OutcomeStore(redis, keys, options.resultTtlMs, options.outcomeEvents);
    this.#batchSizes = new BatchSizes(options.maxInputsPerCall, options.batchGrowDelayMs);
    this.#holds = new FlowHolds({
      redis,
      keys,
      logger,
      metrics,
      probe: options.probeFlow ?? (async () => 'still-held'),
      probeMs: options.circuitProbeMs,
      probeMaxMs: options.circuitProbeMaxMs,
      probesPerSecond: options.holdProbesPerSecond,
      refreshMs: options.holdRefreshMs,
      onHold: (flow) => {
        if (flow !== '*') this.#batchers.get(flow)?.handBackBuffered();
        else for (const batcher of this.#batchers.values()) batcher.handBackBuffered();
      },
    });
    this.#pacing = new FlowPacing({
      redis,
      keys,
      logger,
      metrics,
      refreshMs: options.holdRefreshMs,
    });
    this.#executor = new CallExecutor({
      invoker: options.invoker,
      store,
      policy: options.policy,
      metrics,
      logger,
      split: (flow, batch) => this.#batcher(flow).addSplit(batch),
      observers: options.observers ?? [],
      batchSizes: this.#batchSizes,
      onSignal: options.onSignal,
      breaker: new FlowBreaker(options.breaker),
      isHeld: (flow) => this.#holds.isHeld(flow),
      onHold: (flow, cause) => {
        void this.#holds
          .hold(flow, cause)
          .catch((err) => logger.error({ flow, err }, 'could not hold the flow'));
      },
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

  /** Flows consumed now (in any partition). */
  get flows(): string[] {
    return [...new Set([...this.#consumers.values()].map((consumer) => consumer.flow))];
  }

  /** The queue partitions this worker consumes. */
  get partitions(): number[] {
    return this.#partitions.map((keys) => keys.partition);
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`dispatcher is ${this.#state}`);
    this.#state = 'running';
    await this.#holds.start();
    await this.#pacing.start();
    await this.#discoverFlows();
    this.#schedulePoll();
    this.options.logger.info(
      { flows: this.flows, partitions: this.partitions },
      'dispatcher started',
    );
  }

  #schedulePoll(): void {
    this.#pollTimer = setTimeout(async () => {
      try {
        await this.#discoverFlows();
      } catch (err) {
        this.options.logger.warn({ err }, 'could not read the flow registry');
      }
      if (this.#state === 'running') this.#schedulePoll();
    }, this.options.flowPollMs);
  }

  async #discoverFlows(): Promise<void> {
    const checkIdle = this.#polls++ % IDLE_CHECK_EVERY === 0;
    for (const keys of this.#partitions) await this.#discoverPartition(keys, checkIdle);
  }

  /**
   * Starts a consumer for each flow of the partition's registry that has none and may have work:
   * a flow seen for the first time, or (every few polls) a flow whose consumer closed when it went
   * idle or was held, once its queue has chunks waiting, due, or held by a worker that may have
   * died (its stalled check runs in a consumer). Held and paused flows get none.
   */
  async #discoverPartition(keys: RedisKeys, checkIdle: boolean): Promise<void> {
    const { redis } = this.options;
    const id = (flow: string) => `${keys.partition}:${flow}`;
    const flows = await redis.smembers(keys.flows);
    const absent = flows.filter(
      (flow) => !this.#consumers.has(id(flow)) && !this.#holds.isHeld(flow),
    );
    const unseen = absent.filter((flow) => !this.#seen.has(id(flow)));
    const idle = checkIdle
      ? await this.#withWork(
          keys,
          absent.filter((flow) => this.#seen.has(id(flow))),
        )
      : [];
    // `flow-dispatcher pause` (all flows) pauses the flows that exist; flows seen after it are
    // paused here, before anything is fetched from them.
    const pausedAll = unseen.length > 0 && (await redis.exists(keys.pausedAll)) === 1;
    for (const flow of [...unseen, ...idle]) {
      if (this.#state !== 'running' || this.#consumers.has(id(flow))) continue;
      if (pausedAll && !this.#seen.has(id(flow))) {
        const queue = new Queue(flow, { connection: redis, prefix: keys.bullPrefix });
        await queue.pause();
        await queue.close();
      }
      this.#seen.add(id(flow));
      const consumer = new FlowConsumer(
        flow,
        {
          connection: redis,
          bullPrefix: keys.bullPrefix,
          partition: keys.partition,
          lockDurationMs: this.options.lockDurationMs,
          stalledIntervalMs: this.options.stalledIntervalMs,
          drainDelaySeconds: this.options.drainDelaySeconds,
          idleCloseMs: this.options.consumerIdleMs,
        },
        this.#processor,
        this.#budget,
        this.options.logger,
        () => this.#holds.isHeld(flow),
        (idled) => {
          if (this.#consumers.get(id(flow)) === idled) this.#consumers.delete(id(flow));
          const closing = idled
            .close()
            .catch((err) =>
              this.options.logger.warn({ flow, err }, 'could not close an idle flow consumer'),
            );
          this.#closing.add(closing);
          void closing.finally(() => this.#closing.delete(closing));
        },
      );
      const reopened = !unseen.includes(flow);
      this.#consumers.set(id(flow), consumer);
      await consumer.start();
      // Once at info per flow; reopening after an idle spell is routine.
      this.options.logger[reopened ? 'debug' : 'info'](
        { flow, partition: keys.partition },
        'consuming flow',
      );
    }
  }

  /** Of `flows` (no consumer here), those whose queue has work: waiting, due, or active chunks. */
  async #withWork(keys: RedisKeys, flows: string[]): Promise<string[]> {
    if (flows.length === 0) return [];
    const pipeline = this.options.redis.pipeline();
    for (const flow of flows) {
      const queue = `${keys.bullPrefix}:${flow}`;
      pipeline.hexists(`${queue}:meta`, 'paused');
      pipeline.llen(`${queue}:wait`);
      pipeline.zcard(`${queue}:prioritized`);
      pipeline.llen(`${queue}:active`);
      pipeline.zrange(`${queue}:delayed`, 0, 0, 'WITHSCORES');
    }
    const results = (await pipeline.exec()) ?? [];
    const now = Date.now();
    return flows.filter((_, i) => {
      const at = (k: number) => results[i * 5 + k]?.[1];
      if (at(0) === 1) return false;
      if (Number(at(1)) > 0 || Number(at(2)) > 0 || Number(at(3)) > 0) return true;
      // BullMQ scores a delayed job with its due time × 4096 (plus a sequence number).
      const delayed = at(4) as string[] | undefined;
      return delayed !== undefined && delayed.length === 2 && Number(delayed[1]) / 4096 <= now;
    });
  }

  #batcher(flow: string): FlowBatcher {
    let batcher = this.#batchers.get(flow);
    if (!batcher) {
      const { maxInputsPerCall, lingerMs, logger } = this.options;
      const lingerFactor = this.options.lingerFactor ?? (() => 1);
      batcher = new FlowBatcher(
        flow,
        {
          maxInputs: () => Math.min(maxInputsPerCall, this.#batchSizes.get(flow)),
          lingerMs: () => lingerMs * lingerFactor(),
          blocked: () => this.#holds.isHeld(flow),
          pace: this.#pacing.forFlow(flow),
        },
        this.#slots,
        this.#executor.send,
        (err) => logger.error({ flow, err }, 'call failed unexpectedly'),
        (batch, now) => {
          for (const trigger of batch) {
            if (trigger.attempts > 0) continue;
            this.options.metrics.dispatchWait.observe(
              { priority: TRIGGER_PRIORITIES[trigger.lane ?? 1] ?? 'normal' },
              Math.max(0, now - trigger.enqueuedAt) / 1000,
            );
          }
        },
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
    this.#holds.stop();
    this.#pacing.stop();
    for (const consumer of this.#consumers.values()) consumer.stopFetching();
    this.#budget.wakeAll();
    for (const batcher of this.#batchers.values()) batcher.close();
    await Promise.all([...this.#consumers.values()].map((consumer) => consumer.close()));
    await Promise.all([...this.#closing]);
    this.#state = 'stopped';
    this.options.logger.info('dispatcher stopped');
  }
}
