// Floods through RedisStore (issue "Attack the whole stack", floods).
//
// 1. On the shared Redis (REDIS_URL, a prefix of this run's own, deleted afterwards): many
//    distinct clients, many decisions in flight. Every key carries a TTL, memory grows by a
//    bounded amount per key, and a victim at its limit stays limited while clients with a
//    history keep it. 250,000 clients by default; SEC_ATTACK_LONG=1 sends 1,000,000.
// 2. On a private redis-server with `--maxmemory 2mb`: what happens when Redis is full. With
//    `noeviction` (what the README recommends) the script's write fails, the store errors and the
//    engine fails closed (503): a limited victim is never admitted and no counter is reset. With
//    an evicting policy (`allkeys-lru`, `volatile-ttl`) Redis makes room by deleting counters,
//    the victim's among them, which resets its limit: the reason for the recommendation.
import { createEngine, type Decision, type Engine } from '@sec/core'
import { startRedis, type PrivateRedis } from '@sec/test-kit/redis-server'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { RedisStore, type RedisStoreOptions } from '../dist/index.js'
import { REDIS_URL, ioredis, uniquePrefix } from './clients.js'
import { awayFromWindowEnd, deleteKeys, inParallel, infoField, scanKeys } from './flood-helpers.js'

const LONG = process.env.SEC_ATTACK_LONG === '1'
const CLIENTS = LONG ? 1_000_000 : 250_000
const IN_FLIGHT = 512
const LIMIT = 5
const HOUR_MS = 3_600_000
const REGULARS = 100
/**
 * Bytes one counter may take by MEMORY USAGE beyond its key's own bytes: the 17-byte value, the
 * key and value objects' headers and the dict entry (measured: about 95).
 */
const MEMORY_USAGE_OVERHEAD_BOUND = 128
/**
 * Bytes per key by INFO used_memory growth: also counts the main and expires dict tables
 * (they double as they grow) and whatever else uses the shared Redis meanwhile.
 */
const USED_MEMORY_BOUND = 400

const rules = [{ id: 'limit', type: 'rateLimit', limit: LIMIT, window: '1h' }] as const

function engineOn(options: RedisStoreOptions): Engine {
  return createEngine({ version: 1, log: 'none', rules }, { store: new RedisStore(options) })
}

const request = (remoteAddress: string) => ({ method: 'GET', url: '/', headers: {}, remoteAddress })
/** Flood client i: IPv4 for even i, an IPv6 /64 of its own for odd i. */
function client(i: number): string {
  const n = i >>> 1
  return i % 2 === 0
    ? `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
    : `2001:db8:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::1`
}
const VICTIM = '192.0.2.66'
const regular = (i: number) => `198.51.100.${i}`

/** `r` of the RateLimit header (the one rule's remaining requests). */
function remaining(d: Decision): number {
  const m = /;r=(\d+);/.exec(d.headers.RateLimit ?? '')
  if (m === null) throw new Error(`no RateLimit header: ${JSON.stringify(d.headers)}`)
  return Number(m[1])
}

/** The victim spends its limit and is refused: returns the refusal. */
async function victimAtLimit(engine: Engine): Promise<Decision> {
  for (let n = 1; n <= LIMIT; n++) {
    const d = await engine.decide(request(VICTIM))
    expect([d.code, remaining(d)]).toEqual(['allowed', LIMIT - n])
  }
  const refused = await engine.decide(request(VICTIM))
  expect([refused.status, refused.code]).toEqual([429, 'rateLimit.exceeded'])
  return refused
}

describe(`${CLIENTS.toLocaleString('en-US')} distinct clients on the shared Redis`, () => {
  const prefix = uniquePrefix('flood')
  let admin: Redis
  let pipelined: Redis

  beforeAll(async () => {
    admin = await ioredis()
    pipelined = new Redis(REDIS_URL, {
      lazyConnect: true,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
    })
    await pipelined.connect()
  })

  afterAll(async () => {
    if (admin) await deleteKeys(admin, prefix)
    await pipelined?.quit()
    await admin?.quit()
  })

  it(
    'every key has a TTL, memory per key is bounded, the victim stays limited and regulars keep their counts',
    async () => {
      // The whole flood runs inside one hour-long window.
      await awayFromWindowEnd(admin, HOUR_MS, LONG ? 300_000 : 90_000)
      const engine = engineOn({ client: pipelined, prefix, timeoutMs: 10_000 })
      const usedBefore = await infoField(admin, 'memory', 'used_memory')
      const refused = await victimAtLimit(engine)
      for (let i = 1; i <= REGULARS; i++) {
        for (let n = 0; n < 3; n++) await engine.decide(request(regular(i)))
      }

      const startedAt = performance.now()
      const unexpected: string[] = []
      await inParallel(CLIENTS, IN_FLIGHT, async (i) => {
        const d = await engine.decide(request(client(i)))
        // Every flood client is new: admitted, with LIMIT - 1 left.
        if (d.code !== 'allowed' || remaining(d) !== LIMIT - 1) {
          unexpected.push(`${client(i)}: ${d.status} ${d.code}`)
        }
      })
      const seconds = (performance.now() - startedAt) / 1000
      expect(unexpected.slice(0, 5)).toEqual([])

      const after = await engine.decide(request(VICTIM))
      expect([after.status, after.code]).toEqual([429, 'rateLimit.exceeded'])
      expect(Number(after.headers['Retry-After'])).toBeLessThanOrEqual(
        Number(refused.headers['Retry-After']),
      )
      for (let i = 1; i <= REGULARS; i++) {
        expect(remaining(await engine.decide(request(regular(i))))).toBe(LIMIT - 4)
      }
      const usedAfter = await infoField(admin, 'memory', 'used_memory')

      // Every key of the run, by SCAN: one per client, each with a TTL within the window.
      let keys = 0
      let withoutTtl = 0
      let longestTtl = 0
      const sample: string[] = []
      await scanKeys(admin, `${prefix}*`, async (batch) => {
        keys += batch.length
        if (sample.length < 200) sample.push(...batch.slice(0, 200 - sample.length))
        const pipeline = admin.pipeline()
        for (const key of batch) pipeline.pttl(key)
        for (const [error, ttl] of (await pipeline.exec()) ?? []) {
          if (error !== null || typeof ttl !== 'number' || ttl <= 0) withoutTtl++
          else if (ttl > longestTtl) longestTtl = ttl
        }
      })
      expect(keys).toBe(CLIENTS + 1 + REGULARS)
      expect(withoutTtl).toBe(0)
      expect(longestTtl).toBeLessThanOrEqual(HOUR_MS)

      // MEMORY USAGE of a sample, less each key's length: what a counter costs besides its key.
      const overheads: number[] = []
      for (const key of sample) {
        const usage = Number(await admin.call('MEMORY', 'USAGE', key))
        overheads.push(usage - Buffer.byteLength(key))
      }
      overheads.sort((a, b) => a - b)
      const keyLength = Buffer.byteLength(sample[0]!)
      const perKey = (usedAfter - usedBefore) / keys
      console.info(
        `redis flood: ${CLIENTS.toLocaleString('en-US')} clients in ${seconds.toFixed(1)} s ` +
          `(${Math.round(CLIENTS / seconds).toLocaleString('en-US')} decisions/s, ${IN_FLIGHT} in flight); ` +
          `used_memory +${perKey.toFixed(0)} B/key; MEMORY USAGE = key length + ` +
          `${overheads[0]}-${overheads[overheads.length - 1]} B (keys of ~${keyLength} B here)`,
      )
      expect(overheads[overheads.length - 1]).toBeLessThanOrEqual(MEMORY_USAGE_OVERHEAD_BOUND)
      expect(perKey).toBeLessThanOrEqual(USED_MEMORY_BOUND)
    },
    LONG ? 900_000 : 180_000,
  )
})

describe('a full Redis (private redis-server, maxmemory 2mb)', () => {
  let server: PrivateRedis
  let admin: Redis
  let pipelined: Redis
  const prefix = 'full:'

  beforeAll(async () => {
    server = await startRedis({
      args: ['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction'],
    })
    admin = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 })
    await admin.connect()
    pipelined = new Redis(server.port, '127.0.0.1', {
      lazyConnect: true,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
    })
    await pipelined.connect()
  }, 30_000)

  afterAll(async () => {
    pipelined?.disconnect()
    admin?.disconnect()
    await server?.kill()
  })

  beforeEach(async () => {
    await admin.flushall()
    await admin.config('SET', 'maxmemory', '2mb')
    await admin.config('RESETSTAT')
    // Victims and floods below must share one hour-long window.
    await awayFromWindowEnd(admin, HOUR_MS, 60_000)
  })

  /** Sends new clients, 500 at a time, until a whole batch is refused; returns the admitted. */
  async function fillUp(engine: Engine): Promise<{ admitted: number; refused: Decision }> {
    let admitted = 0
    for (let batch = 0; batch < 100; batch++) {
      const ds = await Promise.all(
        Array.from({ length: 500 }, (_, j) => engine.decide(request(client(batch * 500 + j)))),
      )
      admitted += ds.filter((d) => d.allowed).length
      if (ds.every((d) => !d.allowed)) return { admitted, refused: ds[0]! }
    }
    throw new Error('Redis never filled up')
  }

  it('noeviction: the store errors, the engine fails closed (503), the victim is never admitted, nothing is reset', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction')
    const engine = engineOn({ client: pipelined, prefix, timeoutMs: 2_000 })
    await victimAtLimit(engine)
    const light = await engine.decide(request(regular(1))) // a client under its limit
    expect(remaining(light)).toBe(LIMIT - 1)

    const { admitted, refused } = await fillUp(engine)
    expect(admitted).toBeGreaterThan(1_000) // ~6,000 counters fit in 2 MB
    expect([refused.status, refused.code]).toEqual([503, 'store.unavailable'])
    const error = refused.results.find((r) => r.outcome === 'error')
    expect(error?.message).toMatch(/failed closed.*OOM/)
    // Keep it full: at the limit, used_memory goes up and down by more than a counter (client
    // buffers shrink once the flood's batch is read), and a write slips in whenever it dips
    // (seen: the victim got its 429 from Redis instead of a 503). Under what is used now, no
    // write gets in until memory is freed below.
    const used = await infoField(admin, 'memory', 'used_memory')
    await admin.config('SET', 'maxmemory', String(used - 256 * 1024))

    // While full, every decision fails closed: the victim, a client under its limit, new ones.
    for (const who of [VICTIM, regular(1), '203.0.113.1']) {
      for (let n = 0; n < 3; n++) {
        const d = await engine.decide(request(who))
        expect([who, d.status, d.code]).toEqual([who, 503, 'store.unavailable'])
      }
    }
    // failMode "open" would admit everyone, the victim included: never for a limit that matters.
    const open = engineOn({ client: pipelined, prefix, timeoutMs: 2_000, failMode: 'open' })
    const admittedOpen = await open.decide(request(VICTIM))
    expect([admittedOpen.allowed, admittedOpen.code]).toEqual([true, 'store.unavailable'])

    // Redis refused writes (what to alert on: errorstat_OOM) and evicted nothing: every counter
    // is still there.
    const oom = /^errorstat_OOM:count=(\d+)/m.exec(await admin.info('errorstats'))
    expect(Number(oom?.[1])).toBeGreaterThan(0)
    expect(await infoField(admin, 'stats', 'evicted_keys')).toBe(0)
    expect(await admin.exists(`${prefix}limit:0:{ip:${VICTIM}}`)).toBe(1)

    // Once memory is free again (here: the flood's keys deleted; in production: they expire),
    // decisions resume where they stood: the victim is still limited, the light client kept
    // its count (nothing the failed requests did was counted).
    await scanKeys(admin, `${prefix}limit:0:{ip:[12]0*`, async (keys) => {
      await admin.unlink(...keys)
    })
    const victim = await engine.decide(request(VICTIM))
    expect([victim.status, victim.code]).toEqual([429, 'rateLimit.exceeded'])
    expect(remaining(await engine.decide(request(regular(1))))).toBe(LIMIT - 2)
  }, 60_000)

  it.each([
    ['allkeys-lru', 20_000],
    ['volatile-ttl', 100_000],
  ] as const)(
    "%s: the flood evicts the victim's counter, and its limit resets before its window ends",
    async (policy, floodClients) => {
      await admin.config('SET', 'maxmemory-policy', policy)
      const engine = engineOn({ client: pipelined, prefix, timeoutMs: 2_000 })
      await victimAtLimit(engine)
      // LRU keeps idle time in seconds: let the victim's counter be the idlest.
      await new Promise((resolve) => setTimeout(resolve, 1_100))

      let refusedDuringFlood = 0
      await inParallel(floodClients, IN_FLIGHT, async (i) => {
        if (!(await engine.decide(request(client(i)))).allowed) refusedDuringFlood++
      })
      // Redis made room instead of refusing: every flood client got in...
      expect(refusedDuringFlood).toBe(0)
      expect(await infoField(admin, 'stats', 'evicted_keys')).toBeGreaterThan(floodClients / 2)
      // ...by deleting counters, the victim's among them (with fixed windows every counter of a
      // window expires at once, so volatile-ttl cannot tell the victim's from the flood's).
      expect(await admin.exists(`${prefix}limit:0:{ip:${VICTIM}}`)).toBe(0)
      const reset = await engine.decide(request(VICTIM))
      expect([reset.status, reset.code, remaining(reset)]).toEqual([200, 'allowed', LIMIT - 1])
    },
    60_000,
  )
})
