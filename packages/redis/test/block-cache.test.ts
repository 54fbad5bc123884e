// The optional block cache: once Redis denies a key, this process refuses that key locally until
// its retry time, with no round trip; then it asks Redis again. Bounded by maxKeys. Round trips
// are counted by wrapping the client's EVALSHA (every script run starts with exactly one; EVAL
// only follows a NOSCRIPT, so a SCRIPT FLUSH elsewhere cannot skew the count).
import { createEngine, type RateLimitCheck } from '@sec/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore, type RedisClientLike } from '../dist/index.js'
import { ioredis, nodeRedis, uniquePrefix } from './clients.js'

type IoClient = Awaited<ReturnType<typeof ioredis>>
type NrClient = Awaited<ReturnType<typeof nodeRedis>>
let io: IoClient
let nr: NrClient
const prefixes: string[] = []

beforeAll(async () => {
  io = await ioredis()
  nr = await nodeRedis()
})
afterAll(async () => {
  try {
    for (const prefix of prefixes) {
      const keys: string[] = []
      let cursor = '0'
      do {
        const [next, batch] = await io.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        keys.push(...batch)
      } while (cursor !== '0')
      if (keys.length > 0) await io.del(...keys)
    }
  } finally {
    await io.quit()
    await nr.quit()
  }
})

/** A client that forwards to a real one and counts script round trips. */
function counted(kind: string): { client: RedisClientLike; calls: () => number } {
  let n = 0
  if (kind === 'ioredis') {
    const client = {
      evalsha: (sha: string, numKeys: number, ...rest: string[]) => {
        n++
        return io.evalsha(sha, numKeys, ...rest)
      },
      eval: (script: string, numKeys: number, ...rest: string[]) =>
        io.eval(script, numKeys, ...rest),
    }
    return { client, calls: () => n }
  }
  const client = {
    evalSha: (sha: string, options: { keys: string[]; arguments: string[] }) => {
      n++
      return nr.evalSha(sha, options)
    },
    eval: (script: string, options: { keys: string[]; arguments: string[] }) =>
      nr.eval(script, options),
  }
  return { client, calls: () => n }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const prefixFor = (label: string): string => {
  const prefix = uniquePrefix(label)
  prefixes.push(prefix)
  return prefix
}
/** 2 tokens, one back every 500 ms: the retry after draining it is ~500 ms whatever the time. */
const tb = (key: string, limit = 2, windowMs = 1000): RateLimitCheck => ({
  key,
  algorithm: 'tokenBucket',
  limit,
  windowMs,
  cost: 1,
})
const fw = (key: string, limit: number): RateLimitCheck => ({
  key,
  algorithm: 'fixedWindow',
  limit,
  windowMs: 60_000,
  cost: 1,
})

describe.each(['ioredis', 'node-redis'])('blockCache with %s', (kind) => {
  it('after a denial, calls are answered locally until the retry time, then go to Redis again', async () => {
    const { client, calls } = counted(kind)
    const store = new RedisStore({ client, prefix: prefixFor('bc'), blockCache: true })
    expect((await store.consume([tb('k')]))[0]!.allowed).toBe(true)
    expect((await store.consume([tb('k')]))[0]!.allowed).toBe(true)
    const [denied] = await store.consume([tb('k')])
    expect(denied!.allowed).toBe(false)
    expect(denied!.retryAfterMs).toBeGreaterThan(300)
    expect(denied!.retryAfterMs).toBeLessThanOrEqual(500)
    expect(calls()).toBe(3)
    const deniedAt = Date.now()

    let previous = denied!.retryAfterMs
    for (let i = 0; i < 50; i++) {
      const out = await store.consume([tb('k')])
      expect(out).toHaveLength(1)
      expect(out[0]!.allowed).toBe(false)
      expect(out[0]!.remaining).toBe(0)
      expect(out[0]!.retryAfterMs).toBeGreaterThan(0)
      expect(out[0]!.retryAfterMs).toBeLessThanOrEqual(previous)
      previous = out[0]!.retryAfterMs
    }
    expect(calls()).toBe(3)

    // Halfway through the retry time: still local.
    await sleep(Math.max(0, denied!.retryAfterMs / 2 - (Date.now() - deniedAt)))
    expect((await store.consume([tb('k')]))[0]!.allowed).toBe(false)
    expect(calls()).toBe(3)

    // Past it: Redis is asked again, and it has refilled a token.
    await sleep(Math.max(0, denied!.retryAfterMs - (Date.now() - deniedAt)) + 25)
    expect((await store.consume([tb('k')]))[0]!.allowed).toBe(true)
    expect(calls()).toBe(4)
  })

  it('without the option, every call goes to Redis', async () => {
    const { client, calls } = counted(kind)
    const store = new RedisStore({ client, prefix: prefixFor('nobc') })
    for (let i = 0; i < 32; i++) await store.consume([fw('k', 2)])
    expect(calls()).toBe(32)
    expect((await store.consume([fw('k', 2)]))[0]!.allowed).toBe(false)
    expect(calls()).toBe(33)
  })

  it('is bounded by maxKeys: the oldest blocked keys are forgotten and asked again', async () => {
    const { client, calls } = counted(kind)
    const store = new RedisStore({
      client,
      prefix: prefixFor('bounded'),
      blockCache: { maxKeys: 5 },
    })
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
    for (const key of keys) {
      expect((await store.consume([fw(key, 1)]))[0]!.allowed).toBe(true)
      expect((await store.consume([fw(key, 1)]))[0]!.allowed).toBe(false)
    }
    expect(calls()).toBe(40)
    // Newest first, so a key re-blocked by Redis only evicts keys already asked about.
    const local: string[] = []
    for (const key of [...keys].reverse()) {
      const before = calls()
      const [out] = await store.consume([fw(key, 1)])
      expect(out!.allowed).toBe(false)
      if (calls() === before) local.push(key)
    }
    expect(local).toEqual(['k19', 'k18', 'k17', 'k16', 'k15'])
    expect(calls()).toBe(55)
  })

  it('only a blocked first check is answered locally: earlier checks of a request stay consumed', async () => {
    const { client, calls } = counted(kind)
    const store = new RedisStore({ client, prefix: prefixFor('order'), blockCache: true })
    const checks = [fw('a', 100), fw('b', 1)]
    expect((await store.consume(checks)).map((o) => o.remaining)).toEqual([99, 0])
    expect((await store.consume(checks)).map((o) => o.allowed)).toEqual([true, false])
    // b is blocked, but the request starts with a: Redis must consume a again.
    const third = await store.consume(checks)
    expect(third.map((o) => [o.allowed, o.remaining])).toEqual([
      [true, 97],
      [false, 0],
    ])
    expect(calls()).toBe(3)
    // A request that starts with b is refused here.
    expect((await store.consume([fw('b', 1)]))[0]!.allowed).toBe(false)
    expect(calls()).toBe(3)
  })

  it('an engine decision refused locally is still a 429 with Retry-After', async () => {
    const { client, calls } = counted(kind)
    const engine = createEngine(
      { version: 1, rules: [{ id: 'rl', type: 'rateLimit', limit: 1, window: '1m' }] },
      { store: new RedisStore({ client, prefix: prefixFor('engine'), blockCache: true }) },
    )
    const req = { method: 'GET', url: '/', headers: {}, remoteAddress: '192.0.2.9' }
    expect((await engine.decide(req)).allowed).toBe(true)
    const byRedis = await engine.decide(req)
    expect(calls()).toBe(2)
    const local = await engine.decide(req)
    expect(calls()).toBe(2)
    for (const d of [byRedis, local]) {
      expect(d.status).toBe(429)
      expect(d.code).toBe('rateLimit.exceeded')
      expect(Number(d.headers['retry-after'] ?? d.headers['Retry-After'])).toBeGreaterThan(0)
    }
    // Another client is not affected.
    expect((await engine.decide({ ...req, remoteAddress: '192.0.2.10' })).allowed).toBe(true)
    expect(calls()).toBe(3)
  })
})

it('rejects a bad maxKeys', () => {
  expect(() => new RedisStore({ client: io, blockCache: { maxKeys: 0 } })).toThrow(TypeError)
  expect(() => new RedisStore({ client: io, blockCache: { maxKeys: 1.5 } })).toThrow(TypeError)
})
