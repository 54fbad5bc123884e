// Model test: the Lua script must give exactly the answers of core's TypeScript algorithms.
// Random consume sequences go to a MemoryStore (the model) and to a RedisStore, both on one
// test clock, and every outcome array must be identical.
//
// Two things are store mechanics, not algorithm, and the clock is steered around them:
// - Expiry. MemoryStore expires state on the test clock; Redis expires keys (PX) on its own
//   real clock. State past its TTL reads exactly like a fresh key (the algorithms guarantee
//   it, for the same limit and window), so whether a store still holds it does not matter,
//   except (a) when Redis drops a key in real time before the test clock reaches its expiry:
//   the clock then jumps to that expiry (only tiny TTLs, a few ms); and (b) when the clock
//   goes back across an expiry it already passed: a store may or may not have reclaimed the
//   key by then (MemoryStore sweeps on insert), so a backward step stops at that expiry.
// - A key stands for one limit, as in a policy (rule id and limit index are part of the key),
//   so within a run each key keeps its algorithm, limit and window; cost varies per call.
import { MemoryStore, type RateLimitCheck, type RateLimitOutcome } from '@sec/core'
import fc from 'fast-check'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../dist/index.js'
import { ioredis, nodeRedis, uniquePrefix } from './clients.js'

const ALGORITHMS = ['fixedWindow', 'slidingWindow', 'tokenBucket'] as const
/** Slack between reading the clock here and the script running on Redis. */
const REAL_SLACK_MS = 50

const keySpec = fc.record({
  algorithm: fc.constantFrom(...ALGORITHMS),
  limit: fc.integer({ min: 1, max: 20 }),
  windowMs: fc.oneof(
    fc.constantFrom(1000, 2000, 10_000, 60_000, 3_600_000),
    fc.integer({ min: 1000, max: 3_600_000 }),
  ),
})
const step = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 999 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1000, max: 120_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 120_001, max: 7_200_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -600_000, max: -1 }) },
)
const call = fc.record({
  step,
  checks: fc.array(fc.record({ key: fc.nat({ max: 3 }), cost: fc.integer({ min: 1, max: 5 }) }), {
    minLength: 1,
    maxLength: 3,
  }),
})
const scenario = fc.record({
  start: fc.integer({ min: 0, max: 7_200_000 }),
  keys: fc.array(keySpec, { minLength: 4, maxLength: 4 }),
  calls: fc.array(call, { minLength: 1, maxLength: 30, size: 'max' }),
})

let admin: Redis
const clients: Record<string, Awaited<ReturnType<typeof ioredis | typeof nodeRedis>>> = {}
const prefixes: string[] = []

beforeAll(async () => {
  admin = await ioredis()
  clients.ioredis = admin
  clients['node-redis'] = await nodeRedis()
})
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.del(...keys)
  }
  await clients['node-redis']!.quit()
  await admin.quit()
})

interface Tracked {
  /** Expiry on the test clock. */
  expiresAt: number
  ttl: number
  /** performance.now() just before the call that wrote it. */
  writtenAt: number
}

describe.each(['ioredis', 'node-redis'])('RedisStore (%s) against MemoryStore', (name) => {
  it('gives identical outcomes for random consume sequences', async () => {
    const seen = { calls: 0, allowed: 0, denied: 0, stopped: 0, back: 0, clampedBack: 0, forced: 0 }
    const algos = new Set<string>()
    const prefix = uniquePrefix(`parity-${name}`)
    prefixes.push(prefix)
    let run = 0

    await fc.assert(
      fc.asyncProperty(scenario, async ({ start, keys, calls }) => {
        // A fresh pair of stores per run: its own key prefix, its own memory.
        let now = 1_700_000_000_000 + start
        const clock = () => now
        const memory = new MemoryStore({ now: clock })
        const redis = new RedisStore({
          client: clients[name]!,
          prefix: `${prefix}${run++}:`,
          now: clock,
        })
        const tracked = new Map<number, Tracked>()

        for (let i = 0; i < calls.length; i++) {
          const { step: dt, checks: picks } = calls[i]!
          if (dt < 0) {
            // (b) never back across an expiry already passed.
            let floor = -Infinity
            for (const t of tracked.values())
              if (t.expiresAt <= now) floor = Math.max(floor, t.expiresAt)
            seen.back++
            if (now + dt < floor) seen.clampedBack++
            now = Math.max(now + dt, floor)
          } else {
            now += dt
          }
          // (a) a key Redis may already have dropped in real time: move the clock to its expiry.
          const real = performance.now()
          for (const t of tracked.values()) {
            if (now < t.expiresAt && real + REAL_SLACK_MS >= t.writtenAt + t.ttl) {
              now = t.expiresAt
              seen.forced++
            }
          }
          const checks: RateLimitCheck[] = picks.map((p) => ({
            key: `k${p.key}`,
            ...keys[p.key]!,
            cost: p.cost,
          }))
          const writtenAt = performance.now()
          const expected = memory.consume(checks)
          const actual = await redis.consume(checks)
          if (JSON.stringify(actual) !== JSON.stringify(expected)) {
            // Full context in the failure (fast-check also prints the shrunk scenario).
            expect({ call: i, now, checks, outcomes: actual }).toEqual({
              call: i,
              now,
              checks,
              outcomes: expected,
            })
          }
          expected.forEach((o: RateLimitOutcome, k) => {
            const p = picks[k]!
            if (o.resetMs > 0)
              tracked.set(p.key, { expiresAt: now + o.resetMs, ttl: o.resetMs, writtenAt })
            else tracked.delete(p.key)
            if (o.allowed) seen.allowed++
            else seen.denied++
            algos.add(checks[k]!.algorithm)
          })
          if (expected.length < checks.length) seen.stopped++
          seen.calls++
        }
      }),
      { numRuns: 100 },
    )
    console.info(`parity ${name}: ${JSON.stringify(seen)}`)
    // The runs did exercise what they claim to.
    expect(algos).toEqual(new Set(ALGORITHMS))
    expect(seen.allowed).toBeGreaterThan(100)
    expect(seen.denied).toBeGreaterThan(100)
    expect(seen.stopped).toBeGreaterThan(10)
    expect(seen.back).toBeGreaterThan(10)
  }, 60_000)
})
