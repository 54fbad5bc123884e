// In-process rate-limit store. It runs the algorithms of ../ratelimit/algorithms.ts on this
// process's clock and answers synchronously: JavaScript runs one `consume` to completion, so a
// call is atomic without locks.
//
// Memory is bounded by `maxKeys` and laid out so that a million keys stay small: one
// Map<string, slot> entry per key (the key string plus an integer), and the state in shared
// typed-array columns indexed by slot, instead of one object per key.

import {
  KEEP_STATE,
  fixedWindow,
  invalidOutcome,
  normalizeNow,
  slidingWindow,
  tokenBucket,
} from '../ratelimit/algorithms.js'
import type { Step } from '../ratelimit/algorithms.js'
import type { RateLimitCheck, RateLimitOutcome, Store } from '../types.js'

export interface MemoryStoreOptions {
  /**
   * Most keys held at once (default 1,000,000). When a new key would exceed it, expired keys
   * are reclaimed first, then the oldest-inserted key is evicted (its counter starts over).
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

// Algorithm tag per slot. 0 marks a free slot. Column use per algorithm:
//   fixedWindow:   s0 = windowStart, s1 = count
//   slidingWindow: s0 = windowStart, s1 = prev, s2 = curr
//   tokenBucket:   s0 = tokenMs,     s1 = lastMs
// Free slots chain through s0 (the next free slot, -1 ends the list).
const FIXED = 1
const SLIDING = 2
const TOKEN = 3

type EntryCursor = Iterator<[string, number]>

function describe(x: unknown): string {
  return typeof x === 'number' ? String(x) : typeof x
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

  /** key -> slot. Map order is insertion order, which is also the eviction order. */
  #slots = new Map<string, number>()
  #capacity = 0
  #used = 0 // slots ever handed out (high-water mark); slots >= #used are untouched
  #freeHead = -1
  #algo = new Uint8Array(0)
  #expiresAt = new Float64Array(0)
  #s0 = new Float64Array(0)
  #s1 = new Float64Array(0)
  #s2 = new Float64Array(0)

  // Live Map iterators. The spec makes a Map iterator skip deleted entries and reach entries
  // added after it was created, so a persistent cursor walks the Map in O(1) amortised per
  // step, where a fresh `keys().next()` would rescan the holes deletions leave behind.
  // Evict cursor: every entry before it has been evicted, so its next entry is the oldest.
  #evictCursor: EntryCursor | undefined
  // Sweep cursor: goes round the Map looking for expired entries.
  #sweepCursor: EntryCursor | undefined

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
    this.#evictCursor = undefined
    this.#sweepCursor = undefined
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
    const outcomes: RateLimitOutcome[] = []
    if (!Array.isArray(checks)) return outcomes
    const clock = this.#clock
    const now = normalizeNow(clock())
    for (let i = 0; i < checks.length; i++) {
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
    const found = this.#slots.get(key)
    // State counts only if it was written by the same algorithm and has not expired; anything
    // else reads as a fresh key (and is overwritten or deleted below).
    let slot = -1
    let fresh = true
    if (found !== undefined) {
      slot = found
      fresh = (this.#expiresAt[slot] ?? 0) <= now
    }

    switch (check.algorithm) {
      case 'fixedWindow': {
        const live = !fresh && this.#algo[slot] === FIXED
        const step = fixedWindow(
          live ? { windowStart: this.#s0[slot] ?? 0, count: this.#s1[slot] ?? 0 } : undefined,
          check,
          now,
        )
        const at = this.#commit(key, slot, FIXED, step, now)
        if (at >= 0 && step.state !== undefined) {
          this.#s0[at] = step.state.windowStart
          this.#s1[at] = step.state.count
        }
        return step.outcome
      }
      case 'slidingWindow': {
        const live = !fresh && this.#algo[slot] === SLIDING
        const step = slidingWindow(
          live
            ? {
                windowStart: this.#s0[slot] ?? 0,
                prev: this.#s1[slot] ?? 0,
                curr: this.#s2[slot] ?? 0,
              }
            : undefined,
          check,
          now,
        )
        const at = this.#commit(key, slot, SLIDING, step, now)
        if (at >= 0 && step.state !== undefined) {
          this.#s0[at] = step.state.windowStart
          this.#s1[at] = step.state.prev
          this.#s2[at] = step.state.curr
        }
        return step.outcome
      }
      case 'tokenBucket': {
        const live = !fresh && this.#algo[slot] === TOKEN
        const step = tokenBucket(
          live ? { tokenMs: this.#s0[slot] ?? 0, lastMs: this.#s1[slot] ?? 0 } : undefined,
          check,
          now,
        )
        const at = this.#commit(key, slot, TOKEN, step, now)
        if (at >= 0 && step.state !== undefined) {
          this.#s0[at] = step.state.tokenMs
          this.#s1[at] = step.state.lastMs
        }
        return step.outcome
      }
      default:
        return invalidOutcome()
    }
  }

  /**
   * Does what `step.ttlMs` asks: keep (returns -1), delete (returns -1) or store, in which case
   * it returns the slot whose state columns the caller fills.
   */
  #commit(key: string, slot: number, tag: number, step: Step<unknown>, now: number): number {
    const ttlMs = step.ttlMs
    if (ttlMs === KEEP_STATE) return -1
    if (ttlMs <= 0 || step.state === undefined) {
      // Fresh-equivalent state: holding it would only cost memory.
      if (slot >= 0) this.#delete(key, slot)
      return -1
    }
    const at = slot >= 0 ? slot : this.#insert(key, now)
    this.#algo[at] = tag
    this.#expiresAt[at] = now + ttlMs
    return at
  }

  #insert(key: string, now: number): number {
    this.#sweep(now, SWEEP_PER_INSERT)
    if (this.#slots.size >= this.maxKeys) {
      this.#sweep(now, SWEEP_WHEN_FULL)
      while (this.#slots.size >= this.maxKeys) this.#evictOldest()
    } else {
      // Not full: drop the evict cursor so it does not pin an old Map table across rehashes;
      // it is rebuilt (from the oldest entry) the next time the store fills up.
      this.#evictCursor = undefined
    }
    const slot = this.#allocSlot()
    // Store a copy of the key: a key built from a slice of a large request string (a header)
    // can otherwise keep that whole string alive for as long as the entry lives, and the
    // memory bound would no longer hold. The JSON round trip yields a new string made from
    // the key's characters only. It costs ~0.2 µs, once per new key.
    this.#slots.set(JSON.parse(JSON.stringify(key)) as string, slot)
    return slot
  }

  #delete(key: string, slot: number): void {
    this.#slots.delete(key)
    this.#algo[slot] = 0
    this.#s0[slot] = this.#freeHead
    this.#freeHead = slot
  }

  /** Looks at up to `budget` entries after the sweep cursor and reclaims the expired ones. */
  #sweep(now: number, budget: number): void {
    const n = Math.min(budget, this.#slots.size)
    for (let i = 0; i < n; i++) {
      let cursor = this.#sweepCursor
      let r = cursor?.next()
      if (r === undefined || r.done === true) {
        // End of a round (or first use): start the next round at the oldest entry.
        cursor = this.#slots.entries()
        this.#sweepCursor = cursor
        r = cursor.next()
        if (r.done === true) return
      }
      const [key, slot] = r.value
      if ((this.#expiresAt[slot] ?? 0) <= now) this.#delete(key, slot)
    }
  }

  #evictOldest(): void {
    let r = this.#evictCursor?.next()
    if (r === undefined || r.done === true) {
      this.#evictCursor = this.#slots.entries()
      r = this.#evictCursor.next()
      if (r.done === true) return
    }
    const [key, slot] = r.value
    this.#delete(key, slot)
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
    const grow = <T extends Float64Array | Uint8Array>(old: T, next: T): T => {
      next.set(old.subarray(0, this.#used))
      return next
    }
    this.#algo = grow(this.#algo, new Uint8Array(capacity))
    this.#expiresAt = grow(this.#expiresAt, new Float64Array(capacity))
    this.#s0 = grow(this.#s0, new Float64Array(capacity))
    this.#s1 = grow(this.#s1, new Float64Array(capacity))
    this.#s2 = grow(this.#s2, new Float64Array(capacity))
    this.#capacity = capacity
  }
}
