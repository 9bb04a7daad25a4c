import { defineScript, integerReply, lua } from '../redis/redis-script.js';

/**
 * Gives a chunk's outcome hash its retention (`RESULT_TTL_MS`) once the chunk's job is gone: while
 * the job exists (the chunk still has triggers to settle, however long they wait) the records keep
 * no expiry, so an answered trigger is never forgotten and sent again. The worker runs it when it
 * completes a chunk, a dead-letter replay for the chunk its letters leave. Answers whether the
 * expiry was set.
 */
export const retainOutcomes = defineScript({
  name: 'retainOutcomes',
  keys: ['outcomes', 'job'] as const,
  args: ['ttlMs'] as const,
  lua: lua`
if redis.call('EXISTS', KEY.job) == 1 then return 0 end
return redis.call('PEXPIRE', KEY.outcomes, ARG.ttlMs)
`,
  reply: (raw) => integerReply('retainOutcomes', raw) === 1,
});
