// The rate-limit algorithms of @sec/core (packages/core/src/ratelimit/algorithms.ts) as one
// Lua script: every check of a request, applied in order, atomically, on Redis's clock, in one
// round trip. Each line mirrors the TypeScript operation for operation so the same requests at
// the same times get the same decisions (the shared table in @sec/core/testing checks it).
//
// KEYS[i]  the counter of check i.
// ARGV[1]  clock override in ms for tests, or '' to read Redis TIME (always, in production).
// ARGV[2+4(i-1) .. 5+4(i-1)]  check i: algorithm (1 fixed, 2 sliding, 3 token), limit,
//          windowMs, cost, already normalised to integers by the caller.
// Returns  allowed (1/0), remaining, resetMs, retryAfterMs per check evaluated; evaluation
//          stops after the first denial.
// State    one string per key: "<algorithm>:<a>:<b>[:<c>]", with a TTL (PX) so nothing is left
//          behind; numbers pass through string.format('%.0f') because Lua's default number
//          formatting keeps only 14 significant digits.
export const RATE_LIMIT_LUA = `
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fmt(x) return string.format('%.0f', x) end

local function sliding_retry(prev, curr, e, limit, window, cost)
  local to_roll = window - e
  local room = (limit - curr - cost) * window
  if room >= 0 and prev > 0 then
    local wait = to_roll - math.floor(room / prev)
    if wait < to_roll then return math.max(1, wait) end
  end
  if curr == 0 then return to_roll end
  local offset = math.floor(((limit - cost) * window) / curr)
  return to_roll + math.min(window, math.max(0, window - offset))
end

local out = {}
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 4
  local algo = tonumber(ARGV[base + 1])
  local limit = tonumber(ARGV[base + 2])
  local window = tonumber(ARGV[base + 3])
  local cost = tonumber(ARGV[base + 4])
  local key = KEYS[i]

  local s0, s1, s2
  local raw = redis.call('GET', key)
  if raw then
    local a, x, y, z = string.match(raw, '^(%d):([^:]+):([^:]+):?([^:]*)$')
    if a and tonumber(a) == algo then
      s0 = tonumber(x)
      s1 = tonumber(y)
      s2 = tonumber(z)
    end
  end

  local allowed, remaining, retry, ttl, state = 0, 0, 0, 0, nil
  if algo == 1 then
    local ws = math.floor(now / window) * window
    local count = 0
    if s0 and s1 and s1 >= 0 and s0 >= ws then count = s1 end
    if cost > limit then
      retry = window
    elseif count + cost > limit then
      retry = ws + window - now
    else
      count = count + cost
      allowed = 1
    end
    if allowed == 1 then remaining = limit - count end
    if count > 0 then ttl = ws + window - now end
    state = '1:' .. fmt(ws) .. ':' .. fmt(count)
  elseif algo == 2 then
    local ws = math.floor(now / window) * window
    local prev, curr = 0, 0
    if s0 and s1 and s2 and s1 >= 0 and s2 >= 0 then
      if s0 >= ws then
        prev = s1
        curr = s2
      elseif s0 == ws - window then
        prev = s2
      end
    end
    local e = now - ws
    if cost > limit then
      retry = 2 * window
    elseif prev * (window - e) + (curr + cost) * window <= limit * window then
      curr = curr + cost
      allowed = 1
    else
      retry = sliding_retry(prev, curr, e, limit, window, cost)
    end
    if allowed == 1 then
      local room = limit * window - prev * (window - e) - curr * window
      remaining = math.max(0, math.floor(room / window))
    end
    if curr > 0 then ttl = 2 * window - e elseif prev > 0 then ttl = window - e end
    state = '2:' .. fmt(ws) .. ':' .. fmt(prev) .. ':' .. fmt(curr)
  else
    local cap = limit * window
    local level = cap
    if s0 and s1 and s0 >= 0 then
      local el = now - s1
      if el < 0 then el = 0 end
      if el > window then el = window end
      level = math.min(cap, s0 + el * limit)
    end
    local need = cost * window
    if cost > limit then
      retry = window
    elseif level >= need then
      level = level - need
      allowed = 1
    else
      retry = math.ceil((need - level) / limit)
    end
    if allowed == 1 then remaining = math.floor(level / window) end
    if level < cap then ttl = math.ceil((cap - level) / limit) end
    state = '3:' .. fmt(level) .. ':' .. fmt(now)
  end

  if ttl > 0 then
    redis.call('SET', key, state, 'PX', fmt(ttl))
  elseif raw then
    redis.call('DEL', key)
  end
  out[#out + 1] = allowed
  out[#out + 1] = remaining
  out[#out + 1] = ttl
  out[#out + 1] = retry
  if allowed == 0 then break end
end
return out
`
