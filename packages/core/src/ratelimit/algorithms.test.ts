import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  KEEP_STATE,
  fixedWindow,
  normalizeLimit,
  normalizeNow,
  slidingWindow,
  tokenBucket,
} from './algorithms.js'
import type { LimitParams, Step } from './algorithms.js'
import type { RateLimitOutcome } from '../types.js'

// One algorithm seen generically, so the properties below run over all three.
type Algo = (state: unknown, check: LimitParams, now: number) => Step<unknown>
const algorithms: [string, Algo][] = [
  ['fixedWindow', fixedWindow as Algo],
  ['slidingWindow', slidingWindow as Algo],
  ['tokenBucket', tokenBucket as Algo],
]

/** Applies requests in order, returning the state a store would hold afterwards. */
function run(
  algo: Algo,
  limit: number,
  windowMs: number,
  requests: readonly { at: number; cost: number }[],
): { state: unknown; outcomes: RateLimitOutcome[] } {
  let state: unknown
  const outcomes: RateLimitOutcome[] = []
  for (const r of requests) {
    const step = algo(state, { limit, windowMs, cost: r.cost }, r.at)
    if (step.ttlMs > 0) state = step.state
    else if (step.ttlMs === 0) state = undefined
    outcomes.push(step.outcome)
  }
  return { state, outcomes }
}

const params = fc.record({
  limit: fc.integer({ min: 0, max: 12 }),
  windowMs: fc.integer({ min: 1, max: 40 }),
})
// Requests at increasing times (deltas), starting at an arbitrary clock value.
const history = fc.record({
  start: fc.integer({ min: 0, max: 10_000 }),
  steps: fc.array(
    fc.record({ delta: fc.integer({ min: 0, max: 60 }), cost: fc.integer({ min: 0, max: 6 }) }),
    { maxLength: 25 },
  ),
})
// The same, but the clock may also jump backwards.
const jumpyHistory = fc.record({
  start: fc.integer({ min: 0, max: 10_000 }),
  steps: fc.array(
    fc.record({ delta: fc.integer({ min: -80, max: 60 }), cost: fc.integer({ min: 0, max: 6 }) }),
    { maxLength: 25 },
  ),
})
function times(h: { start: number; steps: { delta: number; cost: number }[] }) {
  let at = h.start
  return h.steps.map((s) => ({ at: (at += s.delta), cost: s.cost }))
}

describe('normalizeLimit / normalizeNow', () => {
  it('rounds the strict way', () => {
    expect(normalizeLimit({ limit: 2.9, windowMs: 999.1, cost: 1.1 })).toEqual({
      limit: 2,
      windowMs: 1000,
      cost: 2,
    })
    expect(normalizeLimit({ limit: 0, windowMs: 0.5, cost: 0 })).toEqual({
      limit: 0,
      windowMs: 1,
      cost: 0,
    })
  })

  it('rejects what cannot be evaluated', () => {
    const bad: unknown[] = [NaN, Infinity, -Infinity, -1, '5', null, undefined]
    for (const b of bad) {
      expect(normalizeLimit({ limit: b as number, windowMs: 1000, cost: 1 })).toBeUndefined()
      expect(normalizeLimit({ limit: 5, windowMs: b as number, cost: 1 })).toBeUndefined()
      expect(normalizeLimit({ limit: 5, windowMs: 1000, cost: b as number })).toBeUndefined()
    }
    expect(normalizeLimit({ limit: 5, windowMs: 0, cost: 1 })).toBeUndefined()
  })

  it('caps huge values so products stay finite', () => {
    const n = normalizeLimit({ limit: 1e300, windowMs: 1e300, cost: 1e300 })
    expect(n).toEqual({
      limit: Number.MAX_SAFE_INTEGER,
      windowMs: Number.MAX_SAFE_INTEGER,
      cost: Number.MAX_SAFE_INTEGER,
    })
  })

  it('reads a broken clock as 0', () => {
    expect(normalizeNow(NaN)).toBe(0)
    expect(normalizeNow(Infinity)).toBe(0)
    expect(normalizeNow(12.7)).toBe(12)
    expect(normalizeNow(-3.5)).toBe(-4)
  })
})

describe('fixedWindow', () => {
  const check = { limit: 3, windowMs: 1000, cost: 1 }

  it('counts in aligned windows', () => {
    let s = fixedWindow(undefined, check, 10_500)
    expect(s.state).toEqual({ windowStart: 10_000, count: 1 })
    expect(s.outcome).toEqual({ allowed: true, remaining: 2, resetMs: 500, retryAfterMs: 0 })
    expect(s.ttlMs).toBe(500)
    s = fixedWindow({ windowStart: 10_000, count: 3 }, check, 10_900)
    expect(s.outcome).toEqual({ allowed: false, remaining: 0, resetMs: 100, retryAfterMs: 100 })
    expect(s.state).toEqual({ windowStart: 10_000, count: 3 })
    s = fixedWindow({ windowStart: 10_000, count: 3 }, check, 11_000)
    expect(s.outcome.allowed).toBe(true)
    expect(s.state).toEqual({ windowStart: 11_000, count: 1 })
  })

  it('cost > limit: denied, retry after a window, nothing stored for a fresh key', () => {
    const s = fixedWindow(undefined, { ...check, cost: 4 }, 10_500)
    expect(s.outcome).toEqual({ allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 1000 })
    expect(s.ttlMs).toBe(0)
  })

  it('cost 0 on a fresh key admits and stores nothing', () => {
    const s = fixedWindow(undefined, { ...check, cost: 0 }, 10_500)
    expect(s.outcome).toEqual({ allowed: true, remaining: 3, resetMs: 0, retryAfterMs: 0 })
    expect(s.ttlMs).toBe(0)
  })

  it('clock going backwards keeps the count in the current window', () => {
    const s = fixedWindow({ windowStart: 20_000, count: 3 }, check, 10_500)
    expect(s.outcome.allowed).toBe(false)
    expect(s.state).toEqual({ windowStart: 10_000, count: 3 })
    expect(s.ttlMs).toBe(500)
  })
})

describe('slidingWindow', () => {
  const check = { limit: 10, windowMs: 1000, cost: 1 }

  it('weights the previous window by its overlap', () => {
    // prev 10 at 25% into the window weighs 7.5: this request and one more fit.
    let s = slidingWindow({ windowStart: 0, prev: 3, curr: 10 }, check, 1250)
    expect(s.state).toEqual({ windowStart: 1000, prev: 10, curr: 1 })
    expect(s.outcome).toEqual({ allowed: true, remaining: 1, resetMs: 1750, retryAfterMs: 0 })
    s = slidingWindow({ windowStart: 1000, prev: 10, curr: 2 }, check, 1250)
    // 10*750 + 3*1000 > 10000; admitted once 10*(750 - d) <= (10 - 3)*1000, at d = 50.
    expect(s.outcome).toEqual({ allowed: false, remaining: 0, resetMs: 1750, retryAfterMs: 50 })
    expect(
      slidingWindow({ windowStart: 1000, prev: 10, curr: 2 }, check, 1300).outcome.allowed,
    ).toBe(true)
  })

  it('forgets counts two windows back', () => {
    const s = slidingWindow({ windowStart: 0, prev: 10, curr: 10 }, check, 2000)
    expect(s.state).toEqual({ windowStart: 2000, prev: 0, curr: 1 })
  })

  it('cost > limit: retry after two windows', () => {
    const s = slidingWindow(undefined, { ...check, cost: 11 }, 500)
    expect(s.outcome).toEqual({ allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 2000 })
  })
})

describe('tokenBucket', () => {
  const check = { limit: 4, windowMs: 1000, cost: 1 }

  it('starts full and keeps the level in token-milliseconds', () => {
    const s = tokenBucket(undefined, check, 5000)
    expect(s.state).toEqual({ tokenMs: 3000, lastMs: 5000 })
    expect(s.outcome).toEqual({ allowed: true, remaining: 3, resetMs: 250, retryAfterMs: 0 })
  })

  it('matches the floating-point formulation of the spec', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 100 }),
        (limit, windowMs, percent, elapsed, costPct) => {
          const tokenMs = Math.floor((limit * windowMs * percent) / 100)
          const cost = Math.floor((limit * costPct) / 100)
          const s = tokenBucket({ tokenMs, lastMs: 0 }, { limit, windowMs, cost }, elapsed)
          const tokens = Math.min(limit, tokenMs / windowMs + (elapsed * limit) / windowMs)
          // The float version can be off by an ulp; compare away from integer boundaries.
          if (Math.abs(tokens - cost) > 1e-6) expect(s.outcome.allowed).toBe(tokens >= cost)
          if (s.outcome.allowed) {
            const left = tokens - cost
            if (Math.abs(left - Math.round(left)) > 1e-6) {
              expect(s.outcome.remaining).toBe(Math.floor(left))
            }
          } else if (Math.abs(tokens - cost) > 1e-6) {
            const want = Math.ceil(((cost - tokens) * windowMs) / limit - 1e-9)
            expect(Math.abs(s.outcome.retryAfterMs - want)).toBeLessThanOrEqual(1)
          }
        },
      ),
    )
  })

  it('clock going backwards adds nothing and restarts the refill there', () => {
    const s = tokenBucket({ tokenMs: 500, lastMs: 9000 }, check, 8000)
    expect(s.state).toEqual({ tokenMs: 500, lastMs: 8000 })
    expect(s.outcome).toEqual({ allowed: false, remaining: 0, resetMs: 875, retryAfterMs: 125 })
  })

  it('limit 0 never divides by zero', () => {
    expect(tokenBucket(undefined, { limit: 0, windowMs: 1000, cost: 0 }, 0)).toEqual({
      state: { tokenMs: 0, lastMs: 0 },
      outcome: { allowed: true, remaining: 0, resetMs: 0, retryAfterMs: 0 },
      ttlMs: 0,
    })
    const s = tokenBucket(undefined, { limit: 0, windowMs: 1000, cost: 1 }, 0)
    expect(s.outcome).toEqual({ allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 1000 })
  })
})

describe.each(algorithms)('%s properties', (_name, algo) => {
  it('retryAfterMs is the smallest wait after which the same request is admitted', () => {
    fc.assert(
      fc.property(params, jumpyHistory, fc.integer({ min: 0, max: 80 }), (p, h, probeCost) => {
        const reqs = times(h)
        const { state } = run(algo, p.limit, p.windowMs, reqs)
        const at = (reqs[reqs.length - 1]?.at ?? h.start) + 1
        const check = { ...p, cost: probeCost % (p.limit + 3) }
        const step = algo(state, check, at)
        if (step.outcome.allowed) {
          expect(step.outcome.retryAfterMs).toBe(0)
          return
        }
        const retry = step.outcome.retryAfterMs
        expect(retry).toBeGreaterThan(0)
        if (check.cost > p.limit) return // never admissible; the value is a convention
        // What the store holds after the denial is what a client retrying would meet.
        const after = step.ttlMs > 0 ? step.state : undefined
        for (let d = 1; d < retry; d++) {
          expect(algo(after, check, at + d).outcome.allowed).toBe(false)
        }
        expect(algo(after, check, at + retry).outcome.allowed).toBe(true)
      }),
    )
  })

  it('after ttlMs (= resetMs) the state is indistinguishable from a fresh key, not before', () => {
    fc.assert(
      fc.property(params, jumpyHistory, (p, h) => {
        const reqs = times(h)
        if (reqs.length === 0) return
        let state: unknown
        let last: Step<unknown> | undefined
        for (const r of reqs) {
          last = algo(state, { ...p, cost: r.cost }, r.at)
          state = last.ttlMs > 0 ? last.state : undefined
        }
        if (last === undefined) return
        const at = reqs[reqs.length - 1]!.at
        expect(last.outcome.resetMs).toBe(last.ttlMs)
        expect(last.ttlMs).toBeGreaterThanOrEqual(0)
        expect(last.ttlMs).toBeLessThanOrEqual(2 * p.windowMs)
        if (last.ttlMs === 0) {
          expect(state).toBeUndefined()
          return
        }
        const same = (t: number) => {
          for (let cost = 0; cost <= p.limit + 1; cost++) {
            const a = algo(state, { ...p, cost }, t).outcome
            const b = algo(undefined, { ...p, cost }, t).outcome
            if (a.allowed !== b.allowed || a.remaining !== b.remaining) return false
            if (a.retryAfterMs !== b.retryAfterMs) return false
          }
          return true
        }
        expect(same(at + last.ttlMs)).toBe(true)
        expect(same(at + last.ttlMs - 1)).toBe(false)
      }),
    )
  })

  it('denials consume nothing and outcomes are well-formed', () => {
    fc.assert(
      fc.property(params, jumpyHistory, (p, h) => {
        const reqs = times(h)
        let state: unknown
        for (const r of reqs) {
          const step = algo(state, { ...p, cost: r.cost }, r.at)
          const o = step.outcome
          for (const v of [o.remaining, o.resetMs, o.retryAfterMs]) {
            expect(Number.isSafeInteger(v) && v >= 0).toBe(true)
          }
          expect(o.remaining).toBeLessThanOrEqual(p.limit)
          if (!o.allowed) {
            expect(o.remaining).toBe(0)
            // Same answers before and after the denial was recorded.
            const after = step.ttlMs > 0 ? step.state : undefined
            for (let cost = 0; cost <= p.limit; cost++) {
              const c = { ...p, cost }
              expect(algo(after, c, r.at).outcome).toEqual(algo(state, c, r.at).outcome)
            }
          }
          state = step.ttlMs > 0 ? step.state : undefined
        }
      }),
    )
  })

  it('never throws, never returns NaN, on any input', () => {
    const num = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.constantFrom(NaN, Infinity, -Infinity, -0, Number.MAX_VALUE),
      fc.anything(),
    )
    fc.assert(
      fc.property(
        fc.option(
          fc.record({
            windowStart: num,
            count: num,
            prev: num,
            curr: num,
            tokenMs: num,
            lastMs: num,
          }),
          { nil: undefined },
        ),
        num,
        num,
        num,
        num,
        (state, limit, windowMs, cost, now) => {
          const step = algo(state, { limit, windowMs, cost } as LimitParams, now as number)
          const o = step.outcome
          for (const v of [o.remaining, o.resetMs, o.retryAfterMs, step.ttlMs]) {
            expect(Number.isNaN(v)).toBe(false)
          }
          if (step.ttlMs === KEEP_STATE) expect(o.allowed).toBe(false)
        },
      ),
    )
  })
})

describe('limits hold', () => {
  it('fixedWindow admits at most limit per aligned window', () => {
    fc.assert(
      fc.property(params, history, (p, h) => {
        const reqs = times(h)
        const { outcomes } = run(fixedWindow as Algo, p.limit, p.windowMs, reqs)
        const perWindow = new Map<number, number>()
        reqs.forEach((r, i) => {
          if (!outcomes[i]!.allowed) return
          const w = Math.floor(r.at / p.windowMs)
          perWindow.set(w, (perWindow.get(w) ?? 0) + r.cost)
        })
        for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(p.limit)
      }),
    )
  })

  it('slidingWindow keeps the weighted count within the limit', () => {
    fc.assert(
      fc.property(params, history, (p, h) => {
        const reqs = times(h)
        const { outcomes } = run(slidingWindow as Algo, p.limit, p.windowMs, reqs)
        // The estimate the algorithm enforces, recomputed from the admitted requests alone.
        reqs.forEach((r, i) => {
          if (!outcomes[i]!.allowed) return
          const ws = Math.floor(r.at / p.windowMs) * p.windowMs
          let prev = 0
          let curr = 0
          reqs.forEach((q, j) => {
            if (j > i || !outcomes[j]!.allowed) return
            if (q.at >= ws) curr += q.cost
            else if (q.at >= ws - p.windowMs) prev += q.cost
          })
          const e = r.at - ws
          expect(prev * (p.windowMs - e) + curr * p.windowMs).toBeLessThanOrEqual(
            p.limit * p.windowMs,
          )
        })
      }),
    )
  })

  it('tokenBucket admits at most limit + refill over any span', () => {
    fc.assert(
      fc.property(params, history, (p, h) => {
        const reqs = times(h)
        const { outcomes } = run(tokenBucket as Algo, p.limit, p.windowMs, reqs)
        for (let i = 0; i < reqs.length; i++) {
          let sum = 0
          for (let j = i; j < reqs.length; j++) {
            if (outcomes[j]!.allowed) sum += reqs[j]!.cost
            const span = reqs[j]!.at - reqs[i]!.at
            expect(sum * p.windowMs).toBeLessThanOrEqual(p.limit * p.windowMs + span * p.limit)
          }
        }
      }),
    )
  })
})
