import { arrayReply, defineScript, integerReply, lua } from '@flow-dispatcher/shared';

/** What `paceTokens` answers: tokens granted (-1: the flow is not paced) and the wait (ms). */
export interface PaceReply {
  granted: number;
  waitMs: number;
}

/**
 * A paced flow's token bucket, fleet-wide (see flow-pace.ts in the shared package, whose
 * `takeTokens` and `returnTokens` this does line for line, and docs/design.md "Pacing a flow").
 *
 * mode `take`: asks for tokens for a call of up to `n` inputs; grants min(n, the call cap) when
 * that many are there, else nothing and how long until they will be. mode `peek`: the same wait,
 * taking nothing (0: they are there now); it writes the bucket as it is now, so a flow's first
 * peek starts its (empty) bucket. mode `return`: gives back
 * `n` tokens a call was granted and did not use. Reads the pace itself, so a new pace (or `off`:
 * the field is gone, answered -1) counts from the next ask. Redis's clock, not the workers'.
 */
export const paceTokens = defineScript({
  name: 'paceTokens',
  keys: ['paces', 'bucket'] as const,
  args: ['flow', 'mode', 'n', 'ttlMs'] as const,
  lua: lua`
local raw = redis.call('HGET', KEY.paces, ARG.flow)
if not raw then return {-1, 0} end
local decoded, pace = pcall(cjson.decode, raw)
if not decoded or type(pace) ~= 'table' then return {-1, 0} end
local rate = tonumber(pace.perSecond)
local window = tonumber(pace.windowMs or 1000)
if not rate or rate <= 0 or not window or window <= 0 then return {-1, 0} end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local cap = math.max(1, math.floor(rate * window / 2000))
local capacity = math.max(2 * cap, rate * window / 1000)
local tokens, at = 0, now
local stored = redis.call('HMGET', KEY.bucket, 'tokens', 'at')
if stored[1] and stored[2] then
  local elapsed = math.max(0, now - tonumber(stored[2]))
  tokens = math.min(capacity, tonumber(stored[1]) + rate * elapsed / 1000)
  at = math.max(now, tonumber(stored[2]))
end
local n = tonumber(ARG.n)
local granted, wait = 0, 0
if ARG.mode == 'peek' then
  n = math.min(math.floor(n), cap)
  if n > 0 and tokens < n then wait = math.max(1, math.ceil((n - tokens) * 1000 / rate)) end
elseif ARG.mode == 'return' then
  tokens = math.min(capacity, tokens + n)
else
  n = math.min(math.floor(n), cap)
  if n > 0 then
    if tokens >= n then
      tokens = tokens - n
      granted = n
    else
      wait = math.max(1, math.ceil((n - tokens) * 1000 / rate))
    end
  end
end
redis.call('HSET', KEY.bucket, 'tokens', string.format('%.17g', tokens), 'at', string.format('%d', at))
redis.call('PEXPIRE', KEY.bucket, ARG.ttlMs)
return {granted, wait}
`,
  reply: (raw) => {
    const [granted, waitMs] = arrayReply('paceTokens', raw, 2);
    return {
      granted: integerReply('paceTokens', granted),
      waitMs: integerReply('paceTokens', waitMs),
    };
  },
});
