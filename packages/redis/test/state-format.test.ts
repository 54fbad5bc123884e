// The counters' format in Redis (see src/rate-limit.lua.ts): one packed binary value per key,
// and any value that is not this check's algorithm's state (another algorithm's, the older
// "<algorithm>:<a>:<b>" text format, anything else) reads as a fresh key, never as an error.
import type { RateLimitAlgorithm, RateLimitCheck } from '@sec/core'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../dist/index.js'
import { ioredis, uniquePrefix } from './clients.js'
import { unpackState } from './state.js'

const NOW = 1_700_000_012_345
const WINDOW = 60_000
const LIMIT = 5
const WINDOW_START = Math.floor(NOW / WINDOW) * WINDOW

let admin: Redis
const prefix = uniquePrefix('state-format')
const store = () => new RedisStore({ client: admin, prefix, now: () => NOW })
const check = (key: string, algorithm: RateLimitAlgorithm, cost = 1): RateLimitCheck => ({
  key,
  algorithm,
  limit: LIMIT,
  windowMs: WINDOW,
  cost,
})
const redisKey = (key: string) => `${prefix}{${key}}`

/** A value the script itself packs, for building "another algorithm's state". */
function packed(algorithm: number, ...fields: number[]): Buffer {
  const raw = Buffer.alloc(1 + 8 * fields.length)
  raw[0] = algorithm
  fields.forEach((x, i) => raw.writeDoubleLE(x, 1 + 8 * i))
  return raw
}

beforeAll(async () => {
  admin = await ioredis()
})
afterAll(async () => {
  const keys = await admin.keys(`${prefix}*`)
  if (keys.length > 0) await admin.del(...keys)
  await admin.quit()
})

describe('state written by the script', () => {
  it('fixed window: algorithm 1, windowStart, count', async () => {
    await store().consume([check('fw', 'fixedWindow', 2)])
    const raw = (await admin.getBuffer(redisKey('fw')))!
    expect(raw).toHaveLength(17)
    expect(unpackState(raw)).toEqual({ algorithm: 1, fields: [WINDOW_START, 2] })
  })

  it('sliding window: algorithm 2, windowStart, prev, curr', async () => {
    await store().consume([check('sw', 'slidingWindow', 3)])
    const raw = (await admin.getBuffer(redisKey('sw')))!
    expect(raw).toHaveLength(25)
    expect(unpackState(raw)).toEqual({ algorithm: 2, fields: [WINDOW_START, 0, 3] })
  })

  it('token bucket: algorithm 3, tokenMs, lastMs', async () => {
    await store().consume([check('tb', 'tokenBucket', 1)])
    const raw = (await admin.getBuffer(redisKey('tb')))!
    expect(raw).toHaveLength(17)
    expect(unpackState(raw)).toEqual({ algorithm: 3, fields: [(LIMIT - 1) * WINDOW, NOW] })
  })

  it('TTLs are whole milliseconds, however long the window', async () => {
    const year = 365 * 24 * 3_600_000
    const long = { ...check('long', 'slidingWindow'), windowMs: year }
    const [outcome] = await store().consume([long])
    expect(outcome!.allowed).toBe(true)
    // 2 * year - elapsed: an integer PX beyond 2^32, accepted by SET.
    expect(outcome!.resetMs).toBe(2 * year - (NOW % year))
    expect(await admin.pttl(redisKey('long'))).toBeGreaterThan(year)
  })
})

describe.each([
  ['fixedWindow', 1],
  ['slidingWindow', 2],
  ['tokenBucket', 3],
] as const)('%s: a value that is not its state reads as a fresh key', (algorithm, code) => {
  const foreign: [string, string | Buffer][] = [
    // The text format this one replaced, holding a full count (read as such, it would deny).
    ['the old text format', `${code}:${WINDOW_START}:${code === 2 ? `0:${LIMIT}` : LIMIT}`],
    ["another algorithm's state", packed(code === 1 ? 3 : 1, WINDOW_START, LIMIT)],
    ['its own algorithm byte, the wrong length', packed(code, WINDOW_START, 0, LIMIT, 0)],
    ['a truncated state', packed(code, WINDOW_START).subarray(0, 12)],
    ['an empty string', ''],
    ['anything else', 'not a counter'],
  ]

  it.each(foreign)('%s', async (_name, value) => {
    const key = `foreign-${algorithm}-${_name}`
    const fresh = await store().consume([check(`fresh-${key}`, algorithm, 2)])
    await admin.set(redisKey(key), value, 'PX', 60_000)
    expect(await store().consume([check(key, algorithm, 2)])).toEqual(fresh)
    // Overwritten with this algorithm's state, as after a fresh key.
    expect(await admin.getBuffer(redisKey(key))).toEqual(
      await admin.getBuffer(redisKey(`fresh-${key}`)),
    )
  })

  it.each(foreign)('%s, as the second check of a call', async (_name, value) => {
    const key = `foreign-second-${algorithm}-${_name}`
    const first = (k: string) => check(`first-${k}`, 'fixedWindow')
    const fresh = await store().consume([
      first(`fresh-${key}`),
      check(`fresh-${key}`, algorithm, 2),
    ])
    await admin.set(redisKey(key), value, 'PX', 60_000)
    expect(await store().consume([first(key), check(key, algorithm, 2)])).toEqual(fresh)
    expect(await admin.getBuffer(redisKey(key))).toEqual(
      await admin.getBuffer(redisKey(`fresh-${key}`)),
    )
  })

  it.each(foreign)('%s, with nothing consumed: deleted', async (_name, value) => {
    const key = `foreign-zero-${algorithm}-${_name}`
    await admin.set(redisKey(key), value, 'PX', 60_000)
    const [outcome] = await store().consume([check(key, algorithm, 0)])
    expect(outcome).toMatchObject({ allowed: true, remaining: LIMIT, retryAfterMs: 0 })
    expect(await admin.exists(redisKey(key))).toBe(0)
  })
})
