// RedisStore on a real 3-master Redis Cluster (started by cluster-harness.ts), through the
// ioredis `Cluster` client and node-redis `createCluster` (v5 and v4). What a cluster changes:
// a script may only touch keys of one slot, so the store keys each owner's counters under one
// hash tag and sends a request's checks as runs of same-slot keys, in order, stopping at the
// first denial. Script calls are counted on the servers (INFO commandstats), not in the client.
import { randomBytes, randomInt } from 'node:crypto'
import { createEngine, type RateLimitCheck, type RateLimitOutcome } from '@sec/core'
import { runStoreCase, storeCases } from '@sec/core/testing'
import { Cluster, Redis } from 'ioredis'
import { createCluster } from 'redis'
import { createCluster as createCluster4 } from 'redis4'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keySlot, RedisStore } from '../dist/index.js'
import { uniquePrefix } from './clients.js'
import { startCluster, type LocalCluster } from './cluster-harness.js'

let cluster: LocalCluster | undefined
/** A plain client per master, for SCAN, KEYSLOT and GET. */
const direct = new Map<number, Redis>()
const clients: Record<string, { client: unknown; close: () => Promise<unknown> }> = {}
const CLIENTS = ['ioredis Cluster', 'node-redis createCluster', 'node-redis v4 createCluster']

beforeAll(async () => {
  cluster = await startCluster()
  for (const port of cluster.ports) {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    })
    await client.connect()
    direct.set(port, client)
  }
  const root = { host: '127.0.0.1', port: cluster.ports[0]! }
  const io = new Cluster([root], { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 1 } })
  await io.connect()
  clients['ioredis Cluster'] = { client: io, close: () => io.quit() }
  const nr = createCluster({ rootNodes: [{ url: `redis://${root.host}:${root.port}` }] })
  nr.on('error', () => {})
  await nr.connect()
  clients['node-redis createCluster'] = { client: nr, close: () => nr.close() }
  const nr4 = createCluster4({ rootNodes: [{ url: `redis://${root.host}:${root.port}` }] })
  nr4.on('error', () => {})
  await nr4.connect()
  clients['node-redis v4 createCluster'] = { client: nr4, close: () => nr4.quit() }
}, 120_000)

afterAll(async () => {
  try {
    for (const { close } of Object.values(clients)) await close().catch(() => {})
    for (const client of direct.values()) client.disconnect()
  } finally {
    await cluster?.stop()
  }
}, 30_000)

const the = (): LocalCluster => {
  if (!cluster) throw new Error('cluster did not start')
  return cluster
}

/** Script executions per master port since the last reset: EVALSHA + EVAL, incl. rejected. */
function scriptCalls(): Map<number, number> {
  const out = new Map<number, number>()
  for (const port of the().ports) {
    let n = 0
    for (const line of the().cli(port, 'info', 'commandstats').split('\n')) {
      const m = /^cmdstat_(evalsha|eval):calls=(\d+).*?rejected_calls=(\d+)/.exec(line.trim())
      if (m) n += Number(m[2]) + Number(m[3])
    }
    out.set(port, n)
  }
  return out
}
function resetStats(): void {
  for (const port of the().ports) the().cli(port, 'config', 'resetstat')
}
const total = (calls: Map<number, number>): number => [...calls.values()].reduce((a, b) => a + b, 0)

/** A scope (owner) whose hash tag lands on the master at `port`, and not in `avoid` slots. */
function scopeOn(port: number, label: string, avoid: Set<number> = new Set()): string {
  for (let i = 0; ; i++) {
    const scope = `ip:${label}-${i}`
    const slot = keySlot(scope)
    if (the().slotOwner(slot) === port && !avoid.has(slot)) {
      avoid.add(slot)
      return scope
    }
  }
}

const fw = (key: string, limit: number, scope?: string, windowMs = 60_000): RateLimitCheck => ({
  key,
  algorithm: 'fixedWindow',
  limit,
  windowMs,
  cost: 1,
  ...(scope !== undefined ? { scope } : {}),
})
const brief = (outcomes: readonly RateLimitOutcome[]) =>
  outcomes.map((o) => ({ allowed: o.allowed, remaining: o.remaining }))

/** Every key under `prefix` on every master, with the port that holds it. */
async function keysUnder(prefix: string): Promise<{ key: string; port: number }[]> {
  const out: { key: string; port: number }[] = []
  for (const [port, client] of direct) {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      for (const key of keys) out.push({ key, port })
    } while (cursor !== '0')
  }
  return out
}

async function clusterKeySlot(key: string): Promise<number> {
  const client = direct.values().next().value as Redis
  return Number(await client.call('CLUSTER', 'KEYSLOT', key))
}

/** Milliseconds on Redis's clock (TIME), from one master. */
async function redisNow(): Promise<number> {
  const client = direct.values().next().value as Redis
  const [s, us] = await client.time()
  return Number(s) * 1000 + Math.floor(Number(us) / 1000)
}

describe('keySlot() agrees with CLUSTER KEYSLOT', () => {
  const alphabet = [
    'a',
    'Z',
    '0',
    ':',
    '{',
    '}',
    '{',
    '}',
    ' ',
    'é',
    '中',
    '😀',
    '\u0000',
    '\n',
    '%',
  ]
  const randomKey = (): string => {
    const n = randomInt(0, 24)
    let s = ''
    for (let i = 0; i < n; i++) {
      s +=
        randomInt(0, 3) === 0
          ? alphabet[randomInt(0, alphabet.length)]!
          : randomBytes(1).toString('hex')
    }
    return s
  }
  const fixed = [
    '',
    'foo',
    '{user1000}.following',
    '{user1000}.followers',
    'foo{}{bar}',
    'foo{{bar}}zap',
    'foo{bar}{zap}',
    '{}',
    '}{',
    '{',
    '}',
    'a{b',
    'a}b{c}',
    'sec:rl:0:{ip:203.0.113.7}',
    '{中文}x',
    '😀{😀}',
  ]

  it('for fixed edge cases and 2,000 random keys with and without {tags}', async () => {
    const keys = [...fixed, ...Array.from({ length: 2000 }, randomKey)]
    expect(keys.filter((k) => /\{[^}]+\}/.test(k)).length).toBeGreaterThan(100)
    expect(keys.filter((k) => !k.includes('{')).length).toBeGreaterThan(100)
    const client = direct.values().next().value as Redis
    const pipeline = client.pipeline()
    for (const key of keys) pipeline.call('CLUSTER', 'KEYSLOT', key)
    const replies = (await pipeline.exec())!
    const mismatches = keys
      .map((key, i) => ({ key, ours: keySlot(key), redis: Number(replies[i]![1]) }))
      .filter((r) => r.ours !== r.redis)
    expect(mismatches).toEqual([])
    // Known values from the Redis Cluster specification.
    expect(keySlot('123456789')).toBe(0x31c3 % 16384)
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'))
  })
})

describe.each(CLIENTS)('RedisStore on a 3-master cluster through %s', (name) => {
  const client = () =>
    clients[name]!.client as ConstructorParameters<typeof RedisStore>[0]['client']
  const store = (
    prefix: string,
    extra: Partial<ConstructorParameters<typeof RedisStore>[0]> = {},
  ) => new RedisStore({ client: client(), prefix, ...extra })
  const FIXED_NOW = 1_700_000_040_000

  /** Loads the script on every master, so later counts are not inflated by NOSCRIPT + EVAL. */
  async function warm(): Promise<void> {
    const s = store(uniquePrefix('warm'))
    for (const port of the().ports) await s.consume([fw('w', 10, scopeOn(port, 'warm'))])
  }

  it.each(storeCases.map((c) => [c.name, c] as const))(
    'shared table: %s',
    async (_n, storeCase) => {
      const prefix = uniquePrefix('cluster-cases')
      await runStoreCase((clock) => store(prefix, { now: clock }), storeCase)
    },
  )

  it("a request whose checks belong to one owner is one script call, on the owner's master", async () => {
    await warm()
    const prefix = uniquePrefix('one-owner')
    const s = store(prefix, { now: () => FIXED_NOW })
    for (const port of the().ports) {
      const scope = scopeOn(port, 'owner')
      const checks: RateLimitCheck[] = [
        {
          key: `burst:0:${scope}`,
          algorithm: 'fixedWindow',
          limit: 5,
          windowMs: 1000,
          cost: 1,
          scope,
        },
        {
          key: `sustained:0:${scope}`,
          algorithm: 'slidingWindow',
          limit: 50,
          windowMs: 60_000,
          cost: 1,
          scope,
        },
        {
          key: `sustained:1:${scope}`,
          algorithm: 'tokenBucket',
          limit: 500,
          windowMs: 3_600_000,
          cost: 1,
          scope,
        },
      ]
      resetStats()
      expect(brief(await s.consume(checks))).toEqual([
        { allowed: true, remaining: 4 },
        { allowed: true, remaining: 49 },
        { allowed: true, remaining: 499 },
      ])
      const calls = scriptCalls()
      expect(total(calls)).toBe(1)
      expect(calls.get(port)).toBe(1)
      const keys = await keysUnder(prefix)
      expect(keys.filter((k) => k.key.endsWith(`{${scope}}`)).map((k) => k.port)).toEqual([
        port,
        port,
        port,
      ])
    }
  })

  it('an engine decision with three limits on one client is one script call; its keys share a slot', async () => {
    await warm()
    const prefix = uniquePrefix('engine')
    const engine = createEngine(
      {
        version: 1,
        rules: [
          { id: 'burst', type: 'rateLimit', limit: 100, window: '1s' },
          {
            id: 'sustained',
            type: 'rateLimit',
            limits: [
              { limit: 1000, window: '1m' },
              { limit: 10_000, window: '1h', algorithm: 'slidingWindow' },
            ],
          },
        ],
      },
      // A fixed clock keeps the 1 s counter from expiring before it is looked up.
      { store: store(prefix, { now: () => FIXED_NOW }) },
    )
    const ips = Array.from({ length: 24 }, (_, i) => `198.51.100.${i + 1}`)
    const slots = new Set<number>()
    for (const ip of ips) {
      resetStats()
      const d = await engine.decide({ method: 'GET', url: '/x', headers: {}, remoteAddress: ip })
      expect(d.allowed).toBe(true)
      expect(total(scriptCalls())).toBe(1)
      const keys = (await keysUnder(prefix)).filter((k) => k.key.endsWith(`{ip:${ip}}`))
      expect(keys).toHaveLength(3)
      const keySlots = await Promise.all(keys.map((k) => clusterKeySlot(k.key)))
      expect(new Set(keySlots).size).toBe(1)
      expect(keySlots[0]).toBe(keySlot(`ip:${ip}`))
      expect(new Set(keys.map((k) => k.port))).toEqual(new Set([the().slotOwner(keySlots[0]!)]))
      slots.add(keySlots[0]!)
    }
    // The owners really are spread over the cluster, so the above is not one lucky slot.
    expect(new Set([...slots].map((slot) => the().slotOwner(slot))).size).toBe(3)
  })

  it('checks of owners on different masters run in order, one script per run, stopping at the first denial', async () => {
    await warm()
    const prefix = uniquePrefix('multi')
    const s = store(prefix, { now: () => FIXED_NOW })
    const [pa, pb, pc] = the().ports as [number, number, number]
    const a = scopeOn(pa, 'a')
    const b = scopeOn(pb, 'b')
    const c = scopeOn(pc, 'c')
    const checks = [fw(`r:a1:${a}`, 10, a), fw(`r:b:${b}`, 1, b), fw(`r:c:${c}`, 10, c)]

    resetStats()
    expect(brief(await s.consume(checks))).toEqual([
      { allowed: true, remaining: 9 },
      { allowed: true, remaining: 0 },
      { allowed: true, remaining: 9 },
    ])
    expect([...scriptCalls()]).toEqual([
      [pa, 1],
      [pb, 1],
      [pc, 1],
    ])

    resetStats()
    expect(brief(await s.consume(checks))).toEqual([
      { allowed: true, remaining: 8 },
      { allowed: false, remaining: 0 },
    ])
    // c's master never heard of the second request.
    expect([...scriptCalls()]).toEqual([
      [pa, 1],
      [pb, 1],
      [pc, 0],
    ])
    // c was consumed once, a twice.
    expect(brief(await s.consume([fw(`r:c:${c}`, 10, c), fw(`r:a1:${a}`, 10, a)]))).toEqual([
      { allowed: true, remaining: 8 },
      { allowed: true, remaining: 7 },
    ])

    // Interleaved owners: a, a, b(denied), a → runs [a a] [b]; the last a is never sent.
    resetStats()
    const interleaved = [
      fw(`r:a2:${a}`, 5, a),
      fw(`r:a3:${a}`, 5, a),
      fw(`r:b:${b}`, 1, b),
      fw(`r:a4:${a}`, 5, a),
    ]
    expect(brief(await s.consume(interleaved))).toEqual([
      { allowed: true, remaining: 4 },
      { allowed: true, remaining: 4 },
      { allowed: false, remaining: 0 },
    ])
    expect(total(scriptCalls())).toBe(2)
    expect(await keysUnder(`${prefix}r:a4:`)).toEqual([])

    // A denial in the first run sends nothing else.
    resetStats()
    const denyFirst = [fw(`r:b:${b}`, 1, b), fw(`r:a5:${a}`, 5, a), fw(`r:c2:${c}`, 5, c)]
    expect(brief(await s.consume(denyFirst))).toEqual([{ allowed: false, remaining: 0 }])
    expect(total(scriptCalls())).toBe(1)
    expect(await keysUnder(`${prefix}r:a5:`)).toEqual([])
    expect(await keysUnder(`${prefix}r:c2:`)).toEqual([])
  })

  it('checks without a scope each get their own slot and still work in order', async () => {
    const prefix = uniquePrefix('noscope')
    const s = store(prefix, { now: () => FIXED_NOW })
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6']
    // Several slots on several masters, so several runs.
    expect(new Set(keys.map((k) => the().slotOwner(keySlot(k)))).size).toBeGreaterThan(1)
    const checks = keys.map((k, i) => fw(k, i === 3 ? 1 : 10))
    expect(brief(await s.consume(checks)).map((o) => o.remaining)).toEqual([9, 9, 9, 0, 9, 9])
    expect(brief(await s.consume(checks))).toEqual([
      { allowed: true, remaining: 8 },
      { allowed: true, remaining: 8 },
      { allowed: true, remaining: 8 },
      { allowed: false, remaining: 0 },
    ])
    expect(brief(await s.consume(checks.slice(4)))).toEqual([
      { allowed: true, remaining: 8 },
      { allowed: true, remaining: 8 },
    ])
  })

  describe('exact limits under concurrency, on Redis TIME', () => {
    /** Keeps a fixed-window test off an hour boundary of Redis's clock. */
    async function awayFromHourBoundary(): Promise<void> {
      const into = (await redisNow()) % 3_600_000
      if (into > 3_600_000 - 10_000) await new Promise((r) => setTimeout(r, 3_600_000 - into + 100))
    }

    it.each(['fixedWindow', 'slidingWindow', 'tokenBucket'] as const)(
      '200 concurrent consumes of one %s key with limit 50 admit exactly 50',
      async (algorithm) => {
        if (algorithm === 'fixedWindow') await awayFromHourBoundary()
        const s = store(uniquePrefix('exact'))
        const scope = `ip:exact-${algorithm}`
        const check: RateLimitCheck = {
          key: `r:0:${scope}`,
          algorithm,
          limit: 50,
          windowMs: 3_600_000,
          cost: 1,
          scope,
        }
        const outcomes = await Promise.all(Array.from({ length: 200 }, () => s.consume([check])))
        const admitted = outcomes.filter((o) => o[0]!.allowed)
        expect(admitted).toHaveLength(50)
        expect(new Set(admitted.map((o) => o[0]!.remaining))).toEqual(
          new Set(Array.from({ length: 50 }, (_, i) => i)),
        )
        expect(outcomes.every((o) => o.length === 1)).toBe(true)
      },
    )

    it('two owners on different masters: the first limit admits exactly 50, the second counts exactly those', async () => {
      await awayFromHourBoundary()
      const s = store(uniquePrefix('exact2'))
      const a = scopeOn(the().ports[0]!, 'ea')
      const b = scopeOn(the().ports[1]!, 'eb')
      const checks = [fw(`r:a:${a}`, 50, a, 3_600_000), fw(`r:b:${b}`, 1000, b, 3_600_000)]
      const outcomes = await Promise.all(Array.from({ length: 200 }, () => s.consume(checks)))
      expect(outcomes.filter((o) => o.length === 2 && o.every((x) => x.allowed))).toHaveLength(50)
      expect(outcomes.filter((o) => o.length === 1 && !o[0]!.allowed)).toHaveLength(150)
      expect(brief(await s.consume([checks[1]!]))).toEqual([
        { allowed: true, remaining: 1000 - 51 },
      ])
    })

    it('two stores with different clients sharing a prefix admit exactly 50 together', async () => {
      await awayFromHourBoundary()
      const prefix = uniquePrefix('exact-shared')
      const other = CLIENTS.find((n) => n !== name)!
      const stores = [
        store(prefix),
        new RedisStore({ client: clients[other]!.client as never, prefix }),
      ]
      const check = fw('r:0:ip:shared', 50, 'ip:shared', 3_600_000)
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, (_, i) => stores[i % 2]!.consume([check])),
      )
      expect(outcomes.filter((o) => o[0]!.allowed)).toHaveLength(50)
    })
  })
})
