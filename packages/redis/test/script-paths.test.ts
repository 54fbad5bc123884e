// The rate-limit script answers a call of one check (the common one) by returning that check's
// outcome directly, and a call of several checks by building the reply in a loop (see
// src/rate-limit.lua.ts). Each algorithm goes through the same steps, the clock going back
// among them, three ways: alone, after another check, and before it. Every step's outcome is
// the one worked out by hand from core's algorithms (and MemoryStore gives the same), and the
// state written is the same bytes whichever way the check came.
import {
  MemoryStore,
  type RateLimitAlgorithm,
  type RateLimitCheck,
  type RateLimitOutcome,
} from '@sec/core'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../dist/index.js'
import { ioredis, uniquePrefix } from './clients.js'
import { awayFromWindowEnd, redisNow } from './flood-helpers.js'
import { unpackState } from './state.js'

const W = 60_000
/** A multiple of every window here: window starts are T0 + k·windowMs. */
const T0 = 28_333_333 * W

interface Step {
  /** Clock, relative to T0. */
  at: number
  cost: number
  outcome: RateLimitOutcome
  /** The stored fields after the step (see test/state.ts). */
  state: number[]
}
const allow = (remaining: number, resetMs: number): RateLimitOutcome => ({
  allowed: true,
  remaining,
  resetMs,
  retryAfterMs: 0,
})
const deny = (resetMs: number, retryAfterMs: number): RateLimitOutcome => ({
  allowed: false,
  remaining: 0,
  resetMs,
  retryAfterMs,
})

/** Name, algorithm, its code in the stored state, limit, windowMs, steps. */
const scenarios: [string, RateLimitAlgorithm, number, number, number, Step[]][] = [
  [
    'fixedWindow',
    'fixedWindow',
    1,
    3,
    W,
    [
      { at: 30_000, cost: 1, outcome: allow(2, 30_000), state: [T0, 1] },
      { at: 90_000, cost: 2, outcome: allow(1, 30_000), state: [T0 + W, 2] },
      // Back into the first window: the count of 2 is kept, relabelled to that window.
      { at: 54_000, cost: 2, outcome: deny(6_000, 6_000), state: [T0, 2] },
      { at: 57_000, cost: 1, outcome: allow(0, 3_000), state: [T0, 3] },
      // The relabelled count ends with its window.
      { at: 60_000, cost: 3, outcome: allow(0, 60_000), state: [T0 + W, 3] },
    ],
  ],
  [
    'slidingWindow',
    'slidingWindow',
    2,
    4,
    W,
    [
      { at: 30_000, cost: 3, outcome: allow(1, 90_000), state: [T0, 0, 3] },
      { at: 75_000, cost: 1, outcome: allow(0, 105_000), state: [T0 + W, 3, 1] },
      // Back into the first window: both counts kept; admissible once the window rolls.
      { at: 45_000, cost: 3, outcome: deny(75_000, 15_000), state: [T0, 3, 1] },
      { at: 50_000, cost: 2, outcome: allow(0, 70_000), state: [T0, 3, 3] },
      { at: 60_000, cost: 1, outcome: allow(0, 120_000), state: [T0 + W, 3, 1] },
      // Admissible within this window, once the previous one weighs less.
      { at: 61_000, cost: 1, outcome: deny(119_000, 19_000), state: [T0 + W, 3, 1] },
    ],
  ],
  [
    'tokenBucket',
    'tokenBucket',
    3,
    4,
    W,
    [
      { at: 1_000, cost: 3, outcome: allow(1, 45_000), state: [60_000, T0 + 1_000] },
      { at: 11_000, cost: 2, outcome: deny(35_000, 5_000), state: [100_000, T0 + 11_000] },
      // Back 5 s: nothing refills, and refilling restarts from the earlier time.
      { at: 6_000, cost: 1, outcome: allow(0, 50_000), state: [40_000, T0 + 6_000] },
      { at: 21_000, cost: 1, outcome: allow(0, 50_000), state: [40_000, T0 + 21_000] },
      { at: 1_000_000, cost: 4, outcome: allow(0, 60_000), state: [0, T0 + 1_000_000] },
      { at: 990_000, cost: 1, outcome: deny(60_000, 15_000), state: [0, T0 + 990_000] },
    ],
  ],
  [
    // The time to wait after the rollover, (limit - cost)·W / curr short of W, would be
    // negative here: it is 0, the request fits right at the rollover.
    'slidingWindow, a previous count larger than the window',
    'slidingWindow',
    2,
    100_000,
    10_000,
    [
      { at: 1_000, cost: 40_000, outcome: allow(60_000, 19_000), state: [T0, 0, 40_000] },
      {
        at: 12_000,
        cost: 10_000,
        outcome: allow(58_000, 18_000),
        state: [T0 + 10_000, 40_000, 10_000],
      },
      {
        at: 13_000,
        cost: 89_997,
        outcome: deny(17_000, 7_000),
        state: [T0 + 10_000, 40_000, 10_000],
      },
      // Back 500 ms, in the same window.
      { at: 12_500, cost: 1, outcome: allow(59_999, 17_500), state: [T0 + 10_000, 40_000, 10_001] },
    ],
  ],
]

/** Always admitted: the other check of a call. */
const companion: RateLimitCheck = {
  key: 'companion',
  algorithm: 'fixedWindow',
  limit: 1_000_000_000,
  windowMs: W,
  cost: 1,
}
const WAYS = ['alone', 'after another check', 'before another check'] as const
type Way = (typeof WAYS)[number]
const callOf = (way: Way, check: RateLimitCheck): RateLimitCheck[] =>
  way === 'alone'
    ? [check]
    : way === 'after another check'
      ? [companion, check]
      : [check, companion]

let admin: Redis
const prefixes: string[] = []

beforeAll(async () => {
  admin = await ioredis()
})
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.del(...keys)
  }
  await admin.quit()
})

describe.each(scenarios)('%s', (_name, algorithm, code, limit, windowMs, steps) => {
  it('one check and several checks: same outcomes, same state, the clock going back', async () => {
    let now = T0
    const clock = () => now
    const ways = WAYS.map((way) => {
      const prefix = uniquePrefix(`paths-${algorithm}`)
      prefixes.push(prefix)
      return {
        way,
        redis: new RedisStore({ client: admin, prefix, now: clock }),
        memory: new MemoryStore({ now: clock }),
        key: `${prefix}{k}`,
      }
    })
    let back = 0
    for (const [i, step] of steps.entries()) {
      if (T0 + step.at < now) back++
      now = T0 + step.at
      const check: RateLimitCheck = { key: 'k', algorithm, limit, windowMs, cost: step.cost }
      const stored: Buffer[] = []
      for (const { way, redis, memory, key } of ways) {
        const checks = callOf(way, check)
        const outcomes = await redis.consume(checks)
        const context = { step: i, way }
        expect({ ...context, outcomes }).toEqual({ ...context, outcomes: memory.consume(checks) })
        const mine = way === 'after another check' ? outcomes[1] : outcomes[0]
        expect({ ...context, outcome: mine }).toEqual({ ...context, outcome: step.outcome })
        if (way === 'after another check') expect(outcomes[0]!.allowed).toBe(true)
        // Evaluation stops at the first denial.
        if (way === 'before another check')
          expect(outcomes).toHaveLength(step.outcome.allowed ? 2 : 1)
        const raw = (await admin.getBuffer(key))!
        expect(unpackState(raw), `step ${i}, ${way}`).toEqual({
          algorithm: code,
          fields: step.state,
        })
        const ttl = await admin.pttl(key)
        expect(ttl).toBeGreaterThan(step.outcome.resetMs - 5_000)
        expect(ttl).toBeLessThanOrEqual(step.outcome.resetMs)
        stored.push(raw)
      }
      expect(stored[1]).toEqual(stored[0])
      expect(stored[2]).toEqual(stored[0])
    }
    expect(back).toBeGreaterThan(0)
  })
})

describe("on Redis's clock, a window's counter expires at the window's end", () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  it.each([
    ['fixedWindow', 0],
    ['slidingWindow', 1],
  ] as const)(
    '%s: every write in the window leaves the same expiry (ws + %i more windows + W)',
    async (algorithm, extraWindows) => {
      const windowMs = 3_600_000
      const prefix = uniquePrefix(`expiry-${algorithm}`)
      prefixes.push(prefix)
      const store = new RedisStore({ client: admin, prefix })
      const check: RateLimitCheck = { key: 'k', algorithm, limit: 100, windowMs, cost: 1 }
      // All three writes in one window: none of them near its end.
      await awayFromWindowEnd(admin, windowMs, 10_000)
      const now = await redisNow(admin)
      const end = now - (now % windowMs) + (extraWindows + 1) * windowMs
      for (let i = 0; i < 3; i++) {
        expect((await store.consume([check]))[0]!.allowed).toBe(true)
        const at = Number(await admin.call('PEXPIRETIME', `${prefix}{k}`))
        // Redis sets an expiry on its own command-time snapshot, up to 1 ms before TIME's.
        expect(at).toBeGreaterThanOrEqual(end - 1)
        expect(at).toBeLessThanOrEqual(end)
        await sleep(5)
      }
    },
  )

  it('a counter that lost its TTL gets one back in a later window', async () => {
    const windowMs = 200
    const prefix = uniquePrefix('expiry-persist')
    prefixes.push(prefix)
    const store = new RedisStore({ client: admin, prefix })
    const check: RateLimitCheck = {
      key: 'k',
      algorithm: 'fixedWindow',
      limit: 100,
      windowMs,
      cost: 1,
    }
    await store.consume([check])
    expect(await admin.persist(`${prefix}{k}`)).toBe(1)
    expect(await admin.pttl(`${prefix}{k}`)).toBe(-1)
    await sleep(windowMs + 10)
    const [outcome] = await store.consume([check])
    expect(outcome).toMatchObject({ allowed: true, remaining: 99 }) // a fresh window
    const ttl = await admin.pttl(`${prefix}{k}`)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(windowMs)
  })
})
