// Scenarios every Store must pass, as data: MemoryStore runs them here, and the Redis store
// must pass the same table (only the clock differs: the runner hands the factory a clock it
// controls, and a Redis store under test uses it in place of `TIME`).
//
// Times are milliseconds after STORE_CASE_EPOCH_MS, which is a multiple of every window used
// below, so fixed-window boundaries fall on round numbers of `atMs`.
//
// This file is plain ES2022 with no test-framework import, so any runner can use it.

import type { RateLimitCheck, RateLimitOutcome, Store } from '../types.js'

/** A multiple of every `windowMs` in the table (and a plausible present-day clock). */
export const STORE_CASE_EPOCH_MS = 1_700_000_040_000

export interface ExpectedOutcome {
  allowed: boolean
  remaining: number
  resetMs?: number
  retryAfterMs?: number
}

export interface StoreCaseStep {
  /** Clock reading for this call, relative to STORE_CASE_EPOCH_MS. May go backwards. */
  atMs: number
  /** One check, or the checks of one `consume` call. */
  check: RateLimitCheck | readonly RateLimitCheck[]
  /**
   * One outcome, or one per check evaluated: an array shorter than `check` says evaluation
   * stopped at a denial.
   */
  expect: ExpectedOutcome | readonly ExpectedOutcome[]
}

export interface StoreCase {
  name: string
  steps: readonly StoreCaseStep[]
}

/** Anything with a `consume` like Store's. */
export type StoreLike = Pick<Store, 'consume'>

/**
 * Builds an empty store reading the given clock (ms). Called once per case; a shared backend
 * (Redis) should give each store its own key prefix, or pass `keyPrefix` to `runStoreCase`.
 */
export type StoreFactory = (clock: () => number) => StoreLike | Promise<StoreLike>

export interface RunStoreCaseOptions {
  /** Prepended to every key of the case (isolates runs against a shared backend). */
  keyPrefix?: string
}

const fw = (key: string, limit: number, cost = 1, windowMs = 1000): RateLimitCheck => ({
  key,
  algorithm: 'fixedWindow',
  limit,
  windowMs,
  cost,
})
const sw = (key: string, limit: number, cost = 1, windowMs = 1000): RateLimitCheck => ({
  key,
  algorithm: 'slidingWindow',
  limit,
  windowMs,
  cost,
})
const tb = (key: string, limit: number, cost = 1, windowMs = 1000): RateLimitCheck => ({
  key,
  algorithm: 'tokenBucket',
  limit,
  windowMs,
  cost,
})
const ok = (remaining: number, resetMs: number): ExpectedOutcome => ({
  allowed: true,
  remaining,
  resetMs,
  retryAfterMs: 0,
})
const no = (retryAfterMs: number, resetMs: number): ExpectedOutcome => ({
  allowed: false,
  remaining: 0,
  resetMs,
  retryAfterMs,
})

export const storeCases: readonly StoreCase[] = [
  // ---------------------------------------------------------------------------- fixedWindow
  {
    name: 'fixedWindow: fill to the limit, deny the next, admit again after rollover',
    steps: [
      { atMs: 0, check: fw('fw', 3), expect: ok(2, 1000) },
      { atMs: 100, check: fw('fw', 3), expect: ok(1, 900) },
      { atMs: 200, check: fw('fw', 3), expect: ok(0, 800) },
      { atMs: 300, check: fw('fw', 3), expect: no(700, 700) },
      { atMs: 999, check: fw('fw', 3), expect: no(1, 1) },
      { atMs: 1000, check: fw('fw', 3), expect: ok(2, 1000) },
      // A window later than the next one: still a fresh count.
      { atMs: 5500, check: fw('fw', 3), expect: ok(2, 500) },
    ],
  },
  {
    name: 'fixedWindow: cost > 1; a denial consumes nothing',
    steps: [
      { atMs: 0, check: fw('fw', 5, 2), expect: ok(3, 1000) },
      { atMs: 10, check: fw('fw', 5, 2), expect: ok(1, 990) },
      { atMs: 20, check: fw('fw', 5, 2), expect: no(980, 980) },
      { atMs: 30, check: fw('fw', 5, 1), expect: ok(0, 970) },
    ],
  },
  {
    name: 'fixedWindow: cost > limit is never admitted and consumes nothing',
    steps: [
      // Nothing is stored for a fresh key, so there is nothing to reset.
      { atMs: 0, check: fw('fw', 3, 4), expect: no(1000, 0) },
      { atMs: 1, check: fw('fw', 3, 1), expect: ok(2, 999) },
      { atMs: 2, check: fw('fw', 3, 4), expect: no(1000, 998) },
    ],
  },
  {
    name: 'fixedWindow: clock going backwards keeps the count, lockout lasts at most a window',
    steps: [
      { atMs: 1500, check: fw('fw', 3), expect: ok(2, 500) },
      { atMs: 1500, check: fw('fw', 3), expect: ok(1, 500) },
      { atMs: 1500, check: fw('fw', 3), expect: ok(0, 500) },
      // Back into the previous window: no free reset, the count moves to the current window.
      { atMs: 900, check: fw('fw', 3), expect: no(100, 100) },
      { atMs: 1000, check: fw('fw', 3), expect: ok(2, 1000) },
    ],
  },
  // -------------------------------------------------------------------------- slidingWindow
  {
    name: 'slidingWindow: fill, deny, previous window weighted mid-window, exact retry',
    steps: [
      { atMs: 100, check: sw('sw', 4), expect: ok(3, 1900) },
      { atMs: 200, check: sw('sw', 4), expect: ok(2, 1800) },
      { atMs: 300, check: sw('sw', 4), expect: ok(1, 1700) },
      { atMs: 400, check: sw('sw', 4), expect: ok(0, 1600) },
      // 4 in this window: admissible once 4*(1000-t')+1000 <= 4000 in the next, t' = 250.
      { atMs: 500, check: sw('sw', 4), expect: no(750, 1500) },
      // Rolled over: prev = 4 weighs 4*751/1000 > 3 units: still denied, by 1 ms.
      { atMs: 1249, check: sw('sw', 4), expect: no(1, 751) },
      { atMs: 1250, check: sw('sw', 4), expect: ok(0, 1750) },
      // Half the previous window left: 4*500 + 2*1000 = 4000, exactly the limit.
      { atMs: 1500, check: sw('sw', 4), expect: ok(0, 1500) },
      // 4*400 + 3*1000 > 4000; admissible when 4*(1000-e) <= 1000, e = 750.
      { atMs: 1600, check: sw('sw', 4), expect: no(150, 1400) },
      { atMs: 1750, check: sw('sw', 4), expect: ok(0, 1250) },
      // Two windows on, both counts are gone.
      { atMs: 3100, check: sw('sw', 4), expect: ok(3, 1900) },
    ],
  },
  {
    name: 'slidingWindow: cost > 1 and remaining under weighting',
    steps: [
      { atMs: 0, check: sw('sw', 10, 3), expect: ok(7, 2000) },
      { atMs: 10, check: sw('sw', 10, 3), expect: ok(4, 1990) },
      // Next window at e = 500: prev 6 weighs 3; room for 10 - 3 - 3 = 4 more after this.
      { atMs: 1500, check: sw('sw', 10, 3), expect: ok(4, 1500) },
      // 6*100 + (3+5)*1000 = 8600 <= 10000; remaining floor((10000-600-8000)/1000) = 1.
      { atMs: 1900, check: sw('sw', 10, 5), expect: ok(1, 1100) },
      // 6*50 + (8+2)*1000 > 10000; this window is full for cost 2: wait for the rollover,
      // then 8*(1000-t') <= 8000 at t' = 0.
      { atMs: 1950, check: sw('sw', 10, 2), expect: no(50, 1050) },
    ],
  },
  {
    name: 'slidingWindow: cost > limit is never admitted',
    steps: [
      { atMs: 0, check: sw('sw', 4, 5), expect: no(2000, 0) },
      { atMs: 1, check: sw('sw', 4, 4), expect: ok(0, 1999) },
    ],
  },
  {
    name: 'slidingWindow: clock going backwards keeps the counts',
    steps: [
      { atMs: 1500, check: sw('sw', 4, 4), expect: ok(0, 1500) },
      // Back into the previous window: counts carried over; admissible 250 ms into the next.
      { atMs: 900, check: sw('sw', 4), expect: no(350, 1100) },
      { atMs: 1249, check: sw('sw', 4), expect: no(1, 751) },
      { atMs: 1250, check: sw('sw', 4), expect: ok(0, 1750) },
    ],
  },
  // ---------------------------------------------------------------------------- tokenBucket
  {
    name: 'tokenBucket: starts full, drains, refills continuously',
    steps: [
      // 4 tokens per 1000 ms: one every 250 ms.
      { atMs: 0, check: tb('tb', 4), expect: ok(3, 250) },
      { atMs: 0, check: tb('tb', 4), expect: ok(2, 500) },
      { atMs: 0, check: tb('tb', 4), expect: ok(1, 750) },
      { atMs: 0, check: tb('tb', 4), expect: ok(0, 1000) },
      { atMs: 0, check: tb('tb', 4), expect: no(250, 1000) },
      // 0.4 tokens after 100 ms.
      { atMs: 100, check: tb('tb', 4), expect: no(150, 900) },
      { atMs: 250, check: tb('tb', 4), expect: ok(0, 1000) },
      { atMs: 1000, check: tb('tb', 4), expect: ok(2, 500) },
      // Long idle: full, not more.
      { atMs: 60_000, check: tb('tb', 4), expect: ok(3, 250) },
    ],
  },
  {
    name: 'tokenBucket: fractional refill is exact',
    steps: [
      // 3 tokens per 1000 ms: one every 333.3 ms.
      { atMs: 0, check: tb('tb', 3, 3), expect: ok(0, 1000) },
      // 0.3 tokens; 0.7 more take 233.3 ms, rounded up.
      { atMs: 100, check: tb('tb', 3), expect: no(234, 900) },
      { atMs: 333, check: tb('tb', 3), expect: no(1, 667) },
      // 1.002 tokens: admitted, 0.002 left; full again in 999.3 ms, rounded up.
      { atMs: 334, check: tb('tb', 3), expect: ok(0, 1000) },
    ],
  },
  {
    name: 'tokenBucket: cost > 1 and cost > limit',
    steps: [
      { atMs: 0, check: tb('tb', 4, 3), expect: ok(1, 750) },
      { atMs: 0, check: tb('tb', 4, 3), expect: no(500, 750) },
      { atMs: 0, check: tb('tb', 4, 5), expect: no(1000, 750) },
      { atMs: 500, check: tb('tb', 4, 3), expect: ok(0, 1000) },
      // A fresh key is full: nothing to reset.
      { atMs: 0, check: tb('other', 4, 5), expect: no(1000, 0) },
    ],
  },
  {
    name: 'tokenBucket: clock going backwards refills nothing, then refills from there',
    steps: [
      { atMs: 1000, check: tb('tb', 4, 4), expect: ok(0, 1000) },
      { atMs: 500, check: tb('tb', 4), expect: no(250, 1000) },
      { atMs: 749, check: tb('tb', 4), expect: no(1, 751) },
      { atMs: 750, check: tb('tb', 4), expect: ok(0, 1000) },
    ],
  },
  // ------------------------------------------------------------------------------- general
  {
    name: 'several checks: stop at the first denial; earlier ones stay consumed',
    steps: [
      {
        atMs: 0,
        check: [fw('multi:a', 10), fw('multi:b', 1), fw('multi:c', 10)],
        expect: [ok(9, 1000), ok(0, 1000), ok(9, 1000)],
      },
      {
        atMs: 1,
        check: [fw('multi:a', 10), fw('multi:b', 1), fw('multi:c', 10)],
        expect: [ok(8, 999), no(999, 999)],
      },
      // a was consumed at 1 ms, c was not evaluated.
      {
        atMs: 2,
        check: [fw('multi:a', 10), fw('multi:c', 10)],
        expect: [ok(7, 998), ok(8, 998)],
      },
    ],
  },
  {
    name: 'several checks of different algorithms in one call',
    steps: [
      {
        atMs: 0,
        check: [tb('mix:t', 2), sw('mix:s', 1), fw('mix:f', 5)],
        expect: [ok(1, 500), ok(0, 2000), ok(4, 1000)],
      },
      { atMs: 0, check: [tb('mix:t', 2), sw('mix:s', 1)], expect: [ok(0, 1000), no(2000, 2000)] },
      { atMs: 0, check: [tb('mix:t', 2), fw('mix:f', 5)], expect: [no(500, 1000)] },
    ],
  },
  {
    name: 'independent keys do not share counters',
    steps: [
      { atMs: 0, check: fw('ind:a', 1), expect: ok(0, 1000) },
      { atMs: 0, check: fw('ind:a', 1), expect: no(1000, 1000) },
      { atMs: 0, check: fw('ind:b', 1), expect: ok(0, 1000) },
      { atMs: 0, check: sw('ind:c', 1), expect: ok(0, 2000) },
      { atMs: 0, check: tb('ind:d', 1), expect: ok(0, 1000) },
      { atMs: 0, check: tb('ind:e', 1), expect: ok(0, 1000) },
    ],
  },
  {
    name: 'longer windows and an empty call',
    steps: [
      { atMs: 0, check: [], expect: [] },
      { atMs: 30_000, check: fw('long', 2, 1, 60_000), expect: ok(1, 30_000) },
      { atMs: 59_999, check: fw('long', 2, 2, 60_000), expect: no(1, 1) },
      { atMs: 60_000, check: fw('long', 2, 2, 60_000), expect: ok(0, 60_000) },
    ],
  },
  {
    // A store that looks algorithms up in a plain object would find Object.prototype's
    // methods: an unknown name must be denied as invalid, and stop the checks after it.
    name: 'an unknown algorithm, even an Object.prototype name, is denied as invalid',
    steps: [
      ...['toString', '__proto__', 'constructor', 'hasOwnProperty'].map((algorithm) => ({
        atMs: 0,
        check: [
          { ...fw('proto:a', 5, 1), algorithm } as unknown as RateLimitCheck,
          fw('proto:b', 5, 1),
        ],
        expect: [{ allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 0 }],
      })),
      { atMs: 0, check: fw('proto:b', 5, 1), expect: ok(4, 1000) },
    ],
  },
]

function show(x: unknown): string {
  return JSON.stringify(x)
}

/**
 * Runs one case against a fresh store from `factory` and throws an Error describing the first
 * mismatch. Framework-agnostic: wrap it in the test runner's `it`.
 */
export async function runStoreCase(
  factory: StoreFactory,
  storeCase: StoreCase,
  options: RunStoreCaseOptions = {},
): Promise<void> {
  const prefix = options.keyPrefix ?? ''
  let nowMs = STORE_CASE_EPOCH_MS
  const store = await factory(() => nowMs)
  for (let i = 0; i < storeCase.steps.length; i++) {
    const step = storeCase.steps[i]
    if (step === undefined) continue
    nowMs = STORE_CASE_EPOCH_MS + step.atMs
    const many = Array.isArray(step.check)
    const checks = (many ? step.check : [step.check]) as readonly RateLimitCheck[]
    const expected = (
      Array.isArray(step.expect) ? step.expect : [step.expect]
    ) as readonly ExpectedOutcome[]
    const got: readonly RateLimitOutcome[] = await store.consume(
      checks.map((c) => ({ ...c, key: prefix + c.key })),
    )
    const where = `${storeCase.name}: step ${i} (atMs ${step.atMs})`
    if (!Array.isArray(got) || got.length !== expected.length) {
      throw new Error(`${where}: expected ${expected.length} outcome(s), got ${show(got)}`)
    }
    for (let j = 0; j < expected.length; j++) {
      const want = expected[j]
      const have = got[j]
      if (want === undefined || have === undefined) continue
      const fields = ['allowed', 'remaining', 'resetMs', 'retryAfterMs'] as const
      for (const f of fields) {
        if (want[f] !== undefined && want[f] !== have[f]) {
          throw new Error(
            `${where}, check ${j} (${show(checks[j])}): ${f} expected ${show(want[f])}, ` +
              `got ${show(have[f])} in ${show(have)}`,
          )
        }
      }
    }
  }
}
