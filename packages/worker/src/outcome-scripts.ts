import {
  defineScript,
  integerReply,
  lua,
  OUTCOME_EVENT_LUA,
  type OutcomeKind,
  type ScriptValue,
} from '@flow-dispatcher/shared';

/** One record for `persistOutcomes`. */
export interface PersistEntry {
  /** The position of its chunk's (outcome hash, job hash) pair among the extra keys: 0, 2, 4, … */
  chunk: number;
  /** Its index in the chunk (the outcome hash's field). */
  field: number;
  /** The record's JSON. */
  record: string;
  /** The record settles the trigger (ok or dead): the pending count goes down by one. */
  terminal: boolean;
  flow: string;
  /** For a dead record: the dead letter's id, time and JSON; otherwise '', 0 and ''. */
  deadId: string;
  deadAt: number;
  deadLetter: string;
  /**
   * The outcome event to append when the record is written, or undefined for none (the record is
   * not one OUTCOME_EVENTS asks for). Appended only if the record is written (an already final
   * record keeps its one event).
   */
  event?: {
    outcome: OutcomeKind;
    id: string;
    /** '' without one. */
    key: string;
    /** '' without one. */
    code: string;
    attempts: number;
    at: number;
    /** Salesforce's outputValues as JSON, or ''. */
    output: string;
  };
}

/** ARGV items per entry. */
const ENTRY_ARGS = 15;

/** An entry as the script's extra ARGV (ENTRY_ARGS items, in the order the Lua reads them). */
export function persistEntryArgs(entry: PersistEntry): ScriptValue[] {
  const { chunk, field, record, terminal, flow, deadId, deadAt, deadLetter, event } = entry;
  const args: ScriptValue[] = [chunk, field, record, terminal ? 1 : 0, flow, deadId, deadAt];
  args.push(deadLetter);
  if (!event) args.push('', '', '', '', 0, 0, '');
  else {
    const { outcome, id, key, code, attempts, at, output } = event;
    args.push(outcome, id, key, code, attempts, at, output);
  }
  if (args.length !== ENTRY_ARGS) throw new Error('persistEntryArgs: wrong argument count');
  return args;
}

/**
 * Writes one call's records of one partition (see OutcomeStore for what it guarantees).
 *
 * Extra KEYS: per chunk, its outcome hash and its job hash (pairs).
 * Extra ARGV: `entries` × 15, each entry as `persistEntryArgs` lays it out.
 *
 * A record written with an event appends that event to the partition's outcome stream (`events`,
 * see outcome-events.ts) in this same script: a trigger's settled event exists exactly when its
 * final record was written here, once.
 *
 * An old record is read with cjson: `ok`, `dead` and `moved` are final, whatever the order of
 * the record's JSON keys. Answers the number of entries.
 */
export const persistOutcomes = defineScript({
  name: 'persistOutcomes',
  keys: ['pending', 'deadLetters', 'deadLetterItems', 'events'] as const,
  args: ['ttlMs', 'entries', 'eventsMaxLen', 'eventsMaxAgeMs'] as const,
  extraKeys: true,
  extraArgs: true,
  lua:
    OUTCOME_EVENT_LUA +
    lua`
local n = tonumber(ARG.entries)
local settled = {}
local touched = {}
local appended = false
for i = 0, n - 1 do
  local b = FIRST_EXTRA_ARG + i * 15
  local chunk = FIRST_EXTRA_KEY + tonumber(ARGV[b])
  local key = KEYS[chunk]
  local field = ARGV[b + 1]
  local old = redis.call('HGET', key, field)
  local state = nil
  if old then
    local decoded, record = pcall(cjson.decode, old)
    if decoded and type(record) == 'table' then state = record.s end
  end
  if state ~= 'ok' and state ~= 'dead' and state ~= 'moved' and state ~= 'cancelled' then
    redis.call('HSET', key, field, ARGV[b + 2])
    if ARGV[b + 3] == '1' then
      local flow = ARGV[b + 4]
      settled[flow] = (settled[flow] or 0) + 1
    end
    if ARGV[b + 5] ~= '' then
      redis.call('HSET', KEY.deadLetterItems, ARGV[b + 5], ARGV[b + 7])
      redis.call('ZADD', KEY.deadLetters, ARGV[b + 6], ARGV[b + 5])
    end
    if ARGV[b + 8] ~= '' then
      fd_append_outcome_event(KEY.events, ARG.eventsMaxLen, ARGV[b + 9], ARGV[b + 10], ARGV[b + 4],
        ARGV[b + 8], ARGV[b + 11], ARGV[b + 12], ARGV[b + 13], ARGV[b + 14])
      appended = true
    end
  end
  touched[chunk] = true
end
for chunk in pairs(touched) do
  local key = KEYS[chunk]
  if redis.call('EXISTS', KEYS[chunk + 1]) == 1 then
    redis.call('PERSIST', key)
  elseif redis.call('PTTL', key) == -1 then
    redis.call('PEXPIRE', key, ARG.ttlMs)
  end
end
for flow, count in pairs(settled) do redis.call('HINCRBY', KEY.pending, flow, -count) end
if appended then fd_trim_outcome_events(KEY.events, ARG.eventsMaxAgeMs) end
return n
`,
  reply: (raw) => integerReply('persistOutcomes', raw),
});

/**
 * A worker took a scheduled chunk: its triggers leave the `scheduled` count (they are due within
 * about a second and count as pending work now). Once per chunk, whoever takes it how many times:
 * the chunk's mark, set by the producer in the chunk's write, is deleted here. Answers the
 * triggers subtracted.
 */
export const takeSchedule = defineScript({
  name: 'takeSchedule',
  keys: ['mark', 'scheduled'] as const,
  args: ['flow'] as const,
  lua: lua`
local n = tonumber(redis.call('GET', KEY.mark))
if not n then return 0 end
redis.call('DEL', KEY.mark)
redis.call('HINCRBY', KEY.scheduled, ARG.flow, -n)
return n
`,
  reply: (raw) => integerReply('takeSchedule', raw),
});

/**
 * A worker took a chunk: marks it held (`_held` on its job hash: a cancel now refuses, the
 * chunk's triggers may be in a call at any moment) and answers its records so far, in one step.
 * A cancel that ran before is in the records (the worker skips that trigger); one that comes
 * after sees the mark. The mark is removed when the chunk goes back to the queue.
 */
export const holdChunk = defineScript({
  name: 'holdChunk',
  keys: ['job', 'outcomes'] as const,
  args: ['token'] as const,
  lua: lua`
if redis.call('EXISTS', KEY.job) == 1 then redis.call('HSET', KEY.job, '_held', ARG.token) end
return redis.call('HGETALL', KEY.outcomes)
`,
  reply: (raw) => (Array.isArray(raw) ? (raw as unknown[]).map(String) : []),
});

/** The chunk goes back to the queue: its hold mark is removed, if it is still this run's. */
export const unholdChunk = defineScript({
  name: 'unholdChunk',
  keys: ['job'] as const,
  args: ['token'] as const,
  lua: lua`
if redis.call('HGET', KEY.job, '_held') == ARG.token then
  redis.call('HDEL', KEY.job, '_held')
  return 1
end
return 0
`,
  reply: (raw) => integerReply('unholdChunk', raw),
});
