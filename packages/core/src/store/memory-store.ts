// In-process rate-limit store. It runs the algorithms of ../ratelimit/algorithms.ts on this
// process's clock and answers synchronously: JavaScript runs one `consume` to completion, so a
// call is atomic without locks.
//
// Memory is bounded by `maxKeys` and laid out so that a million keys stay small: one
// Map<string, slot> entry per key (the key string plus an integer), the state in shared
// typed-array columns indexed by slot, and one array slot -> key, instead of one object per key.
//
// Eviction, when full, must not hand an attacker a reset: evicting a counter gives its owner back
// what it had spent. So the store keeps, per key, how many requests' worth of its limit it has
// spent (a denied key counts one more than its limit), and evicts the key that has spent least
// among a random sample of EVICTION_SAMPLE keys. A flood of fresh keys (1 request each) then only
// displaces other keys that have spent about as little; a counter that has spent u survives until
// every other key of a sample has spent at least u, i.e. until the attacker has raised most of
// the store to u requests per key. See the README (MemoryStore) for what this trades away.

import {
  fixedWindowStep,
  invalidOutcome,
  newStepScratch,
  normalizeInto,
  normalizeNow,
  outcomeOf,
  slidingWindowStep,
  tokenBucketStep,
} from '../ratelimit/algorithms.js'
import type { RateLimitCheck, RateLimitOutcome, Store } from '../types.js'

export interface MemoryStoreOptions {
  /**
   * Most keys held at once (default 1,000,000). When a new key would exceed it, expired keys
   * are reclaimed first; then, of a random sample of 16 keys, the one that has spent least of
   * its limit is evicted (its counter starts over). Keys near or over their limit are kept.
   */
  maxKeys?: number
  /** Clock in milliseconds (default `Date.now`); inject one in tests. */
  now?: () => number
}

const DEFAULT_MAX_KEYS = 1_000_000
// V8 refuses Maps with more than 2^24 entries (RangeError at insert time); refuse up front.
const MAX_MAX_KEYS = 2 ** 24
// Columns start small and double, so a store that sees few keys stays small.
const INITIAL_CAPACITY = 1024
// Expired entries looked at on every insert: enough to keep the store near its live size
// without making any one request pay for a full scan.
const SWEEP_PER_INSERT = 2
// Expired entries looked at, when full, before evicting a live key.
const SWEEP_WHEN_FULL = 32
// Keys sampled to choose the one to evict. For a counter that has spent u to be evicted, all the
// others in its sample must have spent at least u: with a fraction f of the store at u or more,
// that happens with probability f^15 per sample holding it. 16 keeps that negligible unless
// nearly the whole store has spent as much, for 16 reads of typed arrays per eviction.
const EVICTION_SAMPLE = 16

// Algorithm tag per slot. 0 marks a free slot. Column use per algorithm:
//   fixedWindow:   s0 = windowStart, s1 = count
//   slidingWindow: s0 = windowStart, s1 = prev, s2 = curr
//   tokenBucket:   s0 = tokenMs,     s1 = lastMs
// Free slots chain through s0 (the next free slot, -1 ends the list).
const FIXED = 1
const SLIDING = 2
const TOKEN = 3

/** The column tag of an algorithm name, 0 for anything else. */
function tagOf(algorithm: unknown): number {
  return algorithm === 'fixedWindow'
    ? FIXED
    : algorithm === 'slidingWindow'
      ? SLIDING
      : algorithm === 'tokenBucket'
        ? TOKEN
        : 0
}

/**
 * Parameters in, result out, for every step of every store: `consume` runs to completion
 * synchronously, so one scratch serves all (see `StepScratch`).
 */
const STEP = newStepScratch()

function describe(x: unknown): string {
  return typeof x === 'number' ? String(x) : typeof x
}

/**
 * Requests' worth of its limit a key has spent, as of this outcome: what evicting it would give
 * back. In requests rather than units or a fraction of the limit, so a flood cannot buy a high
 * value cheaply through a rule with a small limit or a large cost. A denied key counts one more
 * than its limit: it is asking for more, and must outrank a key that merely used it all.
 */
function spentOf(check: RateLimitCheck, outcome: RateLimitOutcome): number {
  // Only reached for a check the algorithm accepted: limit and cost are finite and >= 0. A
  // fractional limit (floored by the algorithm) shifts the value by less than one unit: not
  // flooring here, and dividing only when a request costs more than 1, keeps this cheap on the
  // hot path (every request to an existing key runs it).
  const units = check.limit - outcome.remaining // remaining is 0 when denied
  const cost = check.cost
  const spent = cost > 1 ? units / cost : units
  return outcome.allowed ? spent : spent + 1
}

/** A non-zero 32-bit seed, from the platform's CSPRNG where there is one. */
function randomSeed(): number {
  const seed = new Uint32Array(1)
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => unknown } })
    .crypto
  if (typeof crypto?.getRandomValues === 'function') crypto.getRandomValues(seed)
  else seed[0] = Math.floor(Math.random() * 2 ** 32)
  return seed[0] || 1
}

/**
 * Rate-limit store in this process's memory. `consume` returns an array, never a Promise.
 * Outcome objects are fresh on every call: callers may keep them.
 */
export class MemoryStore implements Store {
  readonly maxKeys: number
  // Memory cannot be unreachable or slow, so neither is set; declared (without emitting
  // anything) so that code holding a `Store | MemoryStore` can read them.
  declare readonly failMode?: 'open' | 'closed'
  declare readonly timeoutMs?: number
  readonly #clock: () => number

  /** key -> slot. */
  #slots = new Map<string, number>()
  /** slot -> key ('' for a free slot): lets sweeps and evictions walk slots, not the Map. */
  #keys: string[] = []
  #capacity = 0
  #used = 0 // slots ever handed out (high-water mark); slots >= #used are untouched
  #freeHead = -1
  #algo = new Uint8Array(0)
  #expiresAt = new Float64Array(0)
  #s0 = new Float64Array(0)
  #s1 = new Float64Array(0)
  #s2 = new Float64Array(0)
  /** Requests' worth of its limit each key had spent at its last update (see `spentOf`). */
  #spent = new Float32Array(0)
  /** Next slot the sweep looks at: it goes round the slots looking for expired keys. */
  #sweepAt = 0
  /**
   * xorshift32 state for eviction samples. A private generator seeded from the CSPRNG, not
   * Math.random: an app may expose Math.random's output (ids), from which its state can be
   * recovered, and an attacker who could predict the sample could aim evictions.
   */
  #random = randomSeed()

  constructor(options: MemoryStoreOptions = {}) {
    const opts: MemoryStoreOptions = options ?? {}
    // Only `undefined` means "default": null or any other stray value is a mistake to report.
    const maxKeys = opts.maxKeys === undefined ? DEFAULT_MAX_KEYS : opts.maxKeys
    if (typeof maxKeys !== 'number' || !Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new TypeError(
        `MemoryStore: maxKeys must be a positive integer, got ${describe(maxKeys)}`,
      )
    }
    if (maxKeys > MAX_MAX_KEYS) {
      throw new RangeError(`MemoryStore: maxKeys must be at most ${MAX_MAX_KEYS}, got ${maxKeys}`)
    }
    const clock = opts.now === undefined ? Date.now : opts.now
    if (typeof clock !== 'function') {
      throw new TypeError(`MemoryStore: now must be a function returning milliseconds`)
    }
    this.maxKeys = maxKeys
    this.#clock = clock
    this.#allocate(Math.min(INITIAL_CAPACITY, maxKeys))
  }

  /** Keys currently held (live, plus expired ones not yet reclaimed). */
  get size(): number {
    return this.#slots.size
  }

  /** Forgets every key and gives the memory back. */
  clear(): void {
    this.#slots = new Map()
    this.#keys = []
    this.#sweepAt = 0
    this.#used = 0
    this.#freeHead = -1
    this.#allocate(Math.min(INITIAL_CAPACITY, this.maxKeys))
  }

  /**
   * Applies the checks in order on one reading of the clock and stops after the first denial:
   * checks before it stay consumed, checks after it are not evaluated. Never throws on odd
   * input: a check that is not an object, has a non-string key, an unknown algorithm or
   * unusable numbers is denied (see `invalidOutcome`), and a non-array gives `[]`.
   */
  consume(checks: readonly RateLimitCheck[]): RateLimitOutcome[] {
    if (!Array.isArray(checks) || checks.length === 0) return []
    const clock = this.#clock
    const now = normalizeNow(clock())
    const first = this.#apply(checks[0], now)
    // `[first]` holds one slot; `[]` grown by push would reserve 17 for the usual one check.
    const outcomes: RateLimitOutcome[] = [first]
    if (!first.allowed) return outcomes
    for (let i = 1; i < checks.length; i++) {
      const outcome = this.#apply(checks[i], now)
      outcomes.push(outcome)
      if (!outcome.allowed) break
    }
    return outcomes
  }

  #apply(check: RateLimitCheck | undefined, now: number): RateLimitOutcome {
    if (typeof check !== 'object' || check === null) return invalidOutcome()
    const key = check.key
    if (typeof key !== 'string') return invalidOutcome()
    const tag = tagOf(check.algorithm)
    // An invalid check touches nothing (the algorithms' KEEP_STATE).
    if (tag === 0 || !normalizeInto(check, STEP)) return invalidOutcome()
    const found = this.#slots.get(key)
    // State counts only if it was written by the same algorithm and has not expired; anything
    // else reads as a fresh key (and is overwritten or deleted below).
    const slot = found ?? -1
    const live =
      found !== undefined && (this.#expiresAt[found] ?? 0) > now && this.#algo[found] === tag
    const s0 = live ? (this.#s0[slot] ?? NaN) : NaN
    const s1 = live ? (this.#s1[slot] ?? NaN) : NaN
    if (tag === FIXED) fixedWindowStep(STEP, s0, s1, now)
    else if (tag === SLIDING)
      slidingWindowStep(STEP, s0, s1, live ? (this.#s2[slot] ?? NaN) : NaN, now)
    else tokenBucketStep(STEP, s0, s1, now)

    const outcome = outcomeOf(STEP)
    const ttlMs = STEP.ttlMs
    if (ttlMs <= 0) {
      // Fresh-equivalent state: holding it would only cost memory.
      if (slot >= 0) this.#delete(key, slot)
      return outcome
    }
    const at = slot >= 0 ? slot : this.#insert(key, now)
    this.#algo[at] = tag
    this.#expiresAt[at] = now + ttlMs
    this.#s0[at] = STEP.s0
    this.#s1[at] = STEP.s1
    this.#s2[at] = STEP.s2
    // Last: it reads the check again, and a check with getters could run another step.
    this.#spent[at] = spentOf(check, outcome)
    return outcome
  }

  #insert(key: string, now: number): number {
    this.#sweep(now, SWEEP_PER_INSERT)
    if (this.#slots.size >= this.maxKeys) {
      this.#sweep(now, SWEEP_WHEN_FULL)
      while (this.#slots.size >= this.maxKeys) this.#evict(now)
    }
    const slot = this.#allocSlot()
    // Store a copy of the key: a key built from a slice of a large request string (a header)
    // can otherwise keep that whole string alive for as long as the entry lives, and the
    // memory bound would no longer hold. The JSON round trip yields a new string made from
    // the key's characters only. It costs ~0.2 µs, once per new key.
    const copy = JSON.parse(JSON.stringify(key)) as string
    this.#slots.set(copy, slot)
    this.#keys[slot] = copy
    return slot
  }

  #delete(key: string, slot: number): void {
    this.#slots.delete(key)
    this.#keys[slot] = ''
    this.#algo[slot] = 0
    this.#s0[slot] = this.#freeHead
    this.#freeHead = slot
  }

  /** Looks at the next `budget` slots after the sweep cursor and reclaims expired keys. */
  #sweep(now: number, budget: number): void {
    const used = this.#used
    const n = Math.min(budget, used)
    let at = this.#sweepAt
    for (let i = 0; i < n; i++) {
      if (at >= used) at = 0
      if (this.#algo[at] !== 0 && (this.#expiresAt[at] ?? 0) <= now) {
        this.#delete(this.#keys[at] ?? '', at)
      }
      at++
    }
    this.#sweepAt = at
  }

  /**
   * Frees one slot of a full store. Samples EVICTION_SAMPLE slots (every slot, in a store that
   * small) and deletes an expired key if it meets one, else the live key that has spent least;
   * of equals, the one expiring first, which gives back its budget soonest anyway.
   */
  #evict(now: number): void {
    const used = this.#used
    const everySlot = used <= EVICTION_SAMPLE
    const n = everySlot ? used : EVICTION_SAMPLE
    let victim = -1
    let victimSpent = Infinity
    let victimExpiry = Infinity
    for (let i = 0; i < n; i++) {
      const slot = everySlot ? i : this.#randomSlot(used)
      // Full means every slot below #used holds a key; a free one would be room already.
      if (this.#algo[slot] === 0) continue
      const expiresAt = this.#expiresAt[slot] ?? 0
      if (expiresAt <= now) {
        victim = slot
        break
      }
      const spent = this.#spent[slot] ?? 0
      if (spent < victimSpent || (spent === victimSpent && expiresAt < victimExpiry)) {
        victim = slot
        victimSpent = spent
        victimExpiry = expiresAt
      }
    }
    if (victim >= 0) this.#delete(this.#keys[victim] ?? '', victim)
    else this.#evictAny()
  }

  /**
   * Unreachable while `#evict`'s invariant holds (a full store has no free slot below #used);
   * kept so that a broken invariant costs an arbitrary eviction, never an endless loop.
   */
  #evictAny(): void {
    const first = this.#slots.entries().next()
    if (first.done !== true) this.#delete(first.value[0], first.value[1])
  }

  /** A slot in [0, n), uniformly (to within n / 2^32). */
  #randomSlot(n: number): number {
    let x = this.#random
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.#random = x
    return Math.floor(((x >>> 0) / 2 ** 32) * n)
  }

  #allocSlot(): number {
    if (this.#freeHead >= 0) {
      const slot = this.#freeHead
      this.#freeHead = this.#s0[slot] ?? -1
      return slot
    }
    if (this.#used === this.#capacity) {
      // Only reached with fewer than maxKeys slots in use, so capacity < maxKeys here.
      this.#allocate(Math.min(this.maxKeys, this.#capacity * 2))
    }
    return this.#used++
  }

  /** (Re)allocates the columns at `capacity`, keeping the first `#used` slots. */
  #allocate(capacity: number): void {
    const grow = <T extends Float64Array | Float32Array | Uint8Array>(old: T, next: T): T => {
      next.set(old.subarray(0, this.#used))
      return next
    }
    const keys = new Array<string>(capacity).fill('')
    for (let i = 0; i < this.#used; i++) keys[i] = this.#keys[i] ?? ''
    this.#keys = keys
    this.#algo = grow(this.#algo, new Uint8Array(capacity))
    this.#expiresAt = grow(this.#expiresAt, new Float64Array(capacity))
    this.#s0 = grow(this.#s0, new Float64Array(capacity))
    this.#s1 = grow(this.#s1, new Float64Array(capacity))
    this.#s2 = grow(this.#s2, new Float64Array(capacity))
    this.#spent = grow(this.#spent, new Float32Array(capacity))
    this.#capacity = capacity
  }
}
