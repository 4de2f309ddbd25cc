"""The Lua scripts behind :class:`RedisBackend`: every grant is decided inside Redis, atomically.

Why Lua and not WATCH/MULTI: a grant reads the holders, prunes the dead, reads the adaptive
limit and moves the head of the queue into the holders; as one script it cannot interleave with
another process's grant, so "never above the limit" holds without optimistic retries. Time is the
Redis server's ``TIME`` so hosts with skewed clocks still agree on lease expiry.

Keys of one credential (all share the ``{tag}`` hash tag so a Redis Cluster keeps them on one
shard): KEYS[1] holders (zset ticket -> lease expiry ms), KEYS[2] queue (zset ticket -> arrival
sequence), KEYS[3] waiters (zset ticket -> waiter heartbeat expiry ms), KEYS[4] adaptive state
(hash configured/effective/successes), KEYS[5] the arrival counter.
"""

from __future__ import annotations

_COMMON = """
local holders, queue, waiters, adapt, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Expired leases (crashed holders) and waiters whose heartbeat stopped leave the game.
local function prune(now)
  redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
  local dead = redis.call('ZRANGEBYSCORE', waiters, '-inf', now)
  for _, t in ipairs(dead) do redis.call('ZREM', queue, t) end
  redis.call('ZREMRANGEBYSCORE', waiters, '-inf', now)
end

-- The limit in force: follows a changed configuration; keeps a lowered adaptive value lowered.
-- A nil limit (a report from a process that never acquired) means "the stored configuration".
local function effective(limit)
  local conf = tonumber(redis.call('HGET', adapt, 'configured'))
  local eff = tonumber(redis.call('HGET', adapt, 'effective'))
  if limit == nil then limit = conf end
  if limit == nil then return nil end
  if conf == nil or eff == nil then
    redis.call('HSET', adapt, 'configured', limit, 'effective', limit, 'successes', 0)
    return limit
  end
  if conf ~= limit then
    if eff < conf then eff = math.min(eff, limit) else eff = limit end
    redis.call('HSET', adapt, 'configured', limit, 'effective', eff)
  end
  return eff
end

-- Hand free slots to the oldest waiters, strictly in arrival order.
local function grant(eff, now, lease_ttl)
  local granted = {}
  local n = redis.call('ZCARD', holders)
  while n < eff do
    local head = redis.call('ZRANGE', queue, 0, 0)
    if #head == 0 then break end
    local t = head[1]
    redis.call('ZREM', queue, t)
    redis.call('ZREM', waiters, t)
    redis.call('ZADD', holders, now + lease_ttl, t)
    granted[#granted + 1] = t
    n = n + 1
  end
  return granted
end

local function notify(channel, granted, except)
  local out = {}
  for _, t in ipairs(granted) do
    if t ~= except then out[#out + 1] = t end
  end
  if #out > 0 then redis.call('PUBLISH', channel, table.concat(out, ' ')) end
end

local function touch(idle_ttl)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], idle_ttl) end
end
"""

# ARGV: ticket, limit, lease_ttl_ms, waiter_ttl_ms, channel, idle_ttl_ms -> {granted 0/1, effective}
ACQUIRE = (
    _COMMON
    + """
local ticket, limit = ARGV[1], tonumber(ARGV[2])
local lease_ttl, waiter_ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local channel, idle_ttl = ARGV[5], tonumber(ARGV[6])
local now = now_ms()
prune(now)
local eff = effective(limit)
if not redis.call('ZSCORE', holders, ticket) then
  if not redis.call('ZSCORE', queue, ticket) then
    redis.call('ZADD', queue, redis.call('INCR', seq), ticket)
  end
  redis.call('ZADD', waiters, now + waiter_ttl, ticket)
  notify(channel, grant(eff, now, lease_ttl), ticket)
end
touch(idle_ttl)
if redis.call('ZSCORE', holders, ticket) then return {1, eff} end
return {0, eff}
"""
)

# Release a lease or withdraw a ticket (whichever it is now), then pass the slot on.
# ARGV: ticket, limit, lease_ttl_ms, channel -> effective
LEAVE = (
    _COMMON
    + """
local ticket, limit, lease_ttl, channel = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREM', holders, ticket)
redis.call('ZREM', queue, ticket)
redis.call('ZREM', waiters, ticket)
local now = now_ms()
prune(now)
local eff = effective(limit)
notify(channel, grant(eff, now, lease_ttl), nil)
return eff
"""
)

# Extend this process's leases and waiter tickets. ARGV: lease_ttl_ms, waiter_ttl_ms, tickets...
# -> the tickets that are neither held nor queued any more (lost after a long stall).
HEARTBEAT = (
    _COMMON
    + """
local lease_ttl, waiter_ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()
local lost = {}
for i = 3, #ARGV do
  local t = ARGV[i]
  local held = tonumber(redis.call('ZSCORE', holders, t))
  if held and held > now then
    redis.call('ZADD', holders, now + lease_ttl, t)
  elseif redis.call('ZSCORE', queue, t) then
    redis.call('ZADD', waiters, now + waiter_ttl, t)
  else
    lost[#lost + 1] = t
  end
end
return lost
"""
)

# ARGV: limit ("" = the stored one) -> effective after a 1302 (one lower, never below 1).
LOWER = (
    _COMMON
    + """
local eff = effective(tonumber(ARGV[1]))
if eff == nil then return 0 end
eff = math.max(1, eff - 1)
redis.call('HSET', adapt, 'effective', eff, 'successes', 0)
return eff
"""
)

# ARGV: limit, raise_after, lease_ttl_ms, channel -> effective after one success.
SUCCESS = (
    _COMMON
    + """
local limit, raise_after = tonumber(ARGV[1]), tonumber(ARGV[2])
local lease_ttl, channel = tonumber(ARGV[3]), ARGV[4]
local eff = effective(limit)
if eff == nil then return 0 end
limit = tonumber(redis.call('HGET', adapt, 'configured'))
if eff >= limit then return eff end
local n = redis.call('HINCRBY', adapt, 'successes', 1)
if n >= raise_after then
  eff = eff + 1
  redis.call('HSET', adapt, 'effective', eff, 'successes', 0)
  local now = now_ms()
  prune(now)
  notify(channel, grant(eff, now, lease_ttl), nil)
end
return eff
"""
)
