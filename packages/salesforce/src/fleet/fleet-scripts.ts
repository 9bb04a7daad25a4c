import {
  arrayReply,
  defineScript,
  integerReply,
  lua,
  ScriptReplyError,
} from '@flow-dispatcher/shared';

/**
 * The Lua scripts of the fleet's limits and its shared token. Each runs atomically on fleet keys
 * hash-tagged into one Redis Cluster slot (`{prefix}:limits…`, `{prefix}:token…`), so every worker
 * sees one consistent state.
 */

/** Why a request for permits was refused, or `ok`. */
export type PermitVerdict = 'ok' | 'paused' | 'budget' | 'busy';

const VERDICTS: ReadonlySet<string> = new Set<PermitVerdict>(['ok', 'paused', 'budget', 'busy']);

/**
 * Grants up to one permit per candidate id (extra ARGV, one per local waiter). Leases are
 * reckoned in Redis's own clock (TIME), so that workers whose clocks differ never expire each
 * other's permits early; `now` (the caller's clock) is only compared with pauses, which callers
 * set in their own clocks.
 *
 * `share` -1 marks a request that re-reads the budget (GET /limits): only the concurrency limit
 * and pauses apply to it. Otherwise one call of the share is kept back for that re-read.
 */
export const acquirePermits = defineScript({
  name: 'acquirePermits',
  keys: ['permits', 'limits'] as const,
  args: ['now', 'leaseMs', 'hardMax', 'share'] as const,
  extraArgs: true,
  lua: lua`
local now = tonumber(ARG.now)
local lease = tonumber(ARG.leaseMs)
local hardMax = tonumber(ARG.hardMax)
local share = tonumber(ARG.share)
local t = redis.call('TIME')
local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEY.permits, '-inf', clock)
local st = redis.call('HMGET', KEY.limits, 'concurrencyLimit', 'pausedUntil', 'apiUsed', 'apiMax')
local limit = tonumber(st[1]) or hardMax
if limit > hardMax then limit = hardMax end
limit = math.max(1, math.floor(limit))
local inflight = redis.call('ZCARD', KEY.permits)
local pausedUntil = tonumber(st[2]) or 0
if pausedUntil > now then
  redis.call('HSET', KEY.limits, 'inflight', inflight)
  return {0, 'paused', pausedUntil}
end
local free = limit - inflight
local used = tonumber(st[3])
local max = tonumber(st[4])
if share < 0 then
  -- the budget's own re-read: bounded by the concurrency limit only
elseif used and max then
  -- One call of the share is kept back for the GET /limits that re-reads the usage once it is spent.
  local room = math.floor(max * share) - 1 - used - inflight
  if room <= 0 then
    redis.call('HSET', KEY.limits, 'inflight', inflight)
    return {0, 'budget', 0}
  end
  if room < free then free = room end
elseif inflight >= 1 then
  free = 0
else
  free = 1
end
if free <= 0 then
  redis.call('HSET', KEY.limits, 'inflight', inflight)
  return {0, 'busy', 0}
end
local granted = 0
for i = FIRST_EXTRA_ARG, #ARGV do
  if granted >= free then break end
  redis.call('ZADD', KEY.permits, clock + lease, ARGV[i])
  granted = granted + 1
end
redis.call('HSET', KEY.limits, 'inflight', inflight + granted)
return {granted, 'ok', 0}
`,
  /** `granted`: the first `granted` candidate ids are now permits. */
  reply: (raw) => {
    const [granted, verdict, pausedUntil] = arrayReply('acquirePermits', raw, 3);
    if (typeof verdict !== 'string' || !VERDICTS.has(verdict))
      throw new ScriptReplyError('acquirePermits', 'a known verdict');
    return {
      granted: integerReply('acquirePermits', granted),
      verdict: verdict as PermitVerdict,
      pausedUntil: integerReply('acquirePermits', pausedUntil),
    };
  },
});

/**
 * Renews held permits (extra ARGV: their ids): a permit still in the set gets a new lease; one
 * that lapsed (its lease ran out and another worker's acquire removed it, or it is past its lease)
 * is not added back, since its slot may have been granted again. Answers, per id, whether it was
 * renewed.
 */
export const renewPermits = defineScript({
  name: 'renewPermits',
  keys: ['permits'] as const,
  args: ['leaseMs'] as const,
  extraArgs: true,
  lua: lua`
local t = redis.call('TIME')
local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARG.leaseMs)
local renewed = {}
for i = FIRST_EXTRA_ARG, #ARGV do
  local score = redis.call('ZSCORE', KEY.permits, ARGV[i])
  if score and tonumber(score) > clock then
    redis.call('ZADD', KEY.permits, 'XX', clock + lease, ARGV[i])
    renewed[#renewed + 1] = 1
  else
    if score then redis.call('ZREM', KEY.permits, ARGV[i]) end
    renewed[#renewed + 1] = 0
  end
end
return renewed
`,
  reply: (raw) =>
    arrayReply('renewPermits', raw).map((flag) => integerReply('renewPermits', flag) === 1),
});

/** Releases permits (extra ARGV: their ids). Answers the permits still held in the fleet. */
export const releasePermits = defineScript({
  name: 'releasePermits',
  keys: ['permits', 'limits'] as const,
  args: [] as const,
  extraArgs: true,
  lua: lua`
for i = FIRST_EXTRA_ARG, #ARGV do redis.call('ZREM', KEY.permits, ARGV[i]) end
local inflight = redis.call('ZCARD', KEY.permits)
redis.call('HSET', KEY.limits, 'inflight', inflight)
return inflight
`,
  reply: (raw) => integerReply('releasePermits', raw),
});

/**
 * Additive increase, multiplicative decrease of the fleet's concurrency limit (`direction`: inc |
 * dec). Decreases closer together than the cooldown count once: the calls of one storm fail
 * together. Answers the new limit (a fraction: it grows by 1/limit per increase).
 */
export const adjustLimit = defineScript({
  name: 'adjustLimit',
  keys: ['limits'] as const,
  args: ['now', 'direction', 'hardMax', 'decreaseCooldownMs'] as const,
  lua: lua`
local now = tonumber(ARG.now)
local hardMax = tonumber(ARG.hardMax)
local limit = tonumber(redis.call('HGET', KEY.limits, 'concurrencyLimit')) or hardMax
if limit > hardMax then limit = hardMax end
if ARG.direction == 'inc' then
  if limit >= hardMax then return tostring(limit) end
  limit = math.min(hardMax, limit + 1 / limit)
else
  local last = tonumber(redis.call('HGET', KEY.limits, 'lastDecreaseAt')) or 0
  if now - last < tonumber(ARG.decreaseCooldownMs) then return tostring(limit) end
  limit = math.max(1, limit / 2)
  redis.call('HSET', KEY.limits, 'lastDecreaseAt', now)
end
redis.call('HSET', KEY.limits, 'concurrencyLimit', tostring(limit))
return tostring(limit)
`,
  reply: (raw) => {
    const limit = Number(raw);
    if (typeof raw !== 'string' || !Number.isFinite(limit))
      throw new ScriptReplyError('adjustLimit', 'a number');
    return limit;
  },
});

/**
 * Pauses every call of the org. A pause already running is only extended (to `minMs`, e.g.
 * Retry-After); the backoff streak grows once per pause, not once per failed call of the storm.
 * `random` (0..1) jitters the pause. Answers until when, whether this call started the pause, and
 * the streak.
 */
export const pauseFleet = defineScript({
  name: 'pauseFleet',
  keys: ['limits'] as const,
  args: ['now', 'cause', 'minMs', 'random'] as const,
  lua: lua`
local now = tonumber(ARG.now)
local minMs = tonumber(ARG.minMs)
local current = tonumber(redis.call('HGET', KEY.limits, 'pausedUntil')) or 0
if current > now then
  if now + minMs > current then
    current = now + minMs
    redis.call('HSET', KEY.limits, 'pausedUntil', current)
  end
  return {current, 0, tonumber(redis.call('HGET', KEY.limits, 'pauseStreak')) or 1}
end
local streak = redis.call('HINCRBY', KEY.limits, 'pauseStreak', 1)
local exponent = math.min(streak - 1, 10)
local ceiling = math.min(60000, 1000 * 2 ^ exponent)
local delay = math.max(minMs, ceiling / 2 + tonumber(ARG.random) * ceiling / 2)
local untilMs = math.floor(now + delay)
redis.call('HSET', KEY.limits, 'pausedUntil', untilMs, 'pauseCause', ARG.cause)
return {untilMs, 1, streak}
`,
  reply: (raw) => {
    const [pausedUntil, started, streak] = arrayReply('pauseFleet', raw, 3);
    return {
      pausedUntil: integerReply('pauseFleet', pausedUntil),
      started: integerReply('pauseFleet', started) === 1,
      streak: integerReply('pauseFleet', streak),
    };
  },
});

/**
 * Records the org's API usage from a Sforce-Limit-Info header or /limits (`force` '1': take it
 * whatever it says). Answers can arrive out of order: a lower figure is taken only when the stored
 * one is older than a minute (the rolling window does free up) or the allocation itself changed.
 * Answers whether it was stored.
 */
export const recordUsage = defineScript({
  name: 'recordUsage',
  keys: ['limits'] as const,
  args: ['now', 'used', 'max', 'share', 'force'] as const,
  lua: lua`
local now = tonumber(ARG.now)
local used = tonumber(ARG.used)
local max = tonumber(ARG.max)
local st = redis.call('HMGET', KEY.limits, 'apiUsed', 'apiMax', 'usageAt')
local oldUsed = tonumber(st[1])
local oldMax = tonumber(st[2])
local at = tonumber(st[3]) or 0
if ARG.force == '1' or not oldUsed or used >= oldUsed or max ~= oldMax or now - at > 60000 then
  redis.call('HSET', KEY.limits, 'apiUsed', used, 'apiMax', max, 'usageAt', now,
    'budgetCalls', math.floor(max * tonumber(ARG.share)))
  return 1
end
return 0
`,
  reply: (raw) => integerReply('recordUsage', raw) === 1,
});

/** Deletes a lock only if `holder` still holds it. Answers whether it did. */
export const releaseLock = defineScript({
  name: 'releaseLock',
  keys: ['lock'] as const,
  args: ['holder'] as const,
  lua: lua`
if redis.call('GET', KEY.lock) == ARG.holder then return redis.call('DEL', KEY.lock) end
return 0
`,
  reply: (raw) => integerReply('releaseLock', raw) === 1,
});
