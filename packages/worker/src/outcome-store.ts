import {
  type DeadLetter,
  decodeTriggerRecord,
  defaults,
  encodeTriggerRecord,
  type OutcomeEventsMode,
  type OutcomeEventTrim,
  type OutcomeKind,
  type RedisConnection,
  type RedisKeys,
  retainOutcomes,
  type ScriptValue,
  type TriggerRecord,
  triggerId,
} from '@flow-dispatcher/shared';
import type { PendingTrigger } from './chunk-run.js';
import {
  holdChunk,
  persistEntryArgs,
  persistOutcomes,
  takeSchedule,
  unholdChunk,
} from './outcome-scripts.js';

/** Which records append an outcome event, and how the streams are trimmed. */
export interface OutcomeEventOptions extends OutcomeEventTrim {
  /** OUTCOME_EVENTS: which records append an outcome event. */
  mode: OutcomeEventsMode;
}

const DEFAULT_EVENTS: OutcomeEventOptions = {
  mode: defaults.outcomeEvents,
  maxLen: defaults.outcomeEventsMaxLen,
  maxAgeMs: defaults.outcomeEventsMaxAgeMs,
};

/**
 * Where the worker writes what became of each trigger: the chunk's outcome hash (one HSET per
 * chunk per call; kept while the chunk exists, then `resultTtlMs`) and, for the dead, the
 * dead-letter set, and the pending count. One script per call and queue partition (a call may carry
 * triggers of chunks from several partitions; each partition's keys share one slot), written
 * before the triggers are settled in memory, so a chunk job is never completed ahead of the
 * records that justify it.
 *
 * The script (`persistOutcomes`, outcome-scripts.ts) writes one call's records of one partition,
 * atomically, and counts a trigger as settled (the pending counter) only when its record becomes
 * terminal in this very script: a record already ok, dead or moved is never overwritten and never
 * counted again. So the counter stays exact when the same write runs twice (ioredis re-sends a
 * command whose reply a dropped connection lost) or when two workers settle the same trigger (a
 * chunk taken over after its lock expired).
 *
 * Retention: a chunk's outcome hash lives as long as its chunk job does. While the job exists
 * (the chunk is in progress, however long it waits: a pause, an open circuit, a retry a day away,
 * a spent budget) the hash has no expiry, so an answered trigger can never be forgotten and sent
 * again; once the job is gone (completed and removed) the hash keeps `resultTtlMs` for status
 * look-ups. A late write to a completed chunk's hash (a call that was in flight when the chunk was
 * taken over and completed elsewhere) gives it that expiry if it has none.
 *
 * Outcome events: the same script appends one event to the partition's outcome stream per record
 * that settles a trigger (and per retry record with OUTCOME_EVENTS=all), only when it writes the
 * record: a trigger settled twice (a re-sent write, a chunk taken over) has one event. A retry
 * record may be written again (it is not final), so a `retried` event may repeat.
 */
export class OutcomeStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly resultTtlMs: number,
    private readonly events: OutcomeEventOptions = DEFAULT_EVENTS,
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
   * Starts the retention clock of a chunk whose job was completed (and so removed): its records
   * stay readable for `resultTtlMs`. Harmless when the job still exists (nothing changes).
   */
  async retain(flow: string, chunkId: string, partition = 0): Promise<void> {
    const keys = this.keys.forPartition(partition);
    await retainOutcomes.run(
      this.redis,
      { outcomes: keys.outcomes(chunkId), job: keys.job(flow, chunkId) },
      { ttlMs: this.resultTtlMs },
    );
  }

  /**
   * Marks a chunk just taken as held (cancels refuse from now on) and answers its records so far,
   * atomically (outcome-scripts.ts, holdChunk).
   */
  async hold(
    flow: string,
    chunkId: string,
    token: string,
    partition = 0,
  ): Promise<Map<number, TriggerRecord>> {
    const keys = this.keys.forPartition(partition);
    const flat = await holdChunk.run(
      this.redis,
      { job: keys.job(flow, chunkId), outcomes: keys.outcomes(chunkId) },
      { token },
    );
    const records = new Map<number, TriggerRecord>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const record = decodeTriggerRecord(flat[i + 1]);
      if (record) records.set(Number(flat[i]), record);
    }
    return records;
  }

  /** The chunk goes back to the queue: no longer held, its triggers may be cancelled again. */
  async unhold(flow: string, chunkId: string, token: string, partition = 0): Promise<void> {
    const job = this.keys.forPartition(partition).job(flow, chunkId);
    await unholdChunk.run(this.redis, { job }, { token });
  }

  /** A scheduled chunk was taken: its triggers leave the `scheduled` count (once per chunk). */
  async takeSchedule(flow: string, chunkId: string, partition = 0): Promise<void> {
    const keys = this.keys.forPartition(partition);
    await takeSchedule.run(
      this.redis,
      { mark: keys.scheduleMark(chunkId), scheduled: keys.scheduled },
      { flow },
    );
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
    const chunkKeys: string[] = [];
    const chunkOf = new Map<string, number>();
    const args: ScriptValue[] = [];
    let entries = 0;
    batch.forEach((trigger, i) => {
      const record = records[i];
      if (!record || record.s === 'moved') return;
      const { run } = trigger;
      const key = keys.outcomes(run.chunkId);
      let chunk = chunkOf.get(key);
      if (chunk === undefined) {
        chunk = chunkKeys.length;
        chunkKeys.push(key, keys.job(run.flow, run.chunkId));
        chunkOf.set(key, chunk);
      }
      const id = run.ids?.[trigger.index] ?? triggerId(run.flow, run.chunkId, trigger.index);
      let deadId = '';
      let deadLetter = '';
      let deadAt = 0;
      if (record.s === 'dead') {
        deadAt = record.t;
        deadId = id;
        const letter: DeadLetter = {
          id: deadId,
          flow: run.flow,
          input: trigger.input,
          key: run.keys?.[trigger.index] ?? null,
          error: record.e,
          attempts: record.a,
          enqueuedAt: trigger.enqueuedAt,
          deadAt: record.t,
        };
        deadLetter = JSON.stringify(letter);
      }
      const outcome = this.#eventOf(record);
      args.push(
        ...persistEntryArgs({
          chunk,
          field: trigger.index,
          record: encodeTriggerRecord(record),
          terminal: record.s === 'ok' || record.s === 'dead',
          flow: run.flow,
          deadId,
          deadAt,
          deadLetter,
          event: outcome && {
            outcome,
            id,
            key: run.keys?.[trigger.index] ?? '',
            code: record.s === 'ok' || record.s === 'cancelled' ? '' : record.e.code,
            attempts: record.a,
            at: record.s === 'retry' ? Date.now() : record.t,
            output: record.s === 'ok' && record.o ? JSON.stringify(record.o) : '',
          },
        }),
      );
      entries++;
    });
    if (entries === 0) return;
    await persistOutcomes.run(
      this.redis,
      {
        pending: keys.pending,
        deadLetters: keys.deadLetters,
        deadLetterItems: keys.deadLetterItems,
        events: keys.outcomeEvents,
      },
      {
        ttlMs: this.resultTtlMs,
        entries,
        eventsMaxLen: this.events.maxLen,
        eventsMaxAgeMs: this.events.maxAgeMs,
      },
      { keys: chunkKeys, args },
    );
  }

  /** The event a record appends under OUTCOME_EVENTS, or undefined. */
  #eventOf(record: TriggerRecord): OutcomeKind | undefined {
    const { mode } = this.events;
    if (mode === 'off') return undefined;
    if (record.s === 'ok') return 'succeeded';
    if (record.s === 'dead') return 'dead';
    if (record.s === 'retry' && mode === 'all') return 'retried';
    return undefined;
  }
}
