/**
 * Lua scripts of the fleet limiter. Each runs atomically on the limits' hash-tagged keys (one
 * Redis Cluster slot), so every worker sees one consistent state.
 */

/**
 * Leases are reckoned in Redis's own clock (TIME), so that workers whose clocks differ never
 * expire each other's permits early.
 *
 * KEYS: permits (ZSET id → lease expiry, Redis ms), limits (HASH)
 * ARGV: now (the caller's clock, for pauses), leaseMs, hardMax, share (-1: a request that re-reads
 *       the budget, which only the concurrency limit and pauses apply to), id1, id2, … (candidate
 *       permit ids, one per local waiter)
 * Returns {granted, reason, pausedUntil}: reason is ok | paused | budget | busy.
 */
export const ACQUIRE_PERMITS = `
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local hardMax = tonumber(ARGV[3])
local share = tonumber(ARGV[4])
local t = redis.call('TIME')
local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', clock)
local st = redis.call('HMGET', KEYS[2], 'concurrencyLimit', 'pausedUntil', 'apiUsed', 'apiMax')
local limit = tonumber(st[1]) or hardMax
if limit > hardMax then limit = hardMax end
limit = math.max(1, math.floor(limit))
local inflight = redis.call('ZCARD', KEYS[1])
local pausedUntil = tonumber(st[2]) or 0
if pausedUntil > now then
  redis.call('HSET', KEYS[2], 'inflight', inflight)
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
    redis.call('HSET', KEYS[2], 'inflight', inflight)
    return {0, 'budget', 0}
  end
  if room < free then free = room end
elseif inflight >= 1 then
  free = 0
else
  free = 1
end
if free <= 0 then
  redis.call('HSET', KEYS[2], 'inflight', inflight)
  return {0, 'busy', 0}
end
local granted = 0
for i = 5, #ARGV do
  if granted >= free then break end
  redis.call('ZADD', KEYS[1], clock + lease, ARGV[i])
  granted = granted + 1
end
redis.call('HSET', KEYS[2], 'inflight', inflight + granted)
return {granted, 'ok', 0}
`;

/**
 * Renews held permits: a permit still in the set gets a new lease; one that lapsed (its lease ran
 * out and another worker's acquire removed it, or it is past its lease) is not added back, since
 * its slot may have been granted again. KEYS: permits. ARGV: leaseMs, id1, id2, …
 * Returns one flag per id: 1 renewed, 0 lapsed.
 */
export const RENEW_PERMITS = `
local t = redis.call('TIME')
local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local renewed = {}
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) > clock then
    redis.call('ZADD', KEYS[1], 'XX', clock + lease, ARGV[i])
    renewed[i - 1] = 1
  else
    if score then redis.call('ZREM', KEYS[1], ARGV[i]) end
    renewed[i - 1] = 0
  end
end
return renewed
`;

/**
 * KEYS: permits, limits. ARGV: id1, id2, … Returns the permits still held in the fleet.
 */
export const RELEASE_PERMITS = `
for i = 1, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
local inflight = redis.call('ZCARD', KEYS[1])
redis.call('HSET', KEYS[2], 'inflight', inflight)
return inflight
`;

/**
 * Additive increase, multiplicative decrease of the fleet's concurrency limit.
 * KEYS: limits. ARGV: now, 'inc' | 'dec', hardMax, decreaseCooldownMs. Returns the new limit.
 * Decreases closer together than the cooldown count once: the calls of one storm fail together.
 */
export const ADJUST_LIMIT = `
local now = tonumber(ARGV[1])
local hardMax = tonumber(ARGV[3])
local limit = tonumber(redis.call('HGET', KEYS[1], 'concurrencyLimit')) or hardMax
if limit > hardMax then limit = hardMax end
if ARGV[2] == 'inc' then
  if limit >= hardMax then return tostring(limit) end
  limit = math.min(hardMax, limit + 1 / limit)
else
  local last = tonumber(redis.call('HGET', KEYS[1], 'lastDecreaseAt')) or 0
  if now - last < tonumber(ARGV[4]) then return tostring(limit) end
  limit = math.max(1, limit / 2)
  redis.call('HSET', KEYS[1], 'lastDecreaseAt', now)
end
redis.call('HSET', KEYS[1], 'concurrencyLimit', tostring(limit))
return tostring(limit)
`;

/**
 * Pauses every call of the org. A pause already running is only extended (to Retry-After);
 * the backoff streak grows once per pause, not once per failed call of the storm.
 * KEYS: limits. ARGV: now, cause, minMs, random (0..1).
 * Returns {pausedUntil, isNew (1|0), streak}.
 */
export const PAUSE = `
local now = tonumber(ARGV[1])
local minMs = tonumber(ARGV[3])
local current = tonumber(redis.call('HGET', KEYS[1], 'pausedUntil')) or 0
if current > now then
  if now + minMs > current then
    current = now + minMs
    redis.call('HSET', KEYS[1], 'pausedUntil', current)
  end
  return {current, 0, tonumber(redis.call('HGET', KEYS[1], 'pauseStreak')) or 1}
end
local streak = redis.call('HINCRBY', KEYS[1], 'pauseStreak', 1)
local exponent = math.min(streak - 1, 10)
local ceiling = math.min(60000, 1000 * 2 ^ exponent)
local delay = math.max(minMs, ceiling / 2 + tonumber(ARGV[4]) * ceiling / 2)
local untilMs = math.floor(now + delay)
redis.call('HSET', KEYS[1], 'pausedUntil', untilMs, 'pauseCause', ARGV[2])
return {untilMs, 1, streak}
`;

/**
 * Records the org's API usage from a Sforce-Limit-Info header or /limits.
 * KEYS: limits. ARGV: now, used, max, share, force ('1' = take it whatever it says).
 * Answers can arrive out of order: a lower figure is taken only when the stored one is older than
 * a minute (the rolling window does free up) or the allocation itself changed.
 */
export const RECORD_USAGE = `
local now = tonumber(ARGV[1])
local used = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local st = redis.call('HMGET', KEYS[1], 'apiUsed', 'apiMax', 'usageAt')
local oldUsed = tonumber(st[1])
local oldMax = tonumber(st[2])
local at = tonumber(st[3]) or 0
if ARGV[5] == '1' or not oldUsed or used >= oldUsed or max ~= oldMax or now - at > 60000 then
  redis.call('HSET', KEYS[1], 'apiUsed', used, 'apiMax', max, 'usageAt', now,
    'budgetCalls', math.floor(max * tonumber(ARGV[4])))
  return 1
end
return 0
`;
