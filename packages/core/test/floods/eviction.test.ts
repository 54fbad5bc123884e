// Floods against a full MemoryStore (issue "Attack the whole stack", floods). The store holds at
// most maxKeys keys, so a flood of new keys must evict something; these tests pin down what:
// a client at or over its limit is never the one evicted by a flood of fresh keys, so flooding
// (one's own or a botnet's requests) cannot reset a limit before its window allows, and every
// client that remains gets exactly the decisions an unflooded store would give. The last tests
// show what the bound trades away. Every kind of identity a rule counts by is flooded.
import { describe, expect, it } from 'vitest'
import { MemoryStore, type RateLimitAlgorithm } from '../../src/index.js'
import {
  KINDS,
  decideNow,
  engineOn,
  expectAdmitted,
  ipv4,
  remainingOf,
  seen,
  type Rules,
} from './flood-kit.js'

const MAX_KEYS = 10_000
const FLOOD = 2 * MAX_KEYS
const LIMIT = 5
const WINDOW_MS = 60_000
/** A minute boundary plus 1 s: the fixed window has 59 s left. */
const T0 = 1_700_000_040_000 + 1_000
const ALGORITHMS: readonly RateLimitAlgorithm[] = ['fixedWindow', 'slidingWindow', 'tokenBucket']

// Identity numbers: the victim, clients with a little history, then the flood.
const VICTIM = 0
const REGULARS = 100 // identities 1..100, 3 requests each before the flood
const FLOOD_FROM = 1_000

describe.each(KINDS.map((k) => [k.name, k] as const))('flooding %s clients', (_name, kind) => {
  // One policy per kind and algorithm; the API-key policy lists every key the test uses.
  const rulesFor = (algorithm: RateLimitAlgorithm): Rules =>
    kind.rules(LIMIT, algorithm, FLOOD_FROM + FLOOD)

  it.each(ALGORITHMS)(
    '%s: a client at its limit stays limited through 2 x maxKeys new clients, and is admitted when the window allows',
    (algorithm) => {
      const clock = { t: T0 }
      const now = () => clock.t
      const store = new MemoryStore({ maxKeys: MAX_KEYS, now })
      const rules = rulesFor(algorithm)
      const flooded = engineOn(store, rules)
      // The reference: the same requests at the same times, on a store that never fills up.
      const quiet = engineOn(new MemoryStore({ now }), rules)
      /** Identity i's request on both engines: the flooded one must answer as the quiet one. */
      const both = (i: number, where: string) => {
        const d = decideNow(flooded, kind.request(i))
        expect(seen(d), where).toEqual(seen(decideNow(quiet, kind.request(i))))
        return d
      }

      for (let n = 1; n <= LIMIT; n++) expectAdmitted(both(VICTIM, 'victim'), LIMIT - n, 'victim')
      const limited = both(VICTIM, 'victim over its limit')
      expect([limited.status, limited.code]).toEqual([429, 'rateLimit.exceeded'])
      for (let i = 1; i <= REGULARS; i++) {
        for (let n = 1; n <= 3; n++) both(i, `regular ${i}`)
      }

      // The flood: 2 x maxKeys clients never seen before, one request each. Each is admitted
      // as a new client, and the store never holds more than maxKeys keys.
      for (let i = FLOOD_FROM; i < FLOOD_FROM + FLOOD; i++) {
        if (i % 100 === 0) clock.t++ // time moves on (by 200 ms in all)
        const d = decideNow(flooded, kind.request(i))
        if (d.code !== 'allowed' || remainingOf(d) !== LIMIT - 1) {
          expectAdmitted(d, LIMIT - 1, `flood client ${i}`)
        }
        if (store.size > MAX_KEYS) expect(store.size).toBeLessThanOrEqual(MAX_KEYS)
      }
      expect(store.size).toBe(MAX_KEYS)

      // Still limited, with the same Retry-After as if there had been no flood...
      const after = both(VICTIM, 'victim after the flood')
      expect([after.status, after.code]).toEqual([429, 'rateLimit.exceeded'])
      // ...and the clients with a history kept it: their 4th request leaves LIMIT - 4.
      for (let i = 1; i <= REGULARS; i++) expectAdmitted(both(i, `regular ${i}`), LIMIT - 4, 'reg')

      // Denied until the window lets it in, exactly when the unflooded store would.
      let waitedMs = 0
      let d = after
      while (!d.allowed) {
        expect(waitedMs, 'victim admitted within two windows').toBeLessThanOrEqual(2 * WINDOW_MS)
        clock.t += 1_000
        waitedMs += 1_000
        d = both(VICTIM, `victim after ${waitedMs} ms`)
      }
      expect(waitedMs).toBeGreaterThanOrEqual(1_000)
      if (algorithm === 'fixedWindow') expect(clock.t % WINDOW_MS).toBeLessThan(1_000)
    },
  )
})

describe('what the bound trades away', () => {
  it('clients with little history are forgotten under a flood: each gets back what it had spent, no more', () => {
    const clock = { t: T0 }
    const store = new MemoryStore({ maxKeys: MAX_KEYS, now: () => clock.t })
    const engine = engineOn(store, [{ id: 'limit', type: 'rateLimit', limit: LIMIT, window: '1m' }])
    const light = 1_000 // identities 0..999: one request each, as most visitors make
    for (let i = 0; i < light; i++) expectAdmitted(decideNow(engine, req(i)), LIMIT - 1, 'light')
    for (let i = FLOOD_FROM; i < FLOOD_FROM + FLOOD; i++) decideNow(engine, req(i))

    let forgotten = 0
    for (let i = 0; i < light; i++) {
      // Spend the rest of the window's budget: a remembered client gets LIMIT - 1 more
      // requests, a forgotten one starts over and gets LIMIT: one more than its limit.
      let admitted = 0
      while (decideNow(engine, req(i)).allowed) admitted++
      expect([LIMIT - 1, LIMIT]).toContain(admitted)
      if (admitted === LIMIT) forgotten++
    }
    // The flood displaced most of them: once the store is full, each of the 11,000 evictions
    // takes one of the keys that have spent 1, about uniformly, so e^-1.1 (a third) of the
    // light clients are expected to stay. This is the price of the bound: a client that has
    // spent u requests can be forgotten, and then gets those u requests back.
    expect(forgotten).toBeGreaterThan(light / 2)
    console.info(`light clients forgotten under a 2 x maxKeys flood: ${forgotten} of ${light}`)
  })

  it('an attacker who makes every flood key spend more than the victim can reset it, at that price', () => {
    const maxKeys = 1_000
    const clock = { t: T0 }
    const store = new MemoryStore({ maxKeys, now: () => clock.t })
    const engine = engineOn(store, [
      { id: 'login', type: 'rateLimit', paths: ['/login'], limit: LIMIT, window: '1m' },
      { id: 'api', type: 'rateLimit', paths: ['/api'], limit: 100, window: '1m' },
    ])
    const login = { ...req(0), url: '/login' }
    for (let n = 0; n < LIMIT; n++) decideNow(engine, login)
    expect(decideNow(engine, login).status).toBe(429) // the victim has spent LIMIT + 1
    // Each flood client makes LIMIT + 2 admitted API requests: more than the victim spent.
    const perKey = LIMIT + 2
    let requests = 0
    for (let i = 1; i <= 2 * maxKeys; i++) {
      for (let n = 0; n < perKey; n++) {
        expect(decideNow(engine, { ...req(i), url: '/api' }).allowed).toBe(true)
        requests++
      }
    }
    // With nothing left in the store that has spent less, the victim's counter went.
    const d = decideNow(engine, login)
    expect([d.status, remainingOf(d, 'login')]).toEqual([200, LIMIT - 1])
    expect(requests).toBe(2 * maxKeys * perKey) // 14,000 admitted requests to reset 5
  })
})

const req = (i: number) => ({ method: 'GET', url: '/', headers: {}, remoteAddress: ipv4(i) })
