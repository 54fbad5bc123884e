// Shared pieces of the MemoryStore flood tests: the kinds of identity a rate limit can count
// (IPv4 and IPv6 clients, API keys, user agents), each as rules plus a request from identity
// number i, and helpers that drive an engine synchronously and measure the heap.
import { createHash } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { expect } from 'vitest'
import {
  createEngine,
  type Decision,
  type Engine,
  type Policy,
  type RateLimitAlgorithm,
  type RequestInput,
  type Store,
} from '../../src/index.js'

export type Rules = Policy['rules']

export interface IdentityKind {
  readonly name: 'ipv4' | 'ipv6' | 'apiKey' | 'userAgent'
  /**
   * Rules under which identity i has a counter of its own, in the rate-limit rule `limit`.
   * `identities` is how many identities the test will use (API keys must be in the policy).
   */
  rules(limit: number, algorithm: RateLimitAlgorithm, identities: number): Rules
  /** A request from identity i. */
  request(i: number): RequestInput
}

/** 10.0.0.0/8 holds 2^24 distinct clients. */
export function ipv4(i: number): string {
  return `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`
}

/** One address in each of 2^32 distinct /64s (IPv6 clients are counted per /64). */
export function ipv6(i: number): string {
  return `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`
}

export const apiKeyOf = (i: number): string => `flood-key-${i}`
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** Short agents for even identities, long ones (over 128 characters: keyed by hash) for odd. */
export function userAgent(i: number): string {
  return i % 2 === 0
    ? `FloodAgent/${i}`
    : `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.${i}.0 Safari/537.36 FloodTest/${i}`
}

const get = (remoteAddress: string, headers: Record<string, string> = {}): RequestInput => ({
  method: 'GET',
  url: '/',
  headers,
  remoteAddress,
})

const limitRule = (limit: number, algorithm: RateLimitAlgorithm, by: string) =>
  ({ id: 'limit', type: 'rateLimit', by, algorithm, limit, window: '1m' }) as Rules[number]

export const KINDS: readonly IdentityKind[] = [
  {
    name: 'ipv4',
    rules: (limit, algorithm) => [limitRule(limit, algorithm, 'ip')],
    request: (i) => get(ipv4(i)),
  },
  {
    name: 'ipv6',
    rules: (limit, algorithm) => [limitRule(limit, algorithm, 'ip')],
    request: (i) => get(ipv6(i)),
  },
  {
    // Verified keys, each with a counter of its own, all from one address.
    name: 'apiKey',
    rules: (limit, algorithm, identities) => [
      {
        id: 'keys',
        type: 'apiKey',
        keys: Array.from({ length: identities }, (_, i) => ({
          id: `k${i}`,
          sha256: sha256(apiKeyOf(i)),
        })),
      },
      limitRule(limit, algorithm, 'apiKey'),
    ],
    request: (i) => get('192.0.2.1', { 'x-api-key': apiKeyOf(i) }),
  },
  {
    name: 'userAgent',
    rules: (limit, algorithm) => [limitRule(limit, algorithm, 'header:user-agent')],
    request: (i) => get('192.0.2.1', { 'user-agent': userAgent(i) }),
  },
]

export function engineOn(store: Store, rules: Rules): Engine {
  return createEngine({ version: 1, log: 'none', rules }, { store })
}

/** A decision that a MemoryStore engine must give synchronously. */
export function decideNow(engine: Engine, request: RequestInput): Decision {
  const d = engine.evaluate(request)
  if (d instanceof Promise) throw new Error('a MemoryStore engine answered asynchronously')
  return d
}

/** What a client sees of a decision. */
export const seen = (d: Decision) => ({
  status: d.status,
  code: d.code,
  ruleId: d.ruleId,
  headers: d.headers,
})

/** `r` (remaining) of the named policy item in a RateLimit header. */
export function remainingOf(d: Decision, name = 'limit'): number {
  const item = (d.headers.RateLimit ?? '').split(', ').find((x) => x.startsWith(`"${name}";`))
  const m = item === undefined ? null : /;r=(\d+);/.exec(item)
  if (m === null) throw new Error(`no RateLimit item "${name}" in ${JSON.stringify(d.headers)}`)
  return Number(m[1])
}

/** Asserts a decision admitted the request with `remaining` left in rule `limit`. */
export function expectAdmitted(d: Decision, remaining: number, where: string): void {
  expect([where, d.code], where).toEqual([where, 'allowed'])
  expect(remainingOf(d), where).toBe(remaining)
}

let collect: (() => void) | undefined
/** Full garbage collection, without starting the process with --expose-gc. */
export function gc(): void {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc')
    collect = runInNewContext('gc') as () => void
  }
  collect()
  collect()
}

/** Heap and array-buffer bytes in use after a full collection. */
export function memoryAfterGc(): { heap: number; arrayBuffers: number } {
  gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, arrayBuffers: m.arrayBuffers }
}

export const MB = 1024 * 1024
