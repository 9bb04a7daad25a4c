import { defineScript, integerReply, lua } from '@flow-dispatcher/shared';

/**
 * Adds a new chunk's triggers to the pending count and to the enqueued count of its source
 * (`enqueued` field `source:flow`), in its write's MULTI before the job is added, and only if the
 * job does not exist yet: ioredis re-sends a transaction whose reply a dropped connection lost,
 * and BullMQ ignores the second add of the same job id, so must the counts. Every way in
 * (library, ingest, CLI, replay) writes through here, so the enqueued count sees them all.
 * Answers whether it counted.
 */
export const countNewChunk = defineScript({
  name: 'countNewChunk',
  keys: ['job', 'pending', 'enqueued'] as const,
  args: ['flow', 'triggers', 'source'] as const,
  lua: lua`
if redis.call('EXISTS', KEY.job) == 1 then return 0 end
redis.call('HINCRBY', KEY.pending, ARG.flow, ARG.triggers)
redis.call('HINCRBY', KEY.enqueued, ARG.source .. ':' .. ARG.flow, ARG.triggers)
return 1
`,
  reply: (raw) => integerReply('countNewChunk', raw) === 1,
});
