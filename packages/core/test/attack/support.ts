// Shared helpers of the attack campaign (test/attack/*.test.ts): run budgets, the shape every
// Decision and DecisionEvent must have, and hostile values.
import { isIP } from 'node:net'
import { expect } from 'vitest'
import type { Decision, DecisionEvent } from '../../src/index.js'

/** `SEC_ATTACK_LONG=1` multiplies every fast-check budget (a long local or nightly run). */
export const LONG = process.env.SEC_ATTACK_LONG === '1'

/** Per-test timeout for property tests: generous in CI (a loaded 2-core box), long runs more. */
export const TIMEOUT = LONG ? 60 * 60_000 : 120_000

/** fast-check runs: `n` in CI, 20 × n with SEC_ATTACK_LONG=1. */
export function runs(n: number): number {
  return LONG ? n * 20 : n
}

const STATUSES = new Set([200, 400, 401, 403, 429, 503])
const OUTCOMES = new Set(['allow', 'deny', 'pass', 'skip', 'error'])
/** Characters escapeControl must have escaped in a logged field. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

function isStringRecord(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  return Object.values(value).every((v) => typeof v === 'string')
}

/** Throws (an expect failure) unless `d` is a well-formed Decision. */
export function expectDecision(d: unknown, what = ''): asserts d is Decision {
  expect(d !== null && typeof d === 'object', what).toBe(true)
  const decision = d as Decision
  expect(typeof decision.allowed, what).toBe('boolean')
  expect(STATUSES.has(decision.status), `${what} status ${decision.status}`).toBe(true)
  expect(decision.allowed, what).toBe(decision.status === 200)
  expect(typeof decision.code === 'string' && decision.code !== '', what).toBe(true)
  if (decision.allowed) expect(['allowed', 'store.unavailable'], what).toContain(decision.code)
  expect(typeof decision.message, what).toBe('string')
  // The client is either unknown or a canonical address, never text the client wrote.
  expect(
    decision.clientIp === '' || isIP(decision.clientIp) !== 0,
    `${what} clientIp ${decision.clientIp}`,
  ).toBe(true)
  expect(isStringRecord(decision.headers), what).toBe(true)
  expect(Array.isArray(decision.results), what).toBe(true)
  for (const r of decision.results) {
    expect(typeof r.ruleId === 'string' && typeof r.type === 'string', what).toBe(true)
    expect(OUTCOMES.has(r.outcome), what).toBe(true)
  }
  if (decision.ruleId !== undefined) expect(typeof decision.ruleId, what).toBe('string')
  if (decision.apiKeyId !== undefined) expect(typeof decision.apiKeyId, what).toBe('string')
  // Serialisable: adapters send parts of it, sinks log it.
  expect(() => JSON.stringify(decision), what).not.toThrow()
}

/** Throws unless `e` is a well-formed DecisionEvent with every logged text escaped. */
export function expectEvent(e: DecisionEvent, what = ''): void {
  for (const field of ['method', 'path', 'clientIp', 'userAgent', 'code'] as const) {
    expect(typeof e[field], `${what} event.${field}`).toBe('string')
    expect(CONTROL.test(e[field]), `${what} event.${field} holds a control character`).toBe(false)
  }
  expect(typeof e.allowed, what).toBe('boolean')
  expect(Number.isFinite(e.time) && Number.isFinite(e.durationMs), what).toBe(true)
  expect(e.userAgent.length, what).toBeLessThanOrEqual(256 * 6 + 1) // 256 chars, escaped
}

/** An object that throws on every kind of access: a hostile Proxy. */
export function throwingProxy<T extends object>(target: T = {} as T): T {
  const boom = (): never => {
    throw new Error('hostile proxy')
  }
  return new Proxy(target, {
    get: boom,
    has: boom,
    ownKeys: boom,
    getOwnPropertyDescriptor: boom,
    getPrototypeOf: boom,
    apply: boom,
    construct: boom,
  })
}

/** A string of arbitrary UTF-16 code units, lone surrogates included. */
export function utf16(units: readonly number[]): string {
  let out = ''
  for (const u of units) out += String.fromCharCode(u)
  return out
}

/** Bytes as Node hands header bytes over: one latin1 character per byte (invalid UTF-8 too). */
export function latin1(bytes: readonly number[]): string {
  return utf16(bytes.map((b) => b & 0xff))
}

/** Fastest of `runs` timings of `f`, in ms. */
export function fastest(f: () => void, times: number): number {
  let best = Infinity
  for (let i = 0; i < times; i++) {
    const start = performance.now()
    f()
    best = Math.min(best, performance.now() - start)
  }
  return best
}

/** Checks that Object.prototype has no property it did not have when the tests began. */
const PRISTINE = new Set(Object.getOwnPropertyNames(Object.prototype))
export function expectPrototypeUnpolluted(): void {
  const added = Object.getOwnPropertyNames(Object.prototype).filter((n) => !PRISTINE.has(n))
  expect(added).toEqual([])
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  expect(({} as Record<string, unknown>).x).toBeUndefined()
}
