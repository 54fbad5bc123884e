import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fixedWindow, slidingWindow, tokenBucket } from '../ratelimit/algorithms.js'
import type { Step } from '../ratelimit/algorithms.js'
import type { RateLimitAlgorithm, RateLimitCheck, RateLimitOutcome } from '../types.js'
import { MemoryStore } from './memory-store.js'
import { STORE_CASE_EPOCH_MS, runStoreCase, storeCases } from './store-cases.js'

/** A store whose clock the test moves by hand. */
function storeAt(t: number, maxKeys?: number) {
  const clock = { t }
  const store = new MemoryStore({ now: () => clock.t, ...(maxKeys ? { maxKeys } : {}) })
  return { store, clock }
}
const fw = (key: string, limit = 1, windowMs = 1000, cost = 1): RateLimitCheck => ({
  key,
  algorithm: 'fixedWindow',
  limit,
  windowMs,
  cost,
})
const one = (store: MemoryStore, check: RateLimitCheck): RateLimitOutcome => {
  const [o] = store.consume([check])
  if (o === undefined) throw new Error('no outcome')
  return o
}

describe('MemoryStore: shared store cases', () => {
  it('every window in the table divides the epoch', () => {
    for (const c of storeCases) {
      for (const s of c.steps) {
        const checks = Array.isArray(s.check) ? s.check : [s.check]
        for (const ch of checks as RateLimitCheck[])
          expect(STORE_CASE_EPOCH_MS % ch.windowMs).toBe(0)
      }
    }
  })

  it.each(storeCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await runStoreCase((clock) => new MemoryStore({ now: clock }), c)
  })

  it('runStoreCase reports a mismatch', async () => {
    const c = storeCases[0]!
    const broken = { ...c, steps: [{ ...c.steps[0]!, expect: { allowed: true, remaining: 99 } }] }
    await expect(runStoreCase((clock) => new MemoryStore({ now: clock }), broken)).rejects.toThrow(
      /remaining expected 99, got 2/,
    )
  })

  it('keyPrefix isolates runs on one store', async () => {
    const shared = new MemoryStore({ now: () => STORE_CASE_EPOCH_MS })
    const c = storeCases[0]!
    const first = { ...c, steps: c.steps.slice(0, 1) }
    await runStoreCase(() => shared, first, { keyPrefix: 'run1:' })
    await runStoreCase(() => shared, first, { keyPrefix: 'run2:' })
    await expect(runStoreCase(() => shared, first, { keyPrefix: 'run1:' })).rejects.toThrow()
  })
})

describe('MemoryStore', () => {
  it('answers synchronously with fresh outcome objects', () => {
    const { store } = storeAt(0)
    const a = store.consume([fw('k', 5)])
    const b = store.consume([fw('k', 5)])
    expect(Array.isArray(a)).toBe(true)
    expect(a).not.toBeInstanceOf(Promise)
    expect(a[0]).not.toBe(b[0])
    expect(a[0]).toEqual({ allowed: true, remaining: 4, resetMs: 1000, retryAfterMs: 0 })
    expect(b[0]).toEqual({ allowed: true, remaining: 3, resetMs: 1000, retryAfterMs: 0 })
  })

  it('validates its options', () => {
    for (const maxKeys of [0, -1, 1.5, NaN, Infinity, '10', null]) {
      expect(() => new MemoryStore({ maxKeys: maxKeys as number })).toThrow(TypeError)
    }
    expect(() => new MemoryStore({ maxKeys: 2 ** 24 + 1 })).toThrow(RangeError)
    expect(() => new MemoryStore({ now: 5 as unknown as () => number })).toThrow(TypeError)
    expect(new MemoryStore().maxKeys).toBe(1_000_000)
    expect(new MemoryStore({ maxKeys: 1 }).maxKeys).toBe(1)
  })

  it('does not throw on odd input, and denies it', () => {
    const { store } = storeAt(1000)
    expect(store.consume(null as unknown as RateLimitCheck[])).toEqual([])
    expect(store.consume('x' as unknown as RateLimitCheck[])).toEqual([])
    const odd: unknown[] = [
      null,
      undefined,
      42,
      { ...fw('k'), key: 7 },
      { ...fw('k'), algorithm: 'leakyBucket' },
      { ...fw('k'), algorithm: '__proto__' },
      { ...fw('k'), limit: NaN },
      { ...fw('k'), windowMs: 0 },
      { ...fw('k'), cost: -1 },
      { ...fw('k'), cost: Infinity },
    ]
    for (const check of odd) {
      const out = store.consume([check as RateLimitCheck, fw('after')])
      expect(out).toEqual([{ allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 0 }])
    }
    expect(store.size).toBe(0)
  })

  it('an invalid check leaves the stored state alone', () => {
    const { store } = storeAt(1000)
    one(store, fw('k', 3))
    one(store, { ...fw('k', 3), cost: NaN })
    expect(one(store, fw('k', 3)).remaining).toBe(1)
  })

  it('survives a clock that returns garbage', () => {
    let t: number = NaN
    const store = new MemoryStore({ now: () => t })
    expect(one(store, fw('k', 2)).remaining).toBe(1)
    t = 5_000
    expect(one(store, fw('k', 2)).remaining).toBe(1)
    t = Infinity
    expect(() => store.consume([fw('k', 2)])).not.toThrow()
  })

  it('stores nothing for a fresh-equivalent result', () => {
    const { store } = storeAt(1000)
    one(store, fw('a', 1, 1000, 2)) // cost > limit on a fresh key
    one(store, fw('b', 1, 1000, 0)) // cost 0
    one(store, { ...fw('c', 3, 1000, 0), algorithm: 'tokenBucket' })
    one(store, { ...fw('d', 3, 1000, 0), algorithm: 'slidingWindow' })
    expect(store.size).toBe(0)
  })

  it('deletes a key once its state equals a fresh one', () => {
    const { store, clock } = storeAt(0)
    one(store, { ...fw('t', 4, 1000, 4), algorithm: 'tokenBucket' })
    expect(store.size).toBe(1)
    clock.t = 1000 // full again
    one(store, { ...fw('t', 4, 1000, 0), algorithm: 'tokenBucket' })
    expect(store.size).toBe(0)
  })

  it('expired state reads as fresh', () => {
    const { store, clock } = storeAt(0)
    one(store, fw('k', 1))
    expect(one(store, fw('k', 1)).allowed).toBe(false)
    clock.t = 1000
    expect(one(store, fw('k', 1)).allowed).toBe(true)
  })

  it('a key used with another algorithm starts fresh for it', () => {
    const { store } = storeAt(0)
    one(store, fw('k', 1))
    const o = one(store, { ...fw('k', 2), algorithm: 'tokenBucket' })
    expect(o).toEqual({ allowed: true, remaining: 1, resetMs: 500, retryAfterMs: 0 })
    // and the token bucket now owns the key
    expect(one(store, fw('k', 1)).allowed).toBe(true)
  })

  it('clear() forgets everything', () => {
    const { store } = storeAt(0)
    for (let i = 0; i < 3000; i++) one(store, fw(`k${i}`))
    expect(store.size).toBe(3000)
    store.clear()
    expect(store.size).toBe(0)
    expect(one(store, fw('k1')).allowed).toBe(true)
    expect(store.size).toBe(1)
  })

  it('a check whose getters use another store in the middle still gets its own state', () => {
    const { store } = storeAt(5_000)
    const { store: other } = storeAt(9_000)
    const check = { ...fw('a', 10, 1000, 2) }
    Object.defineProperty(check, 'limit', {
      enumerable: true,
      get: () => (other.consume([fw('b', 3, 700, 1)]), 10),
    })
    expect(one(store, check)).toMatchObject({ allowed: true, remaining: 8 })
    expect(one(store, check)).toMatchObject({ allowed: true, remaining: 6 })
    expect(one(store, fw('a', 10, 1000, 2))).toMatchObject({ allowed: true, remaining: 4 })
  })
  it('keeps state across column growth', () => {
    const { store } = storeAt(0, 10_000)
    for (let i = 0; i < 5000; i++) one(store, fw(`k${i}`, 10))
    for (let i = 0; i < 5000; i += 7) expect(one(store, fw(`k${i}`, 10)).remaining).toBe(8)
  })
})

describe('MemoryStore memory bound', () => {
  it('holds maxKeys under 3 x maxKeys distinct keys', () => {
    const maxKeys = 100
    const { store, clock } = storeAt(0, maxKeys)
    for (let i = 0; i < 3 * maxKeys; i++) {
      clock.t = i // nothing expires: every key has an hour-long window
      one(store, fw(`flood:${i}`, 5, 3_600_000))
      expect(store.size).toBeLessThanOrEqual(maxKeys)
    }
    expect(store.size).toBe(maxKeys)
    // The newest key is held (nothing came after it)...
    expect(one(store, fw(`flood:${3 * maxKeys - 1}`, 5, 3_600_000)).remaining).toBe(3)
    // ...and every key either kept its count or was evicted and starts fresh: nothing else.
    let kept = 0
    for (let i = 0; i < 3 * maxKeys - 1; i++) {
      const { remaining } = one(store, fw(`flood:${i}`, 5, 3_600_000))
      expect([3, 4]).toContain(remaining)
      if (remaining === 3) kept++
    }
    expect(kept).toBeGreaterThan(0)
    expect(store.size).toBe(maxKeys)
  })

  it('evicts the key that has spent least: a denied key outlives the keys that push in', () => {
    const { store } = storeAt(0, 2)
    for (let i = 0; i < 3; i++) one(store, fw('a', 3, 60_000))
    expect(one(store, fw('a', 3, 60_000)).allowed).toBe(false) // a: denied (spent 3 + 1)
    one(store, fw('b', 3, 60_000))
    one(store, fw('b', 3, 60_000)) // b: spent 2
    one(store, fw('c', 3, 60_000)) // full: evicts b, the least spent
    expect(store.size).toBe(2)
    expect(one(store, fw('c', 3, 60_000)).remaining).toBe(1) // c kept its count (now spent 2)
    expect(one(store, fw('b', 3, 60_000)).remaining).toBe(2) // b starts over; evicts c (2 < 4)
    expect(one(store, fw('a', 3, 60_000)).allowed).toBe(false) // a was never evicted
    expect(one(store, fw('c', 3, 60_000)).remaining).toBe(2) // c was
  })

  it('counts spending in requests: a small limit or a large cost buys no protection', () => {
    const { store } = storeAt(0, 2)
    for (let i = 0; i < 6; i++) one(store, fw('victim', 5, 60_000)) // 5 admitted, 1 denied: 6
    // One request each: all of its limit (1 of 1), or 30 units of 100. Each has spent 1.
    one(store, fw('small', 1, 60_000))
    one(store, fw('costly', 100, 60_000, 30)) // evicts 'small' (1 < 6)
    one(store, fw('small', 1, 60_000)) // evicts 'costly' (1 < 6)
    expect(one(store, fw('victim', 5, 60_000)).allowed).toBe(false)
    expect(one(store, fw('costly', 100, 60_000, 30)).remaining).toBe(70) // started over
  })

  it('of keys that have spent as much, evicts the one whose state expires first', () => {
    const { store } = storeAt(0, 2)
    one(store, fw('long', 5, 60_000))
    one(store, fw('short', 5, 1000))
    one(store, fw('new', 5, 60_000)) // evicts 'short': it would have started over in 1 s anyway
    expect(one(store, fw('long', 5, 60_000)).remaining).toBe(3)
    expect(one(store, fw('short', 5, 1000)).remaining).toBe(4)
  })

  it('reclaims expired keys before evicting live ones', () => {
    const { store, clock } = storeAt(0, 4)
    one(store, fw('live', 5, 3_600_000)) // oldest, but live for an hour
    one(store, fw('short1', 5, 1000))
    one(store, fw('short2', 5, 1000))
    one(store, fw('short3', 5, 1000))
    clock.t = 5000 // the three short keys have expired
    one(store, fw('new1', 5, 3_600_000))
    one(store, fw('new2', 5, 3_600_000))
    one(store, fw('new3', 5, 3_600_000))
    expect(store.size).toBe(4)
    expect(one(store, fw('live', 5, 3_600_000)).remaining).toBe(3) // not evicted
    expect(one(store, fw('new1', 5, 3_600_000)).remaining).toBe(3)
  })

  it('sweeps expired keys as new ones arrive, full or not', () => {
    const { store, clock } = storeAt(0, 10_000)
    for (let i = 0; i < 100; i++) one(store, fw(`old${i}`, 5))
    clock.t = 2000
    // Each insert looks at 2 entries; wherever the sweep cursor stood, 150 inserts cover
    // every old entry.
    for (let i = 0; i < 150; i++) one(store, fw(`new${i}`, 5))
    expect(store.size).toBe(150)
  })

  it('behaves like an unbounded map of states when nothing is evicted', () => {
    const algos: RateLimitAlgorithm[] = ['fixedWindow', 'slidingWindow', 'tokenBucket']
    const op = fc.record({
      key: fc.integer({ min: 0, max: 12 }),
      algo: fc.integer({ min: 0, max: 2 }),
      limit: fc.integer({ min: 0, max: 6 }),
      windowMs: fc.constantFrom(10, 25, 100),
      cost: fc.integer({ min: 0, max: 4 }),
      advance: fc.integer({ min: 0, max: 60 }),
    })
    fc.assert(
      fc.property(
        fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { maxLength: 60 }),
        (calls) => {
          let t = 1_000_000
          const store = new MemoryStore({ now: () => t, maxKeys: 1000 })
          // Reference: one object per key, expiring at now + ttl.
          const ref = new Map<string, { algo: string; state: unknown; expiresAt: number }>()
          const fns: Record<string, (s: unknown, c: RateLimitCheck, n: number) => Step<unknown>> = {
            fixedWindow: fixedWindow as never,
            slidingWindow: slidingWindow as never,
            tokenBucket: tokenBucket as never,
          }
          for (const call of calls) {
            t += call[0]!.advance
            const checks = call.map((o) => ({
              key: `k${o.key}`,
              algorithm: algos[o.algo]!,
              limit: o.limit,
              windowMs: o.windowMs,
              cost: o.cost,
            }))
            const want: RateLimitOutcome[] = []
            for (const c of checks) {
              const entry = ref.get(c.key)
              const live = entry && entry.algo === c.algorithm && entry.expiresAt > t
              const step = fns[c.algorithm]!(live ? entry.state : undefined, c, t)
              if (step.ttlMs > 0) {
                ref.set(c.key, { algo: c.algorithm, state: step.state, expiresAt: t + step.ttlMs })
              } else if (step.ttlMs === 0) ref.delete(c.key)
              want.push(step.outcome)
              if (!step.outcome.allowed) break
            }
            expect(store.consume(checks)).toEqual(want)
            // The store may still hold expired entries (reclaimed lazily), never fewer live ones.
            let live = 0
            for (const e of ref.values()) if (e.expiresAt > t) live++
            expect(store.size).toBeGreaterThanOrEqual(live)
          }
        },
      ),
    )
  })
})
