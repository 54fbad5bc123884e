// Rate-limit algorithms as pure functions over plain numeric state.
//
// Every store runs these same steps: MemoryStore calls them directly (the allocation-free
// `*Step` forms, which the object-based functions wrap), and the Redis store's
// Lua script must mirror them operation for operation so that one policy gives the same
// answers whichever store holds the counters. To make that mirroring exact:
//
// - All time is integer milliseconds on the store's clock (Redis: `TIME`), passed in as `nowMs`.
// - All arithmetic is on integers. The token bucket keeps its level in "token-milliseconds"
//   (tokens × windowMs) instead of fractional tokens, so refilling `limit` tokens per window
//   is an integer addition (`elapsed × limit`) rather than a division. No step rounds.
// - The only divisions are immediately floored or ceiled (`Math.floor(a / b)`, `Math.ceil`),
//   with integer `a`, `b ≥ 1`. While |a| < 2^53 the correctly rounded IEEE quotient can never
//   land on the wrong side of an integer (the gap to the next integer is ≥ 1/b, the rounding
//   error is < |a/b|·2^-53 < 1/b), so the result is the exact integer quotient, in JS and in
//   Lua (`math.floor(a / b)`) alike.
// - Every intermediate value stays below 2^53 (so is an exact double in both languages) as
//   long as limit × windowMs ≤ EXACT_LIMIT_WINDOW_PRODUCT (2^51, e.g. 1,000,000 per 26 days).
//   Beyond that results degrade gracefully (inexact by a few units) but never turn NaN.
//
// A Lua port must store state fields as integers without going through Lua's `tostring`
// (which prints 14 significant digits): pass numbers to `redis.call` directly.

import type { RateLimitCheck, RateLimitOutcome } from '../types.js'

/** Above this limit × windowMs product the integer arithmetic may lose exactness (see top). */
export const EXACT_LIMIT_WINDOW_PRODUCT = 2 ** 51

/**
 * `Step.ttlMs` value meaning "leave the stored state exactly as it is": returned for a check
 * that cannot be evaluated (see `normalizeLimit`).
 */
export const KEEP_STATE = -1

/** The part of a check an algorithm reads. */
export type LimitParams = Pick<RateLimitCheck, 'limit' | 'windowMs' | 'cost'>

/** Integer parameters after `normalizeLimit`. */
export interface NormalizedLimit {
  /** Units per window (bucket capacity), integer ≥ 0. */
  limit: number
  /** Window length, integer ≥ 1. */
  windowMs: number
  /** Units this request consumes, integer ≥ 0. */
  cost: number
}

/** The result of applying one check to one key's state. */
export interface Step<S> {
  /**
   * State to keep for the key. Defined whenever `ttlMs >= 0`; with `KEEP_STATE` it is the
   * state passed in (possibly undefined).
   */
  state: S | undefined
  outcome: RateLimitOutcome
  /**
   * `> 0`: store `state`; after `ttlMs` it is indistinguishable from a fresh key, so it may be
   * deleted then (Redis: `PEXPIRE`). `0`: `state` already equals a fresh key: delete it (or do
   * not create it). `KEEP_STATE` (-1): invalid check, touch nothing.
   */
  ttlMs: number
}

/** Fixed window: the window the count belongs to, and the units admitted in it. */
export interface FixedWindowState {
  windowStart: number
  count: number
}

/** Sliding window: the current window's start, and units admitted in it and the one before. */
export interface SlidingWindowState {
  windowStart: number
  prev: number
  curr: number
}

/**
 * Token bucket. `tokenMs` is the level in token-milliseconds: tokens × windowMs, an integer
 * (so `tokens = tokenMs / windowMs`). `lastMs` is when the level was computed.
 */
export interface TokenBucketState {
  tokenMs: number
  lastMs: number
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER

/**
 * Turns a check's numbers into the integers the algorithms use, or `undefined` when the check
 * cannot be evaluated. Rounding goes the strict way (limit down, window and cost up), so an odd
 * value never admits more than the policy said. Values are capped at 2^53 - 1 so products of
 * two of them stay finite.
 *
 * Invalid: any of them not a finite number, `limit < 0`, `windowMs <= 0`, `cost < 0`.
 * The Redis store should normalise in JS and hand the Lua script these integers.
 */
export function normalizeLimit(params: LimitParams): NormalizedLimit | undefined {
  const { limit, windowMs, cost } = params
  if (!isValidLimit(limit, windowMs, cost)) return undefined
  return {
    limit: Math.min(Math.floor(limit), MAX_SAFE),
    windowMs: Math.min(Math.ceil(windowMs), MAX_SAFE),
    cost: Math.min(Math.ceil(cost), MAX_SAFE),
  }
}

function isValidLimit(limit: unknown, windowMs: unknown, cost: unknown): limit is number {
  if (typeof limit !== 'number' || typeof windowMs !== 'number' || typeof cost !== 'number') {
    return false
  }
  if (!(Number.isFinite(limit) && Number.isFinite(windowMs) && Number.isFinite(cost))) {
    return false
  }
  return limit >= 0 && windowMs > 0 && cost >= 0
}

/**
 * Parameters and result of one step, for the `*Step` functions. MemoryStore runs a step for
 * every check of every request and keeps state in typed arrays: it passes numbers in and reads
 * numbers out of one reused scratch, instead of building four objects per check. The
 * object-based functions (`fixedWindow`, ...) are the same steps with objects around them, so
 * there is one implementation of each algorithm.
 */
export interface StepScratch {
  /** In: the check's parameters, as `normalizeInto` leaves them. */
  limit: number
  windowMs: number
  cost: number
  /** Out: the outcome (`resetMs` is `ttlMs`), and `ttlMs` as in `Step`. */
  allowed: boolean
  remaining: number
  retryAfterMs: number
  ttlMs: number
  /** Out: the new state's fields, in the order of the algorithm's state interface. */
  s0: number
  s1: number
  s2: number
}

export function newStepScratch(): StepScratch {
  return {
    limit: 0,
    windowMs: 1,
    cost: 0,
    allowed: false,
    remaining: 0,
    retryAfterMs: 0,
    ttlMs: 0,
    s0: 0,
    s1: 0,
    s2: 0,
  }
}

/** `normalizeLimit` into a scratch; false (scratch untouched) when the check is invalid. */
export function normalizeInto(params: LimitParams, out: StepScratch): boolean {
  const { limit, windowMs, cost } = params
  if (!isValidLimit(limit, windowMs, cost)) return false
  out.limit = Math.min(Math.floor(limit), MAX_SAFE)
  out.windowMs = Math.min(Math.ceil(windowMs), MAX_SAFE)
  out.cost = Math.min(Math.ceil(cost), MAX_SAFE)
  return true
}

/** A `*Step` function with the objects of `fixedWindow` and the others around it. */
function objectStep<S>(
  state: S | undefined,
  check: LimitParams,
  nowMs: number,
  step: (out: StepScratch, now: number) => void,
  stateOf: (out: StepScratch) => S,
): Step<S> {
  const out = newStepScratch()
  if (!normalizeInto(check, out)) return { state, outcome: invalidOutcome(), ttlMs: KEEP_STATE }
  step(out, normalizeNow(nowMs))
  return { state: stateOf(out), outcome: outcomeOf(out), ttlMs: out.ttlMs }
}

/** The outcome a step left in `out`. */
export function outcomeOf(out: StepScratch): RateLimitOutcome {
  return {
    allowed: out.allowed,
    remaining: out.remaining,
    resetMs: out.ttlMs,
    retryAfterMs: out.retryAfterMs,
  }
}

/**
 * The store clock as an integer. A clock that returns garbage (NaN, Infinity) must not poison
 * state with NaN, so it reads as 0; the algorithms then see time "going backwards", which they
 * handle. Redis `TIME` is always a valid integer, so the Lua port needs no equivalent.
 */
export function normalizeNow(nowMs: number): number {
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) return 0
  return Math.min(Math.max(Math.floor(nowMs), -MAX_SAFE), MAX_SAFE)
}

/**
 * The answer to a check that cannot be evaluated. It denies (an invalid check is a bug
 * upstream, and the product's rule is to deny broadly); there is no meaningful time to wait,
 * so both times are 0.
 */
export function invalidOutcome(): RateLimitOutcome {
  return { allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 0 }
}

/** A stored count is usable if it is a finite, non-negative number. */
function isCount(x: unknown): x is number {
  return typeof x === 'number' && x >= 0 && x <= MAX_SAFE
}

function isTime(x: unknown): x is number {
  return typeof x === 'number' && x >= -MAX_SAFE && x <= MAX_SAFE
}

// ---------------------------------------------------------------------------------------------
// Fixed window

/**
 * Fixed window: at most `limit` units per aligned window `[k·windowMs, (k+1)·windowMs)`.
 *
 * With L = limit, W = windowMs, c = cost, t = now (all integers):
 * ```
 * ws    = floor(t / W) * W
 * count = (state and state.windowStart >= ws) ? state.count : 0
 *         -- windowStart > ws only when the clock went back: keep the count (no free reset),
 *         -- relabelled to the current window, so a lockout never outlasts one window.
 * if c > L:              deny, retryAfter = W            -- never admissible
 * elif count + c > L:    deny, retryAfter = ws + W - t   -- admissible once the window rolls
 * else:                  count = count + c, allow, remaining = L - count
 * remaining = 0 when denied
 * resetMs = ttlMs = (count > 0) ? ws + W - t : 0
 * new state = { windowStart: ws, count }   -- written on denial too (relabels after a clock step)
 * ```
 */
export function fixedWindow(
  state: Readonly<FixedWindowState> | undefined,
  check: LimitParams,
  nowMs: number,
): Step<FixedWindowState> {
  return objectStep(
    state,
    check,
    nowMs,
    (out, now) => fixedWindowStep(out, state?.windowStart ?? NaN, state?.count ?? NaN, now),
    (out) => ({ windowStart: out.s0, count: out.s1 }),
  )
}

/**
 * `fixedWindow` on numbers: parameters from `normalizeInto` in `out`, the stored state as
 * numbers (NaN when there is none), `now` from `normalizeNow`. Writes the result into `out`.
 */
export function fixedWindowStep(
  out: StepScratch,
  stateWindowStart: number,
  stateCount: number,
  now: number,
): void {
  const { limit, windowMs, cost } = out
  const windowStart = Math.floor(now / windowMs) * windowMs
  let count = 0
  if (isTime(stateWindowStart) && isCount(stateCount)) {
    if (stateWindowStart >= windowStart) count = stateCount
  }

  let allowed = false
  let retryAfterMs = 0
  if (cost > limit) {
    retryAfterMs = windowMs
  } else if (count + cost > limit) {
    retryAfterMs = windowStart + windowMs - now
  } else {
    count += cost
    allowed = true
  }
  out.allowed = allowed
  out.remaining = allowed ? limit - count : 0
  out.retryAfterMs = retryAfterMs
  out.ttlMs = count > 0 ? windowStart + windowMs - now : 0
  out.s0 = windowStart
  out.s1 = count
  out.s2 = 0
}

// ---------------------------------------------------------------------------------------------
// Sliding window (weighted two-window counter)

/**
 * Sliding window, approximated as Cloudflare and NGINX do: the previous aligned window's count
 * is weighted by how much of it still overlaps a window ending now.
 *
 * With L, W, c, t as above:
 * ```
 * ws = floor(t / W) * W
 * if no state:                         prev = 0,          curr = 0
 * elif state.windowStart >= ws:        prev = state.prev, curr = state.curr
 *                                      -- (> only after the clock went back: relabel, keep counts)
 * elif state.windowStart == ws - W:    prev = state.curr, curr = 0     -- rolled over once
 * else:                                prev = 0,          curr = 0     -- two windows or more
 * e = t - ws                                                 -- 0 <= e < W
 * if c > L:                                          deny, retryAfter = 2W
 * elif prev*(W - e) + (curr + c)*W <= L*W:           curr = curr + c, allow
 * else:                                              deny, retryAfter = see slidingRetryAfter
 * remaining (allowed) = max(0, floor((L*W - prev*(W - e) - curr*W) / W)); 0 when denied
 * resetMs = ttlMs = curr > 0 ? 2W - e : prev > 0 ? W - e : 0
 *   -- curr's weight lasts until the end of the next window; prev's until the end of this one.
 * new state = { windowStart: ws, prev, curr }   -- written on denial too
 * ```
 * Every product is an exact integer; the admission test is exact, no fractions of requests.
 */
export function slidingWindow(
  state: Readonly<SlidingWindowState> | undefined,
  check: LimitParams,
  nowMs: number,
): Step<SlidingWindowState> {
  return objectStep(
    state,
    check,
    nowMs,
    (out, now) =>
      slidingWindowStep(
        out,
        state?.windowStart ?? NaN,
        state?.prev ?? NaN,
        state?.curr ?? NaN,
        now,
      ),
    (out) => ({ windowStart: out.s0, prev: out.s1, curr: out.s2 }),
  )
}

/** `slidingWindow` on numbers (see `fixedWindowStep`). */
export function slidingWindowStep(
  out: StepScratch,
  stateWindowStart: number,
  statePrev: number,
  stateCurr: number,
  now: number,
): void {
  const { limit, windowMs, cost } = out
  const windowStart = Math.floor(now / windowMs) * windowMs
  let prev = 0
  let curr = 0
  if (isTime(stateWindowStart) && isCount(statePrev) && isCount(stateCurr)) {
    if (stateWindowStart >= windowStart) {
      prev = statePrev
      curr = stateCurr
    } else if (stateWindowStart === windowStart - windowMs) {
      prev = stateCurr
    }
  }
  const elapsed = now - windowStart

  let allowed = false
  let retryAfterMs = 0
  if (cost > limit) {
    retryAfterMs = 2 * windowMs
  } else if (prev * (windowMs - elapsed) + (curr + cost) * windowMs <= limit * windowMs) {
    curr += cost
    allowed = true
  } else {
    retryAfterMs = slidingRetryAfter(prev, curr, elapsed, limit, windowMs, cost)
  }

  let remaining = 0
  if (allowed) {
    const room = limit * windowMs - prev * (windowMs - elapsed) - curr * windowMs
    remaining = Math.max(0, Math.floor(room / windowMs))
  }
  out.allowed = allowed
  out.remaining = remaining
  out.retryAfterMs = retryAfterMs
  out.ttlMs = curr > 0 ? 2 * windowMs - elapsed : prev > 0 ? windowMs - elapsed : 0
  out.s0 = windowStart
  out.s1 = prev
  out.s2 = curr
}

/**
 * Smallest integer wait d ≥ 1 after which a denied request of cost c (≤ L) is admitted,
 * assuming nothing else is admitted meanwhile. Derivation:
 * ```
 * A) still in this window (d < W - e): prev*(W - e - d) <= R, R = (L - curr - c)*W
 *    possible only if R >= 0 and prev > 0; since the left side is an integer,
 *    W - e - d <= floor(R / prev)  <=>  d >= dA = W - e - floor(R / prev).
 *    The request was denied at d = 0, so dA >= 1; use dA if dA < W - e.
 * B) after the rollover, at offset t' = e + d - W into the next window, where prev' = curr
 *    and curr' = 0: curr*(W - t') <= R2, R2 = (L - c)*W >= 0.
 *    curr == 0: t' = 0.  Else t' = min(W, max(0, W - floor(R2 / curr))); t' == W means the
 *    window after that, where both counts are 0 and any c <= L is admitted.
 *    d = (W - e) + t'.
 * ```
 */
function slidingRetryAfter(
  prev: number,
  curr: number,
  elapsed: number,
  limit: number,
  windowMs: number,
  cost: number,
): number {
  const toRollover = windowMs - elapsed
  const room = (limit - curr - cost) * windowMs
  if (room >= 0 && prev > 0) {
    const wait = toRollover - Math.floor(room / prev)
    if (wait < toRollover) return Math.max(1, wait)
  }
  if (curr === 0) return toRollover
  const offset = Math.floor(((limit - cost) * windowMs) / curr)
  return toRollover + Math.min(windowMs, Math.max(0, windowMs - offset))
}

// ---------------------------------------------------------------------------------------------
// Token bucket

/**
 * Token bucket: capacity `limit`, refilled continuously at `limit` tokens per `windowMs`.
 * A new key starts full. The level is kept in token-milliseconds (tokens × W) so refilling is
 * exact integer arithmetic.
 *
 * With L, W, c, t as above, cap = L*W:
 * ```
 * if no state:  level = cap, last = t
 * else:         level = state.tokenMs, last = state.lastMs
 * elapsed = t - last
 * if elapsed < 0: elapsed = 0        -- clock went back: no time elapsed, refill restarts at t
 * if elapsed > W: elapsed = W        -- after W the bucket is full anyway; bounds elapsed*L
 * level = min(cap, level + elapsed*L)
 * if c > L:               deny, retryAfter = W                  -- never admissible
 * elif level >= c*W:      level = level - c*W, allow, remaining = floor(level / W)
 * else:                   deny, retryAfter = ceil((c*W - level) / L)
 * remaining = 0 when denied
 * resetMs = ttlMs = (level < cap) ? ceil((cap - level) / L) : 0   -- time until full
 * new state = { tokenMs: level, lastMs: t }
 * ```
 * (`level / W` is the spec's `tokens`: `tokens + elapsed*L/W` is `(level + elapsed*L) / W`.)
 */
export function tokenBucket(
  state: Readonly<TokenBucketState> | undefined,
  check: LimitParams,
  nowMs: number,
): Step<TokenBucketState> {
  return objectStep(
    state,
    check,
    nowMs,
    (out, now) => tokenBucketStep(out, state?.tokenMs ?? NaN, state?.lastMs ?? NaN, now),
    (out) => ({ tokenMs: out.s0, lastMs: out.s1 }),
  )
}

/** `tokenBucket` on numbers (see `fixedWindowStep`). */
export function tokenBucketStep(
  out: StepScratch,
  stateTokenMs: number,
  stateLastMs: number,
  now: number,
): void {
  const { limit, windowMs, cost } = out
  const capacity = limit * windowMs

  let level = capacity
  if (isCount(stateTokenMs) && isTime(stateLastMs)) {
    let elapsed = now - stateLastMs
    if (elapsed < 0) elapsed = 0
    if (elapsed > windowMs) elapsed = windowMs
    level = Math.min(capacity, stateTokenMs + elapsed * limit)
  }

  let allowed = false
  let retryAfterMs = 0
  const need = cost * windowMs
  if (cost > limit) {
    retryAfterMs = windowMs
  } else if (level >= need) {
    level -= need
    allowed = true
  } else {
    // limit >= cost > 0 here (level >= 0 = need would have admitted cost 0), so no division by 0.
    retryAfterMs = Math.ceil((need - level) / limit)
  }

  out.allowed = allowed
  out.remaining = allowed ? Math.floor(level / windowMs) : 0
  out.retryAfterMs = retryAfterMs
  // limit > 0 whenever level < capacity (capacity 0 forces level 0), so no division by 0.
  out.ttlMs = level < capacity ? Math.ceil((capacity - level) / limit) : 0
  out.s0 = level
  out.s1 = now
  out.s2 = 0
}
