// createEngine + RedisStore end to end, on a redis-server of this file's own so that
// `INFO commandstats` counts only our commands: headers, 429s, keys and their TTLs, and one
// script call (one round trip) per decision however many rate-limit rules apply.
import { createEngine, type Decision, type Engine } from '@sec/core'
import { commandCalls, startRedis, type PrivateRedis } from '@sec/test-kit/redis-server'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keySlot, RedisStore } from '../dist/index.js'
import { uniquePrefix } from './clients.js'
import { awayFromWindowEnd } from './flood-helpers.js'

let server: PrivateRedis
let admin: Redis
const clients: Record<string, Redis | ReturnType<typeof createClient>> = {}

beforeAll(async () => {
  server = await startRedis()
  admin = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 })
  await admin.connect()
  const io = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 })
  await io.connect()
  clients.ioredis = io
  const nr = createClient({ socket: { host: '127.0.0.1', port: server.port } })
  nr.on('error', () => {})
  await nr.connect()
  clients['node-redis'] = nr
}, 30_000)

afterAll(async () => {
  await (clients.ioredis as Redis | undefined)?.quit()
  await (clients['node-redis'] as ReturnType<typeof createClient> | undefined)?.quit()
  await admin?.quit()
  await server?.kill()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const get = (url: string, ip: string, headers: Record<string, string> = {}) => ({
  method: 'GET',
  url,
  headers,
  remoteAddress: ip,
})
const stats = async () => commandCalls(String(await admin.info('commandstats')))
const delta = (after: Record<string, number>, before: Record<string, number>, cmd: string) =>
  (after[cmd] ?? 0) - (before[cmd] ?? 0)
/** Remaining (`r`) and reset (`t`) per policy item of a RateLimit header. */
function parseRateLimit(d: Decision): { name: string; r: number; t: number }[] {
  return (d.headers.RateLimit ?? '').split(', ').map((item) => {
    const m = /^"([^"]+)";r=(\d+);t=(\d+)$/.exec(item)
    if (!m) throw new Error(`bad RateLimit item: ${item}`)
    return { name: m[1]!, r: Number(m[2]), t: Number(m[3]) }
  })
}

describe.each(['ioredis', 'node-redis'])('engine on RedisStore (%s)', (name) => {
  function engine(rules: object[], prefix: string): Engine {
    return createEngine(
      { version: 1, rules },
      { store: new RedisStore({ client: clients[name]!, prefix }) },
    )
  }

  it('sends RateLimit headers, then 429 with Retry-After; other paths and clients are untouched', async () => {
    const prefix = uniquePrefix('engine-headers')
    const e = engine(
      [
        { id: 'login', type: 'rateLimit', paths: ['/login'], limit: 3, window: '1m' },
        {
          id: 'burst',
          type: 'rateLimit',
          paths: ['/burst'],
          algorithm: 'tokenBucket',
          limit: 2,
          window: '10s',
        },
      ],
      prefix,
    )
    for (let i = 0; i < 3; i++) {
      const d = await e.decide(get('/login', '192.0.2.10'))
      expect([d.status, d.code]).toEqual([200, 'allowed'])
      expect(d.headers['RateLimit-Policy']).toBe('"login";q=3;w=60')
      const [item] = parseRateLimit(d)
      expect(item!.name).toBe('login')
      expect(item!.r).toBe(2 - i)
      expect(item!.t).toBeGreaterThanOrEqual(1)
      expect(item!.t).toBeLessThanOrEqual(60)
      expect(d.headers['Retry-After']).toBeUndefined()
    }
    const denied = await e.decide(get('/login', '192.0.2.10'))
    expect([denied.allowed, denied.status, denied.code, denied.ruleId]).toEqual([
      false,
      429,
      'rateLimit.exceeded',
      'login',
    ])
    const [item] = parseRateLimit(denied)
    expect(item!.r).toBe(0)
    // A fixed window is retried when it rolls over, which is also when it resets.
    expect(denied.headers['Retry-After']).toBe(String(item!.t))
    expect(denied.results.find((r) => r.ruleId === 'login')).toMatchObject({
      outcome: 'deny',
      code: 'rateLimit.exceeded',
      status: 429,
      rateLimit: { limit: 3, remaining: 0, retryAfterSeconds: item!.t, windowSeconds: 60 },
    })
    // Another client, and a path no rule limits.
    expect(parseRateLimit(await e.decide(get('/login', '192.0.2.11')))[0]!.r).toBe(2)
    const other = await e.decide(get('/public', '192.0.2.10'))
    expect([other.status, other.code, other.headers.RateLimit]).toEqual([200, 'allowed', undefined])
    // Token bucket 2 per 10 s: empty after two, one token back in 5 s.
    for (const r of [1, 0])
      expect(parseRateLimit(await e.decide(get('/burst', '192.0.2.10')))[0]!.r).toBe(r)
    const empty = await e.decide(get('/burst', '192.0.2.10'))
    expect([empty.status, empty.headers['Retry-After']]).toEqual([429, '5'])
    // Every key carries a TTL no longer than its window.
    const keys = (await admin.keys(`${prefix}*`)).sort()
    expect(keys.map((k) => k.slice(prefix.length))).toEqual([
      'burst:0:{ip:192.0.2.10}',
      'login:0:{ip:192.0.2.10}',
      'login:0:{ip:192.0.2.11}',
    ])
    for (const key of keys) {
      const ttl = await admin.pttl(key)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(key.includes('login') ? 60_000 : 10_000)
    }
  })

  it("by ['ip', 'header:x-user']: one counter per pair, keys prefixed and hash-tagged", async () => {
    const prefix = uniquePrefix('engine-by')
    const e = engine(
      [{ id: 'u', type: 'rateLimit', by: ['ip', 'header:x-user'], limit: 2, window: '1m' }],
      prefix,
    )
    const ask = async (ip: string, user?: string) =>
      (await e.decide(get('/', ip, user === undefined ? {} : { 'x-user': user }))).status
    expect([await ask('198.51.100.7', 'alice'), await ask('198.51.100.7', 'alice')]).toEqual([
      200, 200,
    ])
    expect(await ask('198.51.100.7', 'alice')).toBe(429)
    expect(await ask('198.51.100.7', 'bob')).toBe(200) // same address, other user
    expect(await ask('198.51.100.8', 'alice')).toBe(200) // same user, other address
    expect(await ask('198.51.100.7')).toBe(200) // no header: the address alone
    expect(await ask('198.51.100.7', 'x}{y')).toBe(200) // braces cannot break the hash tag
    expect(await ask('198.51.100.7', 'x}{y')).toBe(200)
    expect(await ask('198.51.100.7', 'x}{y')).toBe(429)

    const keys = (await admin.keys(`${prefix}*`)).sort()
    expect(keys).toEqual(
      [
        'u:0:{ip:198.51.100.7&h:x-user=alice}',
        'u:0:{ip:198.51.100.7&h:x-user=bob}',
        'u:0:{ip:198.51.100.8&h:x-user=alice}',
        'u:0:{ip:198.51.100.7&ip:198.51.100.7}',
        'u:0:{ip:198.51.100.7&h:x-user=x%7D%7By}',
      ]
        .map((k) => prefix + k)
        .sort(),
    )
    for (const key of keys) {
      expect(key.startsWith(prefix)).toBe(true)
      // Exactly one {…} tag, closing the key: the owner, on which Redis Cluster slots it.
      const tag = /^[^{}]*\{([^{}]+)\}$/.exec(key)
      expect(tag, key).not.toBeNull()
      expect(keySlot(key)).toBe(keySlot(tag![1]!))
      expect(await admin.pttl(key)).toBeGreaterThan(0)
    }
  })

  it('several rate-limit rules in one request are one script call, on one reading of TIME', async () => {
    const prefix = uniquePrefix('engine-batch')
    const e = engine(
      [
        {
          id: 'burst',
          type: 'rateLimit',
          paths: ['/api/**'],
          algorithm: 'tokenBucket',
          limit: 8,
          window: '1m',
        },
        {
          id: 'minute',
          type: 'rateLimit',
          paths: ['/api/**'],
          algorithm: 'slidingWindow',
          limit: 100,
          window: '1m',
        },
        {
          id: 'tiers',
          type: 'rateLimit',
          paths: ['/api/**'],
          by: 'header:x-user',
          limits: [
            { limit: 1000, window: '1h' },
            { limit: 5000, window: '1d', algorithm: 'fixedWindow' },
          ],
        },
        { id: 'admin', type: 'rateLimit', paths: ['/admin/**'], limit: 1, window: '1m' },
      ],
      prefix,
    )
    const ask = () => e.decide(get('/api/items', '203.0.113.5', { 'x-user': 'carol' }))
    await ask() // loads the script on this server (EVALSHA -> NOSCRIPT -> EVAL) if not yet there
    const before = await stats()
    const decisions: Decision[] = []
    for (let i = 0; i < 12; i++) decisions.push(await ask())
    const after = await stats()
    // 'burst' (8) runs out after 7 more: the rest are 429 from the first rule, still one call.
    expect(decisions.map((d) => d.status)).toEqual([...Array(7).fill(200), ...Array(5).fill(429)])
    expect(delta(after, before, 'evalsha') + delta(after, before, 'eval')).toBe(12)
    expect(delta(after, before, 'eval')).toBe(0)
    expect(delta(after, before, 'time')).toBe(12)
    // 4 checks each while admitted; a denial at the first check stops the script there.
    expect(delta(after, before, 'set')).toBe(7 * 4 + 5 * 1)
    expect(parseRateLimit(decisions[0]!).map((i) => i.name)).toEqual([
      'burst',
      'minute',
      'tiers.0',
      'tiers.1',
    ])
    expect(decisions[0]!.results.map((r) => [r.ruleId, r.outcome])).toEqual([
      ['burst', 'pass'],
      ['minute', 'pass'],
      ['tiers', 'pass'],
      ['admin', 'skip'],
    ])
    expect(decisions[11]!.ruleId).toBe('burst')
    // The two limits of 'tiers' share the owner's hash tag, so they stay in one slot.
    const tiers = (await admin.keys(`${prefix}tiers:*`)).sort()
    expect(tiers).toEqual([
      `${prefix}tiers:0:{h:x-user=carol}`,
      `${prefix}tiers:1:{h:x-user=carol}`,
    ])
  })

  it('keys expire with their window and then disappear', async () => {
    const prefix = uniquePrefix('engine-ttl')
    const e = engine(
      [
        { id: 'fw', type: 'rateLimit', algorithm: 'fixedWindow', limit: 5, window: '300ms' },
        { id: 'sw', type: 'rateLimit', algorithm: 'slidingWindow', limit: 5, window: '300ms' },
        { id: 'tb', type: 'rateLimit', algorithm: 'tokenBucket', limit: 2, window: '300ms' },
      ],
      prefix,
    )
    // Decide well before the fixed window ends, or its key may expire before PTTL reads it.
    await awayFromWindowEnd(admin, 300, 100)
    const d = await e.decide(get('/', '203.0.113.77'))
    expect(d.code).toBe('allowed')
    const bound: Record<string, number> = { fw: 300, sw: 600, tb: 150 }
    const keys = await admin.keys(`${prefix}*`)
    expect(keys.map((k) => k.slice(prefix.length)).sort()).toEqual([
      'fw:0:{ip:203.0.113.77}',
      'sw:0:{ip:203.0.113.77}',
      'tb:0:{ip:203.0.113.77}',
    ])
    for (const key of keys) {
      const ttl = await admin.pttl(key)
      expect(ttl, key).toBeGreaterThan(0)
      expect(ttl, key).toBeLessThanOrEqual(bound[key.slice(prefix.length, prefix.length + 2)]!)
    }
    await sleep(700) // past the longest TTL (sliding: two windows)
    expect(await admin.keys(`${prefix}*`)).toEqual([])
    // And the next request starts a fresh count.
    const again = await e.decide(get('/', '203.0.113.77'))
    expect(parseRateLimit(again).map((i) => i.r)).toEqual([4, 4, 1])
  })
})
