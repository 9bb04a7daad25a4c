import {
  type DeadLetter,
  decodeTriggerRecord,
  encodeTriggerRecord,
  type RedisConnection,
  type RedisKeys,
  type TriggerRecord,
  triggerId,
} from '@flow-dispatcher/shared';
import type { PendingTrigger } from './chunk-run.js';

/**
 * Where the worker writes what became of each trigger: the chunk's outcome hash (one HSET per
 * chunk per call, expiring `resultTtlMs` after the last write) and, for the dead, the dead-letter
 * set, and the pending count. One transaction per call and queue partition (a call may carry
 * triggers of chunks from several partitions; each partition's keys share one slot), written
 * before the triggers are settled in memory, so a chunk job is never completed ahead of the
 * records that justify it.
 */
export class OutcomeStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly resultTtlMs: number,
  ) {}

  /** The records of a chunk of `partition` so far (empty for a chunk never answered). */
  async load(chunkId: string, partition = 0): Promise<Map<number, TriggerRecord>> {
    const raw = await this.redis.hgetall(this.keys.forPartition(partition).outcomes(chunkId));
    const records = new Map<number, TriggerRecord>();
    for (const [field, value] of Object.entries(raw)) {
      const record = decodeTriggerRecord(value);
      if (record) records.set(Number(field), record);
    }
    return records;
  }

  /**
   * Persists the new records of one call's triggers (`records[i]` belongs to `batch[i]`). With
   * triggers of several partitions, their transactions run together; if one fails this throws
   * (the others are stored, and a chunk read back later skips the triggers they settled).
   */
  async persist(
    batch: readonly PendingTrigger[],
    records: readonly TriggerRecord[],
  ): Promise<void> {
    const byPartition = new Map<number, { triggers: PendingTrigger[]; records: TriggerRecord[] }>();
    batch.forEach((trigger, i) => {
      const record = records[i];
      if (!record) return;
      const partition = trigger.run.partition;
      const group = byPartition.get(partition) ?? { triggers: [], records: [] };
      group.triggers.push(trigger);
      group.records.push(record);
      byPartition.set(partition, group);
    });
    const written = await Promise.allSettled(
      [...byPartition].map(([partition, group]) =>
        this.#persistPartition(this.keys.forPartition(partition), group.triggers, group.records),
      ),
    );
    for (const result of written) if (result.status === 'rejected') throw result.reason;
  }

  async #persistPartition(
    keys: RedisKeys,
    batch: readonly PendingTrigger[],
    records: readonly TriggerRecord[],
  ): Promise<void> {
    const byChunk = new Map<string, (string | number)[]>();
    const settledByFlow = new Map<string, number>();
    // One transaction: the records, the dead letters and the pending count move together.
    const pipeline = this.redis.multi();
    batch.forEach((trigger, i) => {
      const record = records[i];
      if (!record) return;
      const { run } = trigger;
      let fields = byChunk.get(run.chunkId);
      if (!fields) {
        fields = [];
        byChunk.set(run.chunkId, fields);
      }
      fields.push(trigger.index, encodeTriggerRecord(record));
      if (record.s === 'ok' || record.s === 'dead') {
        settledByFlow.set(run.flow, (settledByFlow.get(run.flow) ?? 0) + 1);
      }
      if (record.s === 'dead') {
        const id = run.ids?.[trigger.index] ?? triggerId(run.flow, run.chunkId, trigger.index);
        const letter: DeadLetter = {
          id,
          flow: run.flow,
          input: trigger.input,
          key: run.keys?.[trigger.index] ?? null,
          error: record.e,
          attempts: record.a,
          enqueuedAt: trigger.enqueuedAt,
          deadAt: record.t,
        };
        pipeline.hset(keys.deadLetterItems, id, JSON.stringify(letter));
        pipeline.zadd(keys.deadLetters, record.t, id);
      }
    });
    for (const [chunkId, fields] of byChunk) {
      const key = keys.outcomes(chunkId);
      pipeline.hset(key, ...fields);
      pipeline.pexpire(key, this.resultTtlMs);
    }
    for (const [flow, settled] of settledByFlow) pipeline.hincrby(keys.pending, flow, -settled);
    const results = await pipeline.exec();
    for (const [err] of results ?? []) if (err) throw err;
  }
}
