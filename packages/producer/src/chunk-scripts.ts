import { defineScript, integerReply, lua } from '@flow-dispatcher/shared';

/**
 * Adds a new chunk's triggers to the pending count and to the enqueued count of its source
 * (`enqueued` field `source:flow`), in its write's MULTI before the job is added, and only if the
 * job does not exist yet: ioredis re-sends a transaction whose reply a dropped connection lost,
 * and BullMQ ignores the second add of the same job id, so must the counts. Every way in
 * (library, ingest, CLI, replay) writes through here, so the enqueued count sees them all.
 * A scheduled chunk's triggers are counted in `scheduled` too, and its mark set, until a worker
 * takes it (the worker's takeSchedule). Answers whether it counted.
 */
export const countNewChunk = defineScript({
  name: 'countNewChunk',
  keys: ['job', 'pending', 'enqueued', 'scheduled', 'mark'] as const,
  args: ['flow', 'triggers', 'source', 'scheduledTriggers'] as const,
  lua: lua`
if redis.call('EXISTS', KEY.job) == 1 then return 0 end
redis.call('HINCRBY', KEY.pending, ARG.flow, ARG.triggers)
redis.call('HINCRBY', KEY.enqueued, ARG.source .. ':' .. ARG.flow, ARG.triggers)
local scheduled = tonumber(ARG.scheduledTriggers)
if scheduled > 0 then
  redis.call('HINCRBY', KEY.scheduled, ARG.flow, scheduled)
  redis.call('SET', KEY.mark, scheduled)
end
return 1
`,
  reply: (raw) => integerReply('countNewChunk', raw) === 1,
});

/**
 * Cancels one trigger (README, "Cancelling"), atomically: writes its final `cancelled` record
 * unless it already has a final one, or its chunk is held by a worker (`_held` on the job hash:
 * its triggers may be in a call now). Takes it out of `pending` (and `scheduled`, while its
 * chunk's mark still counts it). Answers `cancelled`, `held`, `unknown` (no such trigger, or its
 * chunk is gone without a record), `final:<s>` (its record's kind) or `moved:<new id>`.
 */
export const cancelTrigger = defineScript({
  name: 'cancelTrigger',
  keys: ['job', 'outcomes', 'pending', 'scheduled', 'mark'] as const,
  args: ['flow', 'index', 'record'] as const,
  lua: lua`
local old = redis.call('HGET', KEY.outcomes, ARG.index)
if old then
  local ok, rec = pcall(cjson.decode, old)
  if ok and type(rec) == 'table' then
    if rec.s == 'moved' then return 'moved:' .. tostring(rec.to) end
    if rec.s ~= 'retry' then return 'final:' .. tostring(rec.s) end
  end
end
if redis.call('EXISTS', KEY.job) == 0 then return 'unknown' end
local raw = redis.call('HGET', KEY.job, 'data')
if not raw then return 'unknown' end
local data = cjson.decode(raw)
local index = tonumber(ARG.index)
if type(data.inputs) ~= 'table' or index >= #data.inputs then return 'unknown' end
if redis.call('HEXISTS', KEY.job, '_held') == 1 then return 'held' end
redis.call('HSET', KEY.outcomes, ARG.index, ARG.record)
redis.call('PERSIST', KEY.outcomes)
redis.call('HINCRBY', KEY.pending, ARG.flow, -1)
if type(data.at) == 'table' and (tonumber(data.at[index + 1]) or 0) > 0 then
  local n = tonumber(redis.call('GET', KEY.mark))
  if n and n > 0 then
    redis.call('SET', KEY.mark, n - 1)
    redis.call('HINCRBY', KEY.scheduled, ARG.flow, -1)
  end
end
return 'cancelled'
`,
  reply: (raw) => String(raw),
});
