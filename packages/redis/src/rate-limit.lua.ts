// The rate-limit algorithms of @sec/core (packages/core/src/ratelimit/algorithms.ts) as one
// Lua script: every check of a request, applied in order, atomically, on Redis's clock, in one
// round trip. It mirrors the TypeScript operation for operation, spelled the way that costs
// Redis least where the result is the same number (see Cost), so the same requests at the same
// times get the same decisions (the shared table in @sec/core/testing checks it, and
// test/parity.test.ts against MemoryStore).
//
// KEYS[i]  the counter of check i.
// ARGV[1]  clock override in ms for tests, or '' to read Redis TIME (always, in production).
// ARGV[2+4(i-1) .. 5+4(i-1)]  check i: algorithm ('1' fixed, '2' sliding, '3' token), limit,
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
// Cost     Redis CPU per call (usec_per_call of EVALSHA, bench/script-cost.mjs: Redis 7.0, 50 in
//          flight, 1000 keys, limits never reached; medians of rounds, before and after in the
//          same run). Arithmetic instead of calls (below): one fixed-window check 4.57 -> 3.95 µs,
//          sliding 4.60 -> 4.19, token 4.43 -> 3.97, three checks 10.67 -> 9.52. KEEPTTL (see
//          TTL), measured later on a slower machine: fixed 5.37 -> 4.63, sliding 5.47 -> 4.76,
//          token 5.55 -> 5.48 (unchanged), three checks 12.30 -> 11.41; there TIME + GET + SET
//          PX with trivial Lua around them cost 4.00, an empty script 1.40, and
//          @fastify/rate-limit's INCR + PTTL 2.76. Each argument costs ~0.03. Every
//          Lua call of a C function (tonumber, math.floor, string.byte, struct.*, string.format)
//          costs ~20-70 ns and a growing table ~100 ns, so the script:
//          - defines no functions (each would be a new closure per call); the sliding window's
//            retry time is computed inline;
//          - turns argument and TIME strings into numbers by arithmetic (`s + 0` converts as
//            tonumber does, without the call), and compares the algorithm as a string;
//          - checks a state's length, then reads its algorithm byte with its fields in one
//            struct.unpack;
//          - takes the window start as `now - now % window`: Lua 5.1's a % b is
//            a - floor(a / b) * b, so this is now - (now - P) with P = floor(now / window) *
//            window computed as core computes it, and both subtractions are exact (now - P is an
//            integer in [0, window], P a double) while |now| and window are at most 2^53 - 1:
//            TIME's milliseconds are, and so must a test clock be;
//          - writes math.max(a, b) and math.min(a, b) as comparisons that pick the operand
//            Lua's own pick (NaN included), and keeps math.floor and math.ceil of quotients
//            (core's Math.floor, Math.ceil): `%` is shown equal only for the window start;
//          - returns a single check's outcome (the common call) as a table literal: only a call
//            of several checks builds `out`.
// TTL      PX needs an integer string. A number argument to redis.call is printed with '%.17g'
//          up to Redis 7.0 (slower than string.format here), as '1e+08' by Redis 7.2.0-7.2.4
//          (redis/redis#13113) and as an integer since, so the TTL is formatted with '%d'. TTLs
//          are whole milliseconds below 2^55 (at most twice a window, and windows are at most
//          2^53 - 1 ms), well inside the 64-bit integer '%d' prints, where it prints what
//          '%.0f' did.
//          A fixed or sliding window key written again in the same window (and already holding
//          a count in it) keeps its TTL (SET ... KEEPTTL, Redis 6.0+): its expiry is the same
//          instant, the window's end (plus one window for sliding), so setting it again is
//          wasted work, and PX costs the format, its parsing and an update of the expiry table
//          (~0.7 µs of a ~5 µs call). Only on Redis's clock: a test clock is not the clock keys
//          expire by, so there every write sets PX as computed. A key that lost its TTL
//          (PERSIST) gets one back from the first write of a later window.
export const RATE_LIMIT_LUA = `
local now = ARGV[1]
local redis_clock = now == ''
if redis_clock then
  local t = redis.call('TIME')
  local us = t[2] + 0
  now = t[1] * 1000 + (us - us % 1000) / 1000
else
  now = now + 0
end

local nk = #KEYS
local out, n
if nk ~= 1 then out, n = {}, 0 end
for i = 1, nk do
  local b = 4 * i - 2
  local algo = ARGV[b]
  local limit, window, cost = ARGV[b + 1] + 0, ARGV[b + 2] + 0, ARGV[b + 3] + 0
  local key = KEYS[i]
  local raw = redis.call('GET', key)

  local allowed, remaining, retry, ttl, state, keep = 0, 0, 0, 0, nil, false
  if algo == '1' then
    local ws = now - now % window
    local count = 0
    if raw and #raw == 17 then
      local a, s0, s1 = struct.unpack('<Bdd', raw)
      if a == 1 and s1 >= 0 and s0 >= ws then
        count = s1
        keep = redis_clock and s0 == ws and s1 > 0
      end
    end
    if cost > limit then
      retry = window
    elseif count + cost > limit then
      retry = ws + window - now
    else
      count = count + cost
      allowed = 1
      remaining = limit - count
    end
    if count > 0 then
      ttl = ws + window - now
      state = struct.pack('<Bdd', 1, ws, count)
    end
  elseif algo == '2' then
    local ws = now - now % window
    local prev, curr = 0, 0
    if raw and #raw == 25 then
      local a, s0, s1, s2 = struct.unpack('<Bddd', raw)
      if a == 2 and s1 >= 0 and s2 >= 0 then
        if s0 >= ws then
          prev = s1
          curr = s2
          keep = redis_clock and s0 == ws and s2 > 0
        elseif s0 == ws - window then
          prev = s2
        end
      end
    end
    local e = now - ws
    if cost > limit then
      retry = 2 * window
    elseif prev * (window - e) + (curr + cost) * window <= limit * window then
      curr = curr + cost
      allowed = 1
      local r = math.floor((limit * window - prev * (window - e) - curr * window) / window)
      if r > 0 then remaining = r end
    else
      -- When a request of this cost fits (core's slidingRetryAfter, inlined)
      local floor = math.floor
      local to_roll = window - e
      local room = (limit - curr - cost) * window
      local wait
      if room >= 0 and prev > 0 then wait = to_roll - floor(room / prev) end
      if wait and wait < to_roll then
        if wait > 1 then retry = wait else retry = 1 end
      elseif curr == 0 then
        retry = to_roll
      else
        local d = window - floor(((limit - cost) * window) / curr)
        if not (d > 0) then d = 0 end
        if not (d < window) then d = window end
        retry = to_roll + d
      end
    end
    if curr > 0 then ttl = 2 * window - e elseif prev > 0 then ttl = window - e end
    if ttl > 0 then state = struct.pack('<Bddd', 2, ws, prev, curr) end
  else
    local cap = limit * window
    local level = cap
    if raw and #raw == 17 then
      local a, s0, s1 = struct.unpack('<Bdd', raw)
      if a == 3 and s0 >= 0 then
        local el = now - s1
        if el < 0 then el = 0 end
        if el > window then el = window end
        level = s0 + el * limit
        if not (level < cap) then level = cap end
      end
    end
    local need = cost * window
    if cost > limit then
      retry = window
    elseif level >= need then
      level = level - need
      allowed = 1
      remaining = math.floor(level / window)
    else
      retry = math.ceil((need - level) / limit)
    end
    if level < cap then
      ttl = math.ceil((cap - level) / limit)
      state = struct.pack('<Bdd', 3, level, now)
    end
  end

  if keep then
    redis.call('SET', key, state, 'KEEPTTL')
  elseif ttl > 0 then
    redis.call('SET', key, state, 'PX', string.format('%d', ttl))
  elseif raw then
    redis.call('DEL', key)
  end
  if nk == 1 then return {allowed, remaining, ttl, retry} end
  out[n + 1] = allowed
  out[n + 2] = remaining
  out[n + 3] = ttl
  out[n + 4] = retry
  n = n + 4
  if allowed == 0 then break end
end
return out
`
