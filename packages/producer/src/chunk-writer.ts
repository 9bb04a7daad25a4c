import {
  type ChunkJobData,
  DEFAULT_PRIORITY,
  type DeadLetter,
  type EnqueueSource,
  encodeTriggerRecord,
  type FlowInput,
  jobPriority,
  newChunkId,
  parseTriggerId,
  type RedisConnection,
  type RedisKeys,
  retainOutcomes,
  SCHEDULE_LEAD_MS,
  type Span,
  SpanStatusCode,
  scheduleBucket,
  startLinkedSpan,
  type TriggerPriority,
  type TriggerRecord,
  toRuns,
  toTraceparent,
  triggerId,
} from '@flow-dispatcher/shared';
import { Job, type JobsOptions } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import { countNewChunk } from './chunk-scripts.js';
import { ContendedTransactionError } from './contended-transaction-error.js';
import { FlowQueues } from './flow-queues.js';
import { addJob, commitTransaction } from './redis-transaction.js';
import type { WatchLane } from './watch-lane.js';

/** One trigger to write: its input, an optional idempotency key and its priority. */
export interface ChunkItem {
  input: FlowInput;
  key?: string | null | undefined;
  /** The request that brought it (ingest's request id), logged with the call that carries it. */
  requestId?: string | undefined;
  /** W3C `traceparent` of the span that enqueued it (set only while tracing). */
  traceparent?: string | undefined;
  /** Its lane within the flow. @defaultValue DEFAULT_PRIORITY (`normal`) */
  priority?: TriggerPriority | undefined;
  /** Due time (epoch ms, already read by readNotBefore): sent no earlier. Undefined: now. */
  notBefore?: number | undefined;
}

/**
 * A chunk's class: what every trigger of one chunk shares (docs/design.md, "Chunk classes"): its
 * priority, and for a scheduled trigger the 1 s bucket it is due in.
 */
export function chunkClassOf(item: ChunkItem): string {
  const priority = item.priority ?? DEFAULT_PRIORITY;
  return item.notBefore === undefined ? priority : `${priority}@${scheduleBucket(item.notBefore)}`;
}

/** What a producer is told of each trigger, in request order. */
export interface TriggerReceipt {
  id: string;
  key: string | null;
  /** True when the key was seen within the idempotency window: nothing was written for it. */
  duplicate: boolean;
}

/**
 * Chunk jobs are removed from BullMQ as soon as every trigger in them is settled: each trigger's
 * outcome lives on in its own record (RESULT_TTL_MS), and the inputs are not needed any more.
 * BullMQ's own attempts are not used: attempts are counted per trigger.
 */
const JOB_OPTIONS: JobsOptions = { removeOnComplete: true, removeOnFail: false, attempts: 1 };

/**
 * Every chunk job carries a BullMQ priority (trigger-priority.ts): BullMQ hands out jobs without
 * one before any prioritized job, so a chunk without one would jump every lane.
 */
const JOB_OPTIONS_BY_PRIORITY: Record<TriggerPriority, JobsOptions> = {
  high: { ...JOB_OPTIONS, priority: jobPriority('high') },
  normal: { ...JOB_OPTIONS, priority: jobPriority('normal') },
  low: { ...JOB_OPTIONS, priority: jobPriority('low') },
};

/**
 * The job options of a chunk of `items` (one class: the first item's priority is every item's). A
 * scheduled chunk is a delayed job, due SCHEDULE_LEAD_MS before its earliest trigger.
 */
function jobOptions(items: readonly ChunkItem[], now: number): JobsOptions {
  const options = JOB_OPTIONS_BY_PRIORITY[items[0]?.priority ?? DEFAULT_PRIORITY];
  let earliest = Number.POSITIVE_INFINITY;
  for (const item of items)
    if (item.notBefore !== undefined) earliest = Math.min(earliest, item.notBefore);
  if (earliest === Number.POSITIVE_INFINITY) return options;
  const delay = Math.floor(earliest - SCHEDULE_LEAD_MS - now);
  return delay > 0 ? { ...options, delay } : options;
}

/** The job data of a chunk of `items`: `at` only when one of them is scheduled. */
function chunkData(items: readonly ChunkItem[], keys?: (string | null)[]): ChunkJobData {
  const data: ChunkJobData = { v: 1, inputs: items.map((item) => item.input), ...origins(items) };
  if (keys) data.keys = keys;
  if (items.some((item) => item.notBefore !== undefined)) {
    data.at = items.map((item) => item.notBefore ?? 0);
  }
  return data;
}

function scheduledCount(items: readonly ChunkItem[]): number {
  return items.reduce((n, item) => (item.notBefore === undefined ? n : n + 1), 0);
}

/** Tries of an optimistic transaction before it gives up (each abort means another writer won). */
const MAX_ROUNDS = 20;

/**
 * Writes one chunk of triggers of one flow as one BullMQ job, atomically with its idempotency keys,
 * in one queue partition (every key of the transaction is in that partition's slot).
 *
 * Without keys the job, the flow's registration and the pending count go out in one MULTI. With
 * keys the write is
 * an optimistic transaction on a dedicated connection: WATCH the keys, read them, and in one
 * MULTI/EXEC set the new keys and add the job holding only the new triggers. If another producer
 * sets one of the keys in between, EXEC aborts and the whole check runs again. So a key is never
 * stored without its trigger (a crash between the two cannot drop a trigger and later report its
 * retry as a duplicate), and two producers racing on one key store it once.
 * Transactions on the dedicated connection run one at a time (WATCH state is per connection: see
 * watch-lane.ts). Dead-letter replays are written here too, as optimistic transactions of their
 * own (replayDeadLetters).
 */
export class ChunkWriter {
  readonly #plainQueues: FlowQueues;
  readonly #txnQueues: FlowQueues;
  readonly #lane: WatchLane;

  constructor(
    redis: RedisConnection,
    lane: WatchLane,
    private readonly keys: RedisKeys,
    private readonly idempotencyWindowMs: number,
    /** Counted with every chunk this writer stores (replays count as `replay`). */
    private readonly source: EnqueueSource = 'library',
  ) {
    this.#lane = lane;
    this.#plainQueues = new FlowQueues(redis, keys);
    this.#txnQueues = new FlowQueues(lane.redis, keys);
  }

  /**
   * Writes `items` (already validated, every key of them belonging to `partition`, all of one
   * class: see chunkClassOf) as one chunk job of `partition`; answers once it is in Redis.
   */
  async write(flow: string, items: readonly ChunkItem[], partition = 0): Promise<TriggerReceipt[]> {
    if (items.length === 0) return [];
    const span = startLinkedSpan(
      'flow-dispatcher chunk write',
      items.map((item) => item.traceparent),
      {
        'flow_dispatcher.flow': flow,
        'flow_dispatcher.triggers': items.length,
        'flow_dispatcher.partition': partition,
      },
    );
    const traced = span ? throughSpan(items, span) : items;
    try {
      const keyed = traced.some((item) => item.key != null);
      const receipts = keyed
        ? await this.#lane.run((client) => this.#writeKeyed(client, flow, traced, partition))
        : await this.#writePlain(flow, traced, partition);
      const written = receipts.find((receipt) => !receipt.duplicate);
      if (span && written) {
        span.setAttribute('flow_dispatcher.chunk_id', parseTriggerId(written.id)?.chunkId ?? '');
      }
      return receipts;
    } catch (err) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).name ?? 'error' });
      throw err;
    } finally {
      span?.end();
    }
  }

  async #writePlain(
    flow: string,
    items: readonly ChunkItem[],
    partition: number,
  ): Promise<TriggerReceipt[]> {
    const keys = this.keys.forPartition(partition);
    const now = Date.now();
    const chunkId = newChunkId(now, partition);
    const data = chunkData(items);
    const { queue, multi } = await this.#plainQueues.transaction(flow, partition);
    multi.sadd(keys.flows, flow);
    queueNewChunkCount(
      multi,
      keys,
      flow,
      chunkId,
      items.length,
      this.source,
      scheduledCount(items),
    );
    await addJob(multi, new Job(queue, flow, data, jobOptions(items, now), chunkId));
    checkResults(await commitTransaction(multi));
    return items.map((_, index) => ({
      id: triggerId(flow, chunkId, index),
      key: null,
      duplicate: false,
    }));
  }

  async #writeKeyed(
    client: RedisConnection,
    flow: string,
    items: readonly ChunkItem[],
    partition: number,
  ): Promise<TriggerReceipt[]> {
    const keys = this.keys.forPartition(partition);
    const distinctKeys = [
      ...new Set(items.flatMap((item) => (item.key == null ? [] : [item.key]))),
    ];
    const redisKeys = distinctKeys.map((key) => keys.idempotency(flow, key));

    for (let round = 0; round < MAX_ROUNDS; round++) {
      await client.watch(...redisKeys);
      const existing = await client.mget(...redisKeys);
      const known = new Map<string, string>();
      distinctKeys.forEach((key, i) => {
        const id = existing[i];
        if (id) known.set(key, id);
      });

      const now = Date.now();
      const chunkId = newChunkId(now, partition);
      const receipts: TriggerReceipt[] = [];
      const kept: ChunkItem[] = [];
      const itemKeys: (string | null)[] = [];
      for (const item of items) {
        const key = item.key ?? null;
        const seen = key === null ? undefined : known.get(key);
        if (seen !== undefined) {
          receipts.push({ id: seen, key, duplicate: true });
          continue;
        }
        const id = triggerId(flow, chunkId, kept.length);
        if (key !== null) known.set(key, id);
        kept.push(item);
        itemKeys.push(key);
        receipts.push({ id, key, duplicate: false });
      }
      if (kept.length === 0) {
        // On a cluster UNWATCH (it names no key) may reach another node: the WATCH left on this
        // node's connection ends with the next EXEC there, at worst costing that EXEC a retry.
        await client.unwatch();
        return receipts;
      }

      const data = chunkData(kept, itemKeys);
      const { queue, multi } = await this.#txnQueues.transaction(flow, partition);
      multi.sadd(keys.flows, flow);
      queueNewChunkCount(
        multi,
        keys,
        flow,
        chunkId,
        kept.length,
        this.source,
        scheduledCount(kept),
      );
      itemKeys.forEach((key, index) => {
        if (key !== null) {
          multi.set(
            keys.idempotency(flow, key),
            triggerId(flow, chunkId, index),
            'PX',
            this.idempotencyWindowMs,
          );
        }
      });
      await addJob(multi, new Job(queue, flow, data, jobOptions(kept, now), chunkId));
      const results = await commitTransaction(multi);
      if (results === null) continue; // a watched key changed: check again
      checkResults(results);
      return receipts;
    }
    throw new ContendedTransactionError(
      `idempotency keys of flow ${flow} are too contended; try again`,
    );
  }

  /**
   * Sends dead letters of one flow and one partition again, keeping their ids, each at most once
   * however many replays and purges run at the same time. An optimistic transaction on the WATCH
   * lane: WATCH the partition's dead-letter epoch, read the letters, keep those still there that
   * `prepare` accepts (it may also change their input), and in one MULTI write one new chunk of the
   * partition holding them (with their original ids and keys), take them out of the dead letters,
   * turn each one's old record into a pointer to its new slot, and bump the epoch. A replay or purge
   * that commits in between has bumped the epoch, so this EXEC aborts and the letters are read
   * again: only those still there are replayed. Answers the ids this call replayed.
   * Idempotency keys are not checked: they still name these very triggers.
   */
  async replayDeadLetters(
    flow: string,
    partition: number,
    ids: readonly string[],
    prepare: (letter: DeadLetter) => DeadLetter | undefined,
    resultTtlMs: number,
  ): Promise<string[]> {
    if (ids.length === 0) return [];
    const stray = ids.find((id) => (parseTriggerId(id)?.partition ?? 0) !== partition);
    if (stray !== undefined)
      throw new Error(`dead letter ${stray} is not one of partition ${partition}`);
    const keys = this.keys.forPartition(partition);
    return this.#lane.run(async (client) => {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        await client.watch(keys.deadLetterEpoch);
        const raws = await client.hmget(keys.deadLetterItems, ...ids);
        const letters: DeadLetter[] = [];
        for (const raw of raws) {
          const letter = raw ? prepare(JSON.parse(raw) as DeadLetter) : undefined;
          if (letter && letter.flow === flow) letters.push(letter);
        }
        if (letters.length === 0) {
          // See #writeKeyed on UNWATCH and a cluster.
          await client.unwatch();
          return [];
        }
        const chunkId = newChunkId(Date.now(), partition);
        const data: ChunkJobData = {
          v: 1,
          inputs: letters.map((letter) => letter.input),
          keys: letters.map((letter) => letter.key),
          ids: letters.map((letter) => letter.id),
        };
        const { queue, multi } = await this.#txnQueues.transaction(flow, partition);
        multi.sadd(keys.flows, flow);
        queueNewChunkCount(multi, keys, flow, chunkId, letters.length, 'replay');
        letters.forEach((letter, index) => {
          const old = parseTriggerId(letter.id);
          if (old) {
            const moved: TriggerRecord = { s: 'moved', to: triggerId(flow, chunkId, index) };
            const outcomes = keys.outcomes(old.chunkId);
            multi.hset(outcomes, { [String(old.index)]: encodeTriggerRecord(moved) });
            // The old chunk's records keep no expiry while its job exists (a chunk with a dead
            // letter may still have triggers waiting): only a completed chunk's gets RESULT_TTL_MS.
            retainOutcomes.queue(
              multi,
              { outcomes, job: keys.job(flow, old.chunkId) },
              { ttlMs: resultTtlMs },
            );
          }
          multi.zrem(keys.deadLetters, letter.id);
          multi.hdel(keys.deadLetterItems, letter.id);
        });
        multi.incr(keys.deadLetterEpoch);
        // Replays go to the normal lane.
        await addJob(multi, new Job(queue, flow, data, JOB_OPTIONS_BY_PRIORITY.normal, chunkId));
        const results = await commitTransaction(multi);
        if (results === null) continue; // another replay or purge took letters: read again
        checkResults(results);
        return letters.map((letter) => letter.id);
      }
      throw new ContendedTransactionError(
        `dead letters of flow ${flow} are too contended (other replays or purges kept taking them); try again`,
      );
    });
  }

  async close(): Promise<void> {
    await this.#lane.idle();
    await Promise.all([this.#plainQueues.close(), this.#txnQueues.close()]);
  }
}

/**
 * The items as stored while tracing: when they all came from one trace, the chunk write span is
 * a child of it and each trigger's stored context becomes the write's, so the Salesforce call
 * continues the chain request → chunk write → call; items of several traces keep their own.
 */
function throughSpan(items: readonly ChunkItem[], span: Span): readonly ChunkItem[] {
  const first = items[0]?.traceparent;
  if (items.some((item) => item.traceparent !== first)) return items;
  const traceparent = toTraceparent(span.spanContext());
  return items.map((item) => ({ ...item, traceparent }));
}

/**
 * Where a chunk's triggers came from: request ids and trace contexts, each array present only
 * when some trigger has one (a chunk without them costs nothing more).
 */
function origins(items: readonly ChunkItem[]): Pick<ChunkJobData, 'req' | 'tp'> {
  const origin: Pick<ChunkJobData, 'req' | 'tp'> = {};
  const req = toRuns(items.map((item) => item.requestId));
  if (req) origin.req = req;
  const tp = toRuns(items.map((item) => item.traceparent));
  if (tp) origin.tp = tp;
  return origin;
}

function queueNewChunkCount(
  multi: ChainableCommander,
  keys: RedisKeys,
  flow: string,
  chunkId: string,
  triggers: number,
  source: EnqueueSource,
  scheduledTriggers = 0,
): void {
  countNewChunk.queue(
    multi,
    {
      job: keys.job(flow, chunkId),
      pending: keys.pending,
      enqueued: keys.enqueued,
      scheduled: keys.scheduled,
      mark: keys.scheduleMark(chunkId),
    },
    { flow, triggers, source, scheduledTriggers },
  );
}

/** Throws the first error of a pipeline/transaction, including BullMQ's negative result codes. */
function checkResults(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('Redis transaction aborted');
  for (const [err, value] of results) {
    if (err) throw err;
    if (typeof value === 'number' && value < 0) {
      throw new Error(`BullMQ refused the chunk job (code ${value})`);
    }
  }
}
