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

interface PersistCommand {
  fdPersistOutcomes(...args: (string | number)[]): Promise<number>;
  fdRetainOutcomes(...args: (string | number)[]): Promise<number>;
}

/**
 * Writes one call's records of one partition, atomically, and counts a trigger as settled (the
 * pending counter) only when its record becomes terminal in this very script: a record already
 * ok, dead or moved is never overwritten and never counted again. So the counter stays exact when
 * the same write runs twice (ioredis re-sends a command whose reply a dropped connection lost) or
 * when two workers settle the same trigger (a chunk taken over after its lock expired).
 *
 * Retention: a chunk's outcome hash lives as long as its chunk job does. While the job exists
 * (the chunk is in progress, however long it waits: a pause, an open circuit, a retry a day away,
 * a spent budget) the hash has no expiry, so an answered trigger can never be forgotten and sent
 * again; once the job is gone (completed and removed) the hash keeps `resultTtlMs` for status
 * look-ups. A late write to a completed chunk's hash (a call that was in flight when the chunk was
 * taken over and completed elsewhere) gives it that expiry if it has none.
 *
 * KEYS: pending (HASH), dead letters (ZSET), dead-letter items (HASH), then per chunk its outcome
 *       hash and its job hash (pairs)…
 * ARGV: ttlMs, n, then n × (outcome key index, field, record JSON, terminal 0|1, flow, dead id or
 *       '', dead-at, dead-letter JSON or '').
 */
const PERSIST_OUTCOMES = `
local ttl = ARGV[1]
local n = tonumber(ARGV[2])
local settled = {}
local touched = {}
for i = 0, n - 1 do
  local b = 3 + i * 8
  local index = tonumber(ARGV[b])
  local key = KEYS[index]
  local field = ARGV[b + 1]
  local old = redis.call('HGET', key, field)
  local state = nil
  if old then
    local decoded, record = pcall(cjson.decode, old)
    if decoded and type(record) == 'table' then state = record.s end
  end
  if state ~= 'ok' and state ~= 'dead' and state ~= 'moved' then
    redis.call('HSET', key, field, ARGV[b + 2])
    if ARGV[b + 3] == '1' then
      local flow = ARGV[b + 4]
      settled[flow] = (settled[flow] or 0) + 1
    end
    if ARGV[b + 5] ~= '' then
      redis.call('HSET', KEYS[3], ARGV[b + 5], ARGV[b + 7])
      redis.call('ZADD', KEYS[2], ARGV[b + 6], ARGV[b + 5])
    end
  end
  touched[index] = true
end
for index in pairs(touched) do
  local key = KEYS[index]
  if redis.call('EXISTS', KEYS[index + 1]) == 1 then
    redis.call('PERSIST', key)
  elseif redis.call('PTTL', key) == -1 then
    redis.call('PEXPIRE', key, ttl)
  end
end
for flow, count in pairs(settled) do redis.call('HINCRBY', KEYS[1], flow, -count) end
return n
`;

/**
 * Gives a completed chunk's outcome hash its retention (`resultTtlMs`), once its job is gone.
 * KEYS: outcome hash, job hash. ARGV: ttlMs. Returns 1 when the expiry was set.
 */
const RETAIN_OUTCOMES = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[1])
`;

/**
 * Where the worker writes what became of each trigger: the chunk's outcome hash (one HSET per
 * chunk per call; kept while the chunk exists, then `resultTtlMs`) and, for the dead, the
 * dead-letter set, and the pending count. One script per call and queue partition (a call may carry
 * triggers of chunks from several partitions; each partition's keys share one slot), written
 * before the triggers are settled in memory, so a chunk job is never completed ahead of the
 * records that justify it.
 */
export class OutcomeStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly resultTtlMs: number,
  ) {
    const commands = redis as unknown as Partial<PersistCommand>;
    if (typeof commands.fdPersistOutcomes !== 'function') {
      redis.defineCommand('fdPersistOutcomes', { lua: PERSIST_OUTCOMES });
      redis.defineCommand('fdRetainOutcomes', { numberOfKeys: 2, lua: RETAIN_OUTCOMES });
    }
  }

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
    await (this.redis as unknown as PersistCommand).fdRetainOutcomes(
      keys.outcomes(chunkId),
      keys.job(flow, chunkId),
      this.resultTtlMs,
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
    const keyIndex = new Map<string, number>();
    const args: (string | number)[] = [];
    let entries = 0;
    batch.forEach((trigger, i) => {
      const record = records[i];
      if (!record || record.s === 'moved') return;
      const { run } = trigger;
      const key = keys.outcomes(run.chunkId);
      let index = keyIndex.get(key);
      if (index === undefined) {
        index = chunkKeys.length + 4; // KEYS[4] is the first chunk's outcome hash, KEYS[5] its job
        chunkKeys.push(key, keys.job(run.flow, run.chunkId));
        keyIndex.set(key, index);
      }
      let deadId = '';
      let deadJson = '';
      let deadAt = 0;
      if (record.s === 'dead') {
        deadAt = record.t;
        deadId = run.ids?.[trigger.index] ?? triggerId(run.flow, run.chunkId, trigger.index);
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
        deadJson = JSON.stringify(letter);
      }
      const terminal = record.s === 'ok' || record.s === 'dead' ? 1 : 0;
      args.push(
        index,
        trigger.index,
        encodeTriggerRecord(record),
        terminal,
        run.flow,
        deadId,
        deadAt,
        deadJson,
      );
      entries++;
    });
    if (entries === 0) return;
    const allKeys = [keys.pending, keys.deadLetters, keys.deadLetterItems, ...chunkKeys];
    await (this.redis as unknown as PersistCommand).fdPersistOutcomes(
      allKeys.length,
      ...allKeys,
      this.resultTtlMs,
      entries,
      ...args,
    );
  }
}
