// 1,000,000 distinct clients of each kind (IPv4, IPv6, API keys, user agents) through an engine
// on a MemoryStore: the store never holds more than maxKeys keys, the heap it takes after a full
// collection stays within a stated per-key bound, and the clients that matter come through the
// flood with exact decisions (a victim at its limit is still refused; clients with a history keep
// it). The heap is measured in this process after forced full collections (node:v8 exposes gc),
// as the growth between before the store was made and after the flood, with the store alive.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { MemoryStore, type RequestInput } from '../../src/index.js'
import {
  KINDS,
  MB,
  apiKeyOf,
  decideNow,
  engineOn,
  expectAdmitted,
  ipv4,
  memoryAfterGc,
  remainingOf,
  type IdentityKind,
  type Rules,
} from './flood-kit.js'

const N = 1_000_000
const MAX_KEYS = 100_000
const LIMIT = 5
const T0 = 1_700_000_040_000 + 1_000 // a minute boundary plus 1 s; the clock stands still
const REGULARS = 1_000 // identities 1..1000: 3 requests each before the flood
const FLOOD_FROM = 10_000
/**
 * Heap per key a store may take, engine included: the Map entry, the key string (a copy), the
 * slot -> key array. Measured about 75-80 B for IPv4 keys and up to ~150 B for the longest keys
 * here (user agents of 128 encoded characters); the bound leaves room for V8's Map growth
 * (its table doubles) and the noise of measuring inside the test process.
 */
const HEAP_PER_KEY = { ipv4: 160, ipv6: 200, apiKey: 160, userAgent: 320 } as const
/** Typed-array columns: 37 bytes per slot, allocated up to maxKeys. */
const ARRAYS_PER_KEY = 40
/** Fixed costs: the engine, the compiled policy, measurement noise. */
const SLACK = 4 * MB

interface FloodResult {
  maxSize: number
  heapPerKey: number
  arraysPerKey: number
}

/**
 * Runs `before`, then `flood(i)` for i in [0, N) checking the store's size after every decision,
 * then `after`; measures the heap the store and engine kept.
 */
function measureFlood(
  store: MemoryStore,
  flood: (i: number) => void,
  around: { before(): void; after(): void },
): FloodResult {
  const start = memoryAfterGc()
  around.before()
  let maxSize = store.size
  for (let i = 0; i < N; i++) {
    flood(i)
    if (store.size > maxSize) maxSize = store.size
  }
  around.after()
  const end = memoryAfterGc()
  // The store is used after the measurement, so it is alive during it.
  expect(store.size).toBeLessThanOrEqual(store.maxKeys)
  return {
    maxSize,
    heapPerKey: (end.heap - start.heap) / store.maxKeys,
    arraysPerKey: (end.arrayBuffers - start.arrayBuffers) / store.maxKeys,
  }
}

function expectWithinBound(name: keyof typeof HEAP_PER_KEY, r: FloodResult, maxKeys: number) {
  console.info(
    `${name}: ${N.toLocaleString('en-US')} clients, max size ${r.maxSize}, heap ` +
      `${r.heapPerKey.toFixed(0)} B/key, typed arrays ${r.arraysPerKey.toFixed(0)} B/key ` +
      `(maxKeys ${maxKeys.toLocaleString('en-US')})`,
  )
  expect(r.maxSize).toBe(maxKeys)
  expect(r.heapPerKey * maxKeys).toBeLessThanOrEqual(HEAP_PER_KEY[name] * maxKeys + SLACK)
  expect(r.arraysPerKey * maxKeys).toBeLessThanOrEqual(ARRAYS_PER_KEY * maxKeys + SLACK)
}

/** The victim (identity 0) at its limit and the regulars, before and after a flood. */
function victimAndRegulars(decide: (i: number) => ReturnType<typeof decideNow>) {
  return {
    before() {
      for (let n = 1; n <= LIMIT; n++) expectAdmitted(decide(0), LIMIT - n, 'victim')
      expect(decide(0).status).toBe(429)
      for (let i = 1; i <= REGULARS; i++) for (let n = 0; n < 3; n++) decide(i)
    },
    after() {
      const d = decide(0)
      expect([d.status, d.code], 'victim after the flood').toEqual([429, 'rateLimit.exceeded'])
      for (let i = 1; i <= REGULARS; i++) expectAdmitted(decide(i), LIMIT - 4, `regular ${i}`)
    },
  }
}

describe('1,000,000 distinct clients through an engine on a MemoryStore', () => {
  const floodKinds = KINDS.filter((k) => k.name !== 'apiKey')

  it.each(floodKinds.map((k) => [k.name, k] as const))(
    '%s: size never exceeds maxKeys, memory stays bounded, remaining clients decide exactly',
    (_name, kind: IdentityKind) => {
      const store = new MemoryStore({ maxKeys: MAX_KEYS, now: () => T0 })
      const engine = engineOn(store, kind.rules(LIMIT, 'fixedWindow', 0))
      const decide = (i: number) => decideNow(engine, kind.request(i))
      const result = measureFlood(
        store,
        (i) => {
          const d = decide(FLOOD_FROM + i)
          if (!d.allowed) expect(d.code, `flood client ${i}`).toBe('allowed')
        },
        victimAndRegulars(decide),
      )
      expectWithinBound(kind.name, result, MAX_KEYS)
    },
    120_000,
  )

  it('API keys: a million invented keys from a million addresses are refused and counted per address only; real keys keep their counts', () => {
    const valid = 101 // k0..k99 are used during the flood, k100 is the victim
    const keyLimit = 200
    const rules: Rules = [
      // A guard per address in front of authentication: every attempt counts, valid or not.
      { id: 'per-ip', type: 'rateLimit', by: 'ip', limit: 1_000, window: '1m' },
      {
        id: 'keys',
        type: 'apiKey',
        keys: Array.from({ length: valid }, (_, i) => ({ id: `k${i}`, sha256: sha256(i) })),
      },
      { id: 'limit', type: 'rateLimit', by: 'apiKey', limit: keyLimit, window: '1m' },
    ]
    const store = new MemoryStore({ maxKeys: MAX_KEYS, now: () => T0 })
    const engine = engineOn(store, rules)
    const request = (address: string, key: string): RequestInput => ({
      method: 'GET',
      url: '/api/data',
      headers: { 'x-api-key': key },
      remoteAddress: address,
    })
    const victim = () => decideNow(engine, request('192.0.2.9', apiKeyOf(100)))
    const result = measureFlood(
      store,
      (i) => {
        const address = ipv4(FLOOD_FROM + i)
        if (i % 100 === 99) {
          // One request in 100 carries a real key (k0..k99, 100 requests each in all).
          const d = decideNow(engine, request(address, apiKeyOf(Math.floor(i / 100) % 100)))
          if (!d.allowed) expect(d.code, `key request ${i}`).toBe('allowed')
        } else {
          const d = decideNow(engine, request(address, `invented-${i}`))
          if (d.code !== 'apiKey.invalid') expect(d.code).toBe('apiKey.invalid')
        }
      },
      {
        before() {
          for (let n = 1; n <= keyLimit; n++) expect(victim().allowed).toBe(true)
          expect(victim().status).toBe(429)
        },
        after() {
          const d = victim()
          expect([d.status, d.ruleId]).toEqual([429, 'limit'])
          // Each real key was used 100 times in the flood: its next request leaves 99.
          for (let k = 0; k < 100; k++) {
            const next = decideNow(engine, request('192.0.2.10', apiKeyOf(k)))
            expect([`k${k}`, remainingOf(next, 'limit')]).toEqual([`k${k}`, keyLimit - 101])
          }
        },
      },
    )
    expectWithinBound('apiKey', result, MAX_KEYS)
  }, 120_000)

  it('IPv6: 100,000 addresses inside one /64 are one client', () => {
    const store = new MemoryStore({ now: () => T0 })
    const engine = engineOn(store, KINDS[1]!.rules(LIMIT, 'fixedWindow', 0))
    let admitted = 0
    for (let i = 0; i < 100_000; i++) {
      const host = `${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`
      const d = decideNow(engine, {
        method: 'GET',
        url: '/',
        headers: {},
        remoteAddress: `2001:db8:7:7::${host}`,
      })
      if (d.allowed) admitted++
    }
    expect([admitted, store.size]).toEqual([LIMIT, 1])
  }, 120_000)

  it('the default store holds 1,000,000 IPv4 clients in under 128 MB of heap', () => {
    const store = new MemoryStore({ now: () => T0 })
    const engine = engineOn(store, KINDS[0]!.rules(100, 'fixedWindow', 0))
    const start = memoryAfterGc()
    for (let i = 0; i < N; i++) decideNow(engine, KINDS[0]!.request(i))
    const end = memoryAfterGc()
    expect(store.size).toBe(N)
    const heapMb = (end.heap - start.heap) / MB
    const arraysMb = (end.arrayBuffers - start.arrayBuffers) / MB
    console.info(
      `default MemoryStore, 1,000,000 IPv4 keys: heap ${heapMb.toFixed(1)} MB, typed arrays ${arraysMb.toFixed(1)} MB`,
    )
    expect(heapMb).toBeLessThan(128)
    expect(arraysMb).toBeLessThan((ARRAYS_PER_KEY * N) / MB)
  }, 120_000)
})

function sha256(i: number): string {
  return createHash('sha256').update(apiKeyOf(i)).digest('hex')
}
