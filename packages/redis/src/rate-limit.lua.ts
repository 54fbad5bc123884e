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
// State    one binary string per key, packed with Redis's `struct` library, little-endian:
//            fixed    '<Bdd'   1, windowStart, count            (17 bytes)
//            sliding  '<Bddd'  2, windowStart, prev, curr       (25 bytes)
//            token    '<Bdd'   3, tokenMs, lastMs               (17 bytes)
//          with a TTL (PX) so nothing is left behind. Why binary: packing and unpacking
//          doubles costs far less inside Redis than the text format it replaces
//          ("<algorithm>:<a>:<b>[:<c>]", parsed with string.match and written with
//          string.format('%.0f') per field), and it is exact: every field is an integer-valued
//          double, which a double holds as is (the text format round-tripped the same values).
//          A value whose first byte is not this check's algorithm, or whose length is not that
//          algorithm's, reads as a fresh key: another algorithm's state, the old text format
//          (it starts with an ASCII digit), anything else. It is overwritten or deleted as usual.
// Cost     the script body runs on every call, so it defines no functions (each would be a new
//          closure per call); the sliding window's retry time is computed inline.
// TTL      PX needs an integer string, and how redis.call prints a number argument depends on
//          the server version, so the TTL is formatted with '%d'. TTLs are whole milliseconds
//          below 2^55 (at most twice a window, and windows are at most 2^53 - 1 ms), well
//          inside the 64-bit integer '%d' prints, where it prints what '%.0f' did.
export const RATE_LIMIT_LUA = `
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local floor, min, max = math.floor, math.min, math.max

local out, n = {}, 0
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 4
  local algo = tonumber(ARGV[base + 1])
  local limit = tonumber(ARGV[base + 2])
  local window = tonumber(ARGV[base + 3])
  local cost = tonumber(ARGV[base + 4])
  local key = KEYS[i]

  local s0, s1, s2
  local raw = redis.call('GET', key)
  if raw and string.byte(raw, 1) == algo then
    if algo == 2 then
      if #raw == 25 then s0, s1, s2 = struct.unpack('<ddd', raw, 2) end
    elseif #raw == 17 then
      s0, s1 = struct.unpack('<dd', raw, 2)
    end
  end

  local allowed, remaining, retry, ttl, state = 0, 0, 0, 0, nil
  if algo == 1 then
    local ws = floor(now / window) * window
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
    if count > 0 then
      ttl = ws + window - now
      state = struct.pack('<Bdd', 1, ws, count)
    end
  elseif algo == 2 then
    local ws = floor(now / window) * window
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
      -- When a request of this cost fits (core's slidingRetryAfter, inlined)
      local to_roll = window - e
      local room = (limit - curr - cost) * window
      local wait
      if room >= 0 and prev > 0 then wait = to_roll - floor(room / prev) end
      if wait and wait < to_roll then
        retry = max(1, wait)
      elseif curr == 0 then
        retry = to_roll
      else
        local offset = floor(((limit - cost) * window) / curr)
        retry = to_roll + min(window, max(0, window - offset))
      end
    end
    if allowed == 1 then
      local room = limit * window - prev * (window - e) - curr * window
      remaining = max(0, floor(room / window))
    end
    if curr > 0 then ttl = 2 * window - e elseif prev > 0 then ttl = window - e end
    if ttl > 0 then state = struct.pack('<Bddd', 2, ws, prev, curr) end
  else
    local cap = limit * window
    local level = cap
    if s0 and s1 and s0 >= 0 then
      local el = now - s1
      if el < 0 then el = 0 end
      if el > window then el = window end
      level = min(cap, s0 + el * limit)
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
    if allowed == 1 then remaining = floor(level / window) end
    if level < cap then
      ttl = math.ceil((cap - level) / limit)
      state = struct.pack('<Bdd', 3, level, now)
    end
  end

  if ttl > 0 then
    redis.call('SET', key, state, 'PX', string.format('%d', ttl))
  elseif raw then
    redis.call('DEL', key)
  end
  out[n + 1] = allowed
  out[n + 2] = remaining
  out[n + 3] = ttl
  out[n + 4] = retry
  n = n + 4
  if allowed == 0 then break end
end
return out
`
