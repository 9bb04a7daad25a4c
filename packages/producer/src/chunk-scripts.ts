import { defineScript, integerReply, lua } from '@flow-dispatcher/shared';

/**
 * Adds a new chunk's triggers to the pending count, in its write's MULTI before the job is added,
 * and only if the job does not exist yet: ioredis re-sends a transaction whose reply a dropped
 * connection lost, and BullMQ ignores the second add of the same job id, so must the count.
 * A scheduled chunk's triggers are counted in `scheduled` too, and its mark set, until a worker
 * takes it (the worker's takeSchedule). Answers whether it counted.
 */
export const countNewChunk = defineScript({
  name: 'countNewChunk',
  keys: ['job', 'pending', 'scheduled', 'mark'] as const,
  args: ['flow', 'triggers', 'scheduledTriggers'] as const,
  lua: lua`
if redis.call('EXISTS', KEY.job) == 1 then return 0 end
redis.call('HINCRBY', KEY.pending, ARG.flow, ARG.triggers)
local scheduled = tonumber(ARG.scheduledTriggers)
if scheduled > 0 then
  redis.call('HINCRBY', KEY.scheduled, ARG.flow, scheduled)
  redis.call('SET', KEY.mark, scheduled)
end
return 1
`,
  reply: (raw) => integerReply('countNewChunk', raw) === 1,
});
