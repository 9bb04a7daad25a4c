import {
  activeTracer,
  type Config,
  checkTriggerInput,
  connectRedis,
  defaultInputLimits,
  defaults,
  ENQUEUE_SOURCES,
  type EnqueueSource,
  encodeTriggerRecord,
  type FlowInput,
  type InputLimits,
  isConfigError,
  isTriggerPriority,
  isValidFlowName,
  type OutcomeEvent,
  otelContext,
  parseTriggerId,
  partitionOfKey,
  type RedisConnection,
  RedisKeys,
  readNotBefore,
  requirePartitionLayout,
  ScheduleError,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TriggerPriority,
  type TriggerRecord,
  type TriggerStatus,
  toTraceparent,
} from '@flow-dispatcher/shared';
import { cancelTrigger } from './chunk-scripts.js';
import { type ChunkItem, ChunkWriter, chunkClassOf, type TriggerReceipt } from './chunk-writer.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { FlowQueues } from './flow-queues.js';
import { GroupCommit } from './group-commit/group-commit.js';
import { InvalidTriggerError } from './invalid-trigger-error.js';
import {
  type OutcomeReadOptions,
  type OutcomeTailOptions,
  readOutcomes,
  recentOutcomes,
  tailOutcomes,
} from './outcome-reader.js';
import { type PartitionPart, RoundRobin, splitByClassAndPartition } from './partition-routing.js';
import { ProducerClosedError } from './producer-closed-error.js';
import { readTriggerStatus } from './trigger-status.js';
import { WatchLane } from './watch-lane.js';

export interface ProducerOptions {
  /**
   * An ioredis connection (one server or a Cluster) to share, or a REDIS_URL for the producer
   * to open (and close): `redis://`, `rediss://`, a cluster's `redis://a:7000,b:7001,…`, or
   * `redis+sentinel://…/master`.
   */
  redis: RedisConnection | string;
  /** Key prefix (QUEUE_PREFIX). @defaultValue defaults.queuePrefix (`fd`) */
  prefix?: string;
  /**
   * Queue partitions (QUEUE_PARTITIONS): every producer, ingest and worker of a deployment must
   * use the same number. The producer checks it against the fleet's before its first write or
   * read, and refuses to work with another (see `checkPartitionLayout`).
   * @defaultValue defaults.queuePartitions (1)
   */
  partitions?: number;
  /**
   * Repeat keys within this window are reported as duplicates. @defaultValue
   * defaults.idempotencyWindowMs (24 h)
   */
  idempotencyWindowMs?: number;
  /** Triggers per chunk job in `triggerMany`. @defaultValue defaults.maxChunkSize (1000) */
  maxChunkSize?: number;
  /**
   * Bounds on each input. @defaultValue defaultInputLimits (defaults.inputMaxDepth,
   * defaults.inputMaxBytes)
   */
  inputLimits?: InputLimits;
  /**
   * Where these triggers come from, counted in Redis with every chunk written
   * (`flow_dispatcher_triggers_enqueued_total{source}`, exported by the workers): `ingest` and
   * `cli` are flow-dispatcher's own; dead-letter replays always count as `replay`.
   * @defaultValue 'library'
   */
  source?: EnqueueSource;
  /** Called with the number of triggers stored (duplicates excluded) after each chunk write. */
  onStored?: (flow: string, count: number) => void;
  /**
   * Retention of trigger records (RESULT_TTL_MS), applied to replay pointers.
   * @defaultValue defaults.resultTtlMs (24 h)
   */
  resultTtlMs?: number;
}

export interface TriggerOptions {
  /** Idempotency key: a repeat within the window is not enqueued again. At most 256 characters. */
  key?: string;
  /**
   * Lane within the flow: a call is filled from `high` first, then `normal`, then `low`.
   * @defaultValue `normal`
   */
  priority?: TriggerPriority;
  /**
   * Send no earlier than this instant: a Date, an ISO-8601 string with a zone, or epoch ms; at
   * most 366 days ahead (README, "Scheduled triggers"). A time already past: sent as usual.
   */
  notBefore?: Date | string | number;
  /** Send no earlier than this many ms from now (instead of `notBefore`). */
  delay?: number;
}

/** An instant a trigger is due at (see TriggerOptions.notBefore). */
export type NotBefore = Date | string | number;

export interface TriggerManyOptions {
  /** `keys[i]` is the idempotency key of `inputs[i]`. */
  keys?: readonly (string | null | undefined)[];
  /** Lane of every trigger of the call. @defaultValue `normal` */
  priority?: TriggerPriority;
  /**
   * When each trigger may be sent: one instant for all, or one per input (`null`/undefined: at
   * once). See TriggerOptions.notBefore.
   */
  notBefore?: NotBefore | readonly (NotBefore | null | undefined)[];
  /** Send every trigger no earlier than this many ms from now (instead of `notBefore`). */
  delay?: number;
  /** Chunk writes in flight at once. @defaultValue defaults.producerWritesInFlight (4) */
  concurrency?: number;
}

export const MAX_KEY_LENGTH = 256;

/** What `cancel` did. */
export interface CancelResult {
  /** The id asked about (by key: the id the key names). */
  id: string;
  /** True when this call cancelled it; false when it was too late or already final. */
  cancelled: boolean;
  /** Its state now. */
  state: 'cancelled' | 'dispatching' | 'succeeded' | 'dead';
}

/** readNotBefore, its errors as InvalidTriggerError (at `index` of a triggerMany). */
function dueTime(
  notBefore: NotBefore | null | undefined,
  delay: number | undefined,
  now: number,
  index?: number,
): number | undefined {
  try {
    return readNotBefore(notBefore, delay, now);
  } catch (err) {
    if (err instanceof ScheduleError) throw new InvalidTriggerError(err.message, err.field, index);
    throw err;
  }
}

/**
 * The producer library: hands triggers to flow-dispatcher by writing them into Redis. Every
 * method answers only once the triggers are stored, and refuses a bad trigger before writing
 * anything (a `triggerMany` is checked whole first).
 *
 * With several queue partitions, each chunk goes to one partition: triggers with a key to their
 * key's partition, chunks without keys round robin (see partition-routing.ts). A write whose keys
 * fall in several partitions becomes one chunk per partition, each atomic on its own. Before its
 * first write or read the producer checks that the fleet runs with its number of partitions, and
 * rejects everything with a ConfigError naming QUEUE_PARTITIONS when it does not.
 */
export class Producer {
  /** Partition 0's keys (and the fleet's); `keys.forPartition(p)` for the others. */
  readonly keys: RedisKeys;
  /** The dead letters: list, replay, purge. */
  readonly deadLetters: DeadLetterQueue;
  readonly #redis: RedisConnection;
  readonly #txnRedis: RedisConnection;
  /** The partition layout check: pending or passed (a failed one is forgotten unless definitive). */
  #layout: Promise<void> | undefined;
  #layoutChecked = false;
  readonly #ownsRedis: boolean;
  readonly #writer: ChunkWriter;
  readonly #queues: FlowQueues;
  readonly #roundRobin: RoundRobin;
  readonly #maxChunkSize: number;
  readonly #inputLimits: InputLimits;
  readonly #onStored: ((flow: string, count: number) => void) | undefined;
  /** Single `trigger()` calls made together share chunk jobs (created on the first call). */
  #triggerCommit: GroupCommit | undefined;
  #closed = false;

  constructor(options: ProducerOptions) {
    this.keys = new RedisKeys(
      options.prefix ?? defaults.queuePrefix,
      options.partitions ?? defaults.queuePartitions,
    );
    this.#roundRobin = new RoundRobin(this.keys.partitionCount);
    this.#ownsRedis = typeof options.redis === 'string';
    this.#redis = typeof options.redis === 'string' ? connectRedis(options.redis) : options.redis;
    // WATCH state is per connection, so keyed writes get a connection of their own.
    this.#txnRedis = this.#redis.duplicate();
    // Its failures reach callers through their commands; without a listener ioredis would also
    // print "Unhandled error event" for every reconnect attempt during an outage.
    this.#txnRedis.on('error', () => {});
    const lane = new WatchLane(this.#txnRedis);
    const source = options.source ?? 'library';
    if (!ENQUEUE_SOURCES.includes(source)) {
      throw new TypeError(`source must be one of ${ENQUEUE_SOURCES.join(', ')}`);
    }
    this.#writer = new ChunkWriter(
      this.#redis,
      lane,
      this.keys,
      options.idempotencyWindowMs ?? defaults.idempotencyWindowMs,
      source,
    );
    this.#queues = new FlowQueues(this.#redis, this.keys);
    this.deadLetters = new DeadLetterQueue(
      this.#redis,
      this.keys,
      this.#writer,
      lane,
      options.resultTtlMs ?? defaults.resultTtlMs,
      () => this.checkPartitionLayout(),
    );
    this.#maxChunkSize = options.maxChunkSize ?? defaults.maxChunkSize;
    this.#inputLimits = options.inputLimits ?? defaultInputLimits;
    this.#onStored = options.onStored;
  }

  static fromConfig(config: Config, options: Partial<ProducerOptions> = {}): Producer {
    return new Producer({
      redis: config.redis.url,
      prefix: config.redis.prefix,
      partitions: config.redis.partitions,
      idempotencyWindowMs: config.producer.idempotencyWindowMs,
      maxChunkSize: config.producer.maxChunkSize,
      resultTtlMs: config.dispatch.resultTtlMs,
      ...options,
    });
  }

  /**
   * Checks once that the fleet runs with this producer's number of partitions (QUEUE_PARTITIONS),
   * recording it when nothing is recorded yet. Every write and read does it first; call it at
   * start-up to fail early. Rejects with a ConfigError (code `CONFIG_INVALID`, `variable`
   * QUEUE_PARTITIONS) when the counts differ, for good: such a producer would write triggers where
   * no worker reads. A check that could not reach Redis is tried again by the next call.
   */
  checkPartitionLayout(): Promise<void> {
    if (!this.#layout) {
      const check = requirePartitionLayout(this.#redis, this.keys).then(
        () => {
          this.#layoutChecked = true;
        },
        (err: unknown) => {
          if (!isConfigError(err) && this.#layout === check) this.#layout = undefined;
          throw err;
        },
      );
      this.#layout = check;
    }
    return this.#layout;
  }

  /** The connection the producer uses (for health checks). */
  get redis(): RedisConnection {
    return this.#redis;
  }

  /**
   * How `items` of `flow` split into chunk classes (priority) and queue partitions (pure): ingest's
   * group commit keeps a lane per part, so each chunk it writes is one class's and one
   * partition's.
   */
  partitionsOf(flow: string, items: readonly ChunkItem[]): PartitionPart[] {
    return splitByClassAndPartition(flow, items, this.keys.partitionCount, chunkClassOf);
  }

  /**
   * Enqueues one trigger. Calls made together (in the same tick, or while earlier writes of the
   * flow are still in flight) are written as one chunk job, as ingest's group commit does: no
   * added wait when calls come one at a time, one write per many triggers when they come fast.
   * Each call still answers only once its trigger is stored, with its own receipt; a bad trigger
   * is refused before it joins a chunk, so it fails no one else's.
   */
  async trigger(
    flow: string,
    input: FlowInput,
    options: TriggerOptions = {},
  ): Promise<TriggerReceipt> {
    const item: ChunkItem = {
      input,
      key: options.key,
      priority: options.priority,
      notBefore: dueTime(options.notBefore, options.delay, Date.now()),
    };
    this.check(flow, [item]);
    if (this.#closed) throw new ProducerClosedError();
    this.#triggerCommit ??= new GroupCommit((chunkFlow, items) => this.#store(chunkFlow, items), {
      lingerMs: 0,
      maxChunk: this.#maxChunkSize,
      split: (chunkFlow, items) => this.partitionsOf(chunkFlow, items),
    });
    const span = startTriggerSpan('flow-dispatcher trigger', flow, 1);
    if (span) item.traceparent = toTraceparent(span.spanContext());
    try {
      const [receipt] = await this.#triggerCommit.submit(flow, [item]);
      if (!receipt) throw new Error('no receipt for a stored trigger');
      span?.setAttribute('flow_dispatcher.trigger_id', receipt.id);
      return receipt;
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span?.end();
    }
  }

  /**
   * Enqueues many triggers of one flow, written as chunk jobs of at most `maxChunkSize` (per
   * chunk class and queue partition: keyed triggers are grouped by their key's partition first).
   * `keys[i]` is the idempotency key of `inputs[i]`; `concurrency` chunk writes are in flight at
   * once (default `defaults.producerWritesInFlight`, 4). Receipts come back in input order.
   */
  async triggerMany(
    flow: string,
    inputs: readonly FlowInput[],
    options: TriggerManyOptions = {},
  ): Promise<TriggerReceipt[]> {
    const { priority, notBefore, delay } = options;
    const now = Date.now();
    const perInput = Array.isArray(notBefore);
    const shared = perInput ? undefined : dueTime(notBefore as NotBefore | undefined, delay, now);
    const items: ChunkItem[] = inputs.map((input, i) => ({
      input,
      key: options.keys?.[i] ?? null,
      priority,
      notBefore: perInput
        ? dueTime((notBefore as readonly (NotBefore | null | undefined)[])[i], delay, now, i)
        : shared,
    }));
    this.check(flow, items);
    const span = startTriggerSpan('flow-dispatcher triggerMany', flow, items.length);
    if (span) {
      const traceparent = toTraceparent(span.spanContext());
      for (const item of items) item.traceparent = traceparent;
    }
    try {
      return await this.#triggerMany(flow, items, options.concurrency);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span?.end();
    }
  }

  async #triggerMany(
    flow: string,
    items: readonly ChunkItem[],
    concurrency: number | undefined,
  ): Promise<TriggerReceipt[]> {
    const chunks: { partition: number; indexes: number[] }[] = [];
    for (const part of this.partitionsOf(flow, items)) {
      for (let i = 0; i < part.indexes.length; i += this.#maxChunkSize) {
        chunks.push({
          partition: part.partition ?? this.#roundRobin.next(),
          indexes: part.indexes.slice(i, i + this.#maxChunkSize),
        });
      }
    }
    const receipts: TriggerReceipt[] = new Array(items.length);
    let next = 0;
    const lane = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++];
        if (!chunk) continue;
        const written = await this.#storePart(
          flow,
          chunk.indexes.map((i) => items[i] as ChunkItem),
          chunk.partition,
        );
        chunk.indexes.forEach((index, j) => {
          receipts[index] = written[j] as TriggerReceipt;
        });
      }
    };
    const lanes = Math.max(1, concurrency ?? defaults.producerWritesInFlight);
    await Promise.all(Array.from({ length: lanes }, lane));
    return receipts;
  }

  /**
   * Writes `items` as ONE chunk job, whatever their number (the ingest service's group commit
   * decides chunk sizes), or with several partitions one per partition their keys fall in.
   * Checked whole before anything is written.
   */
  async writeChunk(flow: string, items: readonly ChunkItem[]): Promise<TriggerReceipt[]> {
    this.check(flow, items);
    return this.#store(flow, items);
  }

  /** Writes an already-checked chunk. */
  async writeCheckedChunk(flow: string, items: readonly ChunkItem[]): Promise<TriggerReceipt[]> {
    return this.#store(flow, items);
  }

  async #store(flow: string, items: readonly ChunkItem[]): Promise<TriggerReceipt[]> {
    const parts = this.partitionsOf(flow, items);
    if (parts.length <= 1) {
      const [part] = parts;
      return this.#storePart(flow, items, part?.partition ?? this.#roundRobin.next());
    }
    // Keys in several partitions: one chunk per partition, written together. Each is atomic on
    // its own; when one fails the caller gets its error (others may be stored: a retry with the
    // same keys finds them as duplicates).
    const written = await Promise.allSettled(
      parts.map((part) =>
        this.#storePart(
          flow,
          part.indexes.map((i) => items[i] as ChunkItem),
          part.partition ?? this.#roundRobin.next(),
        ),
      ),
    );
    const receipts: TriggerReceipt[] = new Array(items.length);
    for (const [i, result] of written.entries()) {
      if (result.status === 'rejected') throw result.reason;
      const indexes = parts[i]?.indexes ?? [];
      indexes.forEach((index, j) => {
        receipts[index] = result.value[j] as TriggerReceipt;
      });
    }
    return receipts;
  }

  async #storePart(
    flow: string,
    items: readonly ChunkItem[],
    partition: number,
  ): Promise<TriggerReceipt[]> {
    if (!this.#layoutChecked) await this.checkPartitionLayout();
    const receipts = await this.#writer.write(flow, items, partition);
    if (this.#onStored) {
      const stored = receipts.reduce((n, r) => (r.duplicate ? n : n + 1), 0);
      if (stored > 0) this.#onStored(flow, stored);
    }
    return receipts;
  }

  /** Throws InvalidTriggerError for the first bad flow name, input or key. */
  check(flow: string, items: readonly ChunkItem[]): void {
    if (!isValidFlowName(flow)) {
      throw new InvalidTriggerError(
        'flow must be a flow API name: a letter, then letters, digits or underscores, at most 80 characters',
        'flow',
      );
    }
    items.forEach((item, index) => {
      const at = items.length > 1 ? index : undefined;
      if (item.priority !== undefined && !isTriggerPriority(item.priority)) {
        throw new InvalidTriggerError('priority must be high, normal or low', 'priority', at);
      }
      const problem = checkTriggerInput(item.input, this.#inputLimits);
      if (problem)
        throw new InvalidTriggerError(`${problem.field} ${problem.message}`, problem.field, at);
      const key = item.key;
      if (
        key != null &&
        (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH)
      ) {
        throw new InvalidTriggerError(
          `key must be a string of 1 to ${MAX_KEY_LENGTH} characters`,
          'key',
          at,
        );
      }
    });
  }

  /**
   * Cancels a trigger, by id or by its flow and idempotency key, if no worker has taken its chunk
   * yet (README, "Cancelling"): it gets a final `cancelled` record and is never sent. Answers
   * whether this call cancelled it and its state (`cancelled`; `dispatching` while a worker holds
   * its chunk; `succeeded`, `dead` or `cancelled` when it was already final); undefined for a
   * trigger that is not known (or whose retention expired).
   */
  async cancel(target: string | { flow: string; key: string }): Promise<CancelResult | undefined> {
    if (!this.#layoutChecked) await this.checkPartitionLayout();
    let id: string | null;
    if (typeof target === 'string') id = target;
    else {
      if (!isValidFlowName(target.flow)) return undefined;
      const partition = partitionOfKey(target.flow, target.key, this.keys.partitionCount);
      id = await this.#redis.get(
        this.keys.forPartition(partition).idempotency(target.flow, target.key),
      );
      if (id === null) return undefined;
    }
    const asked = id;
    for (let hop = 0; hop < 4; hop++) {
      const address = parseTriggerId(id);
      if (!address || address.partition >= this.keys.partitionCount) return undefined;
      const keys = this.keys.forPartition(address.partition);
      const record: TriggerRecord = { s: 'cancelled', a: 0, t: Date.now() };
      const answer = await cancelTrigger.run(
        this.#redis,
        {
          job: keys.job(address.flow, address.chunkId),
          outcomes: keys.outcomes(address.chunkId),
          pending: keys.pending,
          scheduled: keys.scheduled,
          mark: keys.scheduleMark(address.chunkId),
        },
        { flow: address.flow, index: address.index, record: encodeTriggerRecord(record) },
      );
      if (answer === 'cancelled') return { id: asked, cancelled: true, state: 'cancelled' };
      if (answer === 'held') return { id: asked, cancelled: false, state: 'dispatching' };
      if (answer.startsWith('moved:')) {
        id = answer.slice('moved:'.length);
        continue;
      }
      if (answer.startsWith('final:')) {
        const kind = answer.slice('final:'.length);
        const state = kind === 'ok' ? 'succeeded' : kind === 'dead' ? 'dead' : 'cancelled';
        return { id: asked, cancelled: false, state };
      }
      return undefined;
    }
    return undefined;
  }

  /** A trigger's status, or undefined for an unknown id (or one whose retention expired). */
  async getTrigger(id: string): Promise<TriggerStatus | undefined> {
    if (!this.#layoutChecked) await this.checkPartitionLayout();
    return readTriggerStatus(this.#redis, this.#queues, this.keys, id);
  }

  /**
   * Outcome events (one per settled trigger, see OUTCOME_EVENTS) of every partition, read with
   * the consumer group `options.group` as `options.consumer`, as an async iterator: each event is
   * acknowledged when the loop asks for the next one (once the handler's step for it returned).
   * The event in hand when the loop ends (break, throw) is not acknowledged and comes again;
   * events a dead consumer held unacknowledged are claimed after `minIdleMs`. At least once:
   * key a handler's effect by the event's trigger `id`.
   *
   * ```ts
   * for await (const event of producer.outcomes({ group: 'crm', consumer: podName })) {
   *   if (event.outcome === 'succeeded') await markWelcomed(event.key, event.output);
   * }
   * ```
   */
  async *outcomes(options: OutcomeReadOptions): AsyncGenerator<OutcomeEvent, void, undefined> {
    if (!this.#layoutChecked) await this.checkPartitionLayout();
    yield* readOutcomes(this.#redis, this.keys, options);
  }

  /** The last `limit` outcome events kept, oldest first, over every partition (nothing acknowledged). */
  async recentOutcomes(limit = 100): Promise<OutcomeEvent[]> {
    if (!this.#layoutChecked) await this.checkPartitionLayout();
    return recentOutcomes(this.#redis, this.keys, limit);
  }

  /** Follows outcome events without a consumer group (nothing acknowledged, see tailOutcomes). */
  async *tailOutcomes(options: OutcomeTailOptions): AsyncGenerator<OutcomeEvent, void, undefined> {
    if (!this.#layoutChecked) await this.checkPartitionLayout();
    yield* tailOutcomes(this.#redis, this.keys, options);
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Triggers already handed to `trigger()` are written before the connections close.
    await this.#triggerCommit?.close();
    await this.#writer.close();
    await this.#queues.close();
    this.#txnRedis.disconnect();
    if (this.#ownsRedis) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}

/**
 * The span of a `trigger()` or `triggerMany()` call, a child of the caller's active context;
 * undefined while tracing is off (nothing else is done then).
 */
function startTriggerSpan(name: string, flow: string, triggers: number): Span | undefined {
  return activeTracer()?.startSpan(
    name,
    {
      kind: SpanKind.PRODUCER,
      attributes: { 'flow_dispatcher.flow': flow, 'flow_dispatcher.triggers': triggers },
    },
    otelContext.active(),
  );
}

function failSpan(span: Span | undefined, err: unknown): void {
  if (!span) return;
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: err instanceof Error ? err.name : 'error',
  });
}
