// Fuzz targets for @sec/core: each takes the fuzzer's bytes, builds an input from them, runs it
// through the public API and throws when an invariant breaks. The same functions serve
// coverage-guided fuzzing (jazzer.js, see README.md) and the corpus replay that runs in CI
// (test/attack/fuzz-corpus.test.ts). They use no test framework: a broken invariant is an Error.
import { isIP } from 'node:net'
import { createEngine, PolicyError, sha256Hex, type Decision, type Engine } from '../src/index.js'
import { isUnder, readings } from '../test/attack/router-model.js'

export type Target = (data: Uint8Array) => void

class InvariantError extends Error {
  constructor(message: string, detail: unknown) {
    super(
      `${message}: ${JSON.stringify(detail, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
    )
    this.name = 'InvariantError'
  }
}

function check(ok: boolean, message: string, detail: unknown): void {
  if (!ok) throw new InvariantError(message, detail)
}

const STATUSES = new Set([200, 400, 401, 403, 429, 503])

function checkDecision(d: unknown, detail: unknown): Decision {
  check(d !== null && typeof d === 'object' && !(d instanceof Promise), 'not a Decision', detail)
  const decision = d as Decision
  check(typeof decision.allowed === 'boolean', 'allowed is not a boolean', detail)
  check(STATUSES.has(decision.status), `unexpected status ${decision.status}`, detail)
  check(decision.allowed === (decision.status === 200), 'allowed and status disagree', detail)
  check(typeof decision.code === 'string' && decision.code !== '', 'no code', detail)
  check(
    decision.clientIp === '' || isIP(decision.clientIp) !== 0,
    `clientIp ${JSON.stringify(decision.clientIp)} is not an address`,
    detail,
  )
  check(Array.isArray(decision.results), 'results is not an array', detail)
  return decision
}

/** Bytes as the fuzzer gives them, read as the latin1 text Node makes of header bytes. */
function latin1(data: Uint8Array, from = 0, to = data.length): string {
  let out = ''
  for (let i = from; i < to; i++) out += String.fromCharCode(data[i]!)
  return out
}

// ---------------------------------------------------------------------------------------------
// Target 1: request-target canonicalisation. No reading of the target by the router model may
// reach a denied or key-protected path without a denial, and no exemption may cover a target
// that some reading routes elsewhere.

const KEY = 'fuzz-key-0123456789'
const DENIED = ['/admin', '/.git', '/server-status']
const KEYED = ['/api']

const targetEngine: Engine = createEngine({
  version: 1,
  rules: [
    { id: 'health', type: 'path', action: 'allow', paths: ['/health', '/public/**'] },
    { id: 'deny', type: 'path', action: 'deny', paths: DENIED.flatMap((p) => [p, `${p}/**`]) },
    { id: 'keys', type: 'apiKey', paths: ['/api/**'], keys: [{ id: 'k', sha256: sha256Hex(KEY) }] },
  ],
})

/** The request-target the bytes stand for: UTF-8 text, with a `/` in front half the time. */
export function requestTargetOf(data: Uint8Array): string {
  const text = new TextDecoder().decode(data.subarray(1))
  return data[0]! % 2 === 0 && !text.startsWith('/') ? `/${text}` : text
}

export const fuzzRequestTarget: Target = (data) => {
  if (data.length === 0) return
  const url = requestTargetOf(data)
  const d = checkDecision(
    targetEngine.evaluate({ method: 'GET', url, headers: {}, remoteAddress: '203.0.113.1' }),
    url,
  )
  if (url.length > 4096) return // the router model is for paths of ordinary length
  const seen = readings(url)
  for (const r of seen) {
    const folded = r.toLowerCase()
    if (DENIED.some((p) => isUnder(folded, p))) {
      check(['path.denied', 'request.invalid'].includes(d.code), `denied path reached (${r})`, {
        url,
        code: d.code,
      })
    } else if (KEYED.some((p) => isUnder(folded, p))) {
      check(!d.allowed, `key-protected path reached without a key (${r})`, { url, code: d.code })
    }
  }
  if (d.allowed && d.ruleId === 'health') {
    for (const r of seen) {
      const exempt = r === '/health' || r === '/public' || r.startsWith('/public/')
      check(exempt, `exemption covers a reading outside it (${r})`, { url })
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Target 2: client address from forwarding headers. The client core picks is the one a
// reference walk picks: never a hop left of the first untrusted one.

const TRUSTS: readonly (boolean | number | string[])[] = [
  false,
  true,
  1,
  3,
  ['loopback'],
  ['private', '2001:db8::/32'],
  ['10.0.0.0/8', '127.0.0.1', '::ffff:192.0.2.0/120'],
]
const clientEngines = new Map<string, Engine>()

function clientEngine(trust: number, header: 'x-forwarded-for' | 'forwarded'): Engine {
  const key = `${trust}:${header}`
  let engine = clientEngines.get(key)
  if (engine === undefined) {
    engine = createEngine({
      version: 1,
      clientIp: { trustProxy: TRUSTS[trust]!, header },
      rules: [],
    })
    clientEngines.set(key, engine)
  }
  return engine
}

/** The reference reading of one address: strict IPv4, or IPv6 (mapped IPv4 is IPv4). */
export function referenceAddress(text: string): string | undefined {
  if (text.length > 100) return undefined // core's cap: longer text is never an address
  if (
    /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(text)
  ) {
    return text
  }
  if (!text.includes(':') || !/^[0-9a-fA-F:.]+(?:%[0-9A-Za-z._~-]+)?$/.test(text)) return undefined
  const bare = text.replace(/%.*$/, '')
  // WHATWG URL accepts a few forms RFC 4291 text does not (none here: only hex, `:` and `.`).
  let host: string
  try {
    host = new URL(`http://[${bare}]/`).hostname.slice(1, -1)
  } catch {
    return undefined
  }
  if (
    bare.includes('.') &&
    !/(?:^|:)(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(
      bare,
    )
  ) {
    return undefined // a dotted tail must be strict IPv4 too
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host)
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16)
    const lo = parseInt(mapped[2]!, 16)
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  return host
}

/** A hop as written in X-Forwarded-For or a Forwarded `for`: address, `[v6]`, with a port. */
export function referenceHop(raw: string): string | undefined {
  const text = raw.replace(/^[ \t]+|[ \t]+$/g, '')
  const bracket = /^\[([^\]]*)\](?::(\d{1,5}|_[0-9A-Za-z._-]+))?$/.exec(text)
  if (bracket) {
    if (!bracket[1]!.includes(':')) return undefined
    if (bracket[2] !== undefined && /^\d/.test(bracket[2]) && Number(bracket[2]) > 65535)
      return undefined
    return referenceAddress(bracket[1]!)
  }
  if (text.startsWith('[')) return undefined
  const direct = referenceAddress(text)
  if (direct !== undefined) return direct
  const port = /^([^:]+):(\d{1,5}|_[0-9A-Za-z._-]+)$/.exec(text)
  if (!port || (/^\d/.test(port[2]!) && Number(port[2]) > 65535)) return undefined
  const host = referenceAddress(port[1]!)
  return host !== undefined && !host.includes(':') ? host : undefined
}

function inCidr(address: string, cidr: string): boolean {
  const [net, bits] = cidr.includes('/') ? cidr.split('/') : [cidr, undefined]
  const a = toBigInt(address)
  const n = toBigInt(referenceAddress(net!) ?? '')
  if (a === undefined || n === undefined || a.v !== n.v) return false
  const width = a.v === 4 ? 32 : 128
  let prefix = bits === undefined ? width : Number(bits)
  if (n.v === 4 && net!.includes(':')) prefix -= 96 // an IPv4-mapped range is an IPv4 range
  const shift = BigInt(width - prefix)
  return a.n >> shift === n.n >> shift
}

function toBigInt(address: string): { v: 4 | 6; n: bigint } | undefined {
  if (address === '') return undefined
  if (!address.includes(':')) {
    return { v: 4, n: address.split('.').reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) }
  }
  const [head, tail] = address.split('::') as [string, string | undefined]
  const groups = (s: string | undefined) => (s ? s.split(':') : [])
  const h = groups(head)
  const t = groups(tail)
  const all =
    tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  return { v: 6, n: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) }
}

const KEYWORD_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
}

function referenceTrusted(
  trust: boolean | number | string[],
  address: string,
  hop: number,
): boolean {
  if (trust === false) return false
  if (trust === true) return true
  if (typeof trust === 'number') return hop < trust
  return trust.some((e) => (KEYWORD_RANGES[e] ?? [e]).some((c) => inCidr(address, c)))
}

/** X-Forwarded-For hops of several lines, left to right; an empty line is skipped. */
function xffHops(lines: readonly string[]): string[] {
  return lines.filter((l) => !/^[ \t]*$/.test(l)).flatMap((l) => l.split(','))
}

export const fuzzClientIp: Target = (data) => {
  if (data.length < 2) return
  const trust = data[0]! % TRUSTS.length
  // Header lines are separated by byte 0x0a; the first line is the peer address.
  const [peer = '', ...lines] = latin1(data, 2).split('\n')
  const engine = clientEngine(trust, 'x-forwarded-for')
  const asLines = data[1]! % 2 === 0
  const headers = asLines ? { 'x-forwarded-for': lines } : { 'x-forwarded-for': lines.join(',') }
  const detail = { trust: TRUSTS[trust], peer, lines, asLines }
  const d = checkDecision(
    engine.evaluate({ method: 'GET', url: '/', headers, remoteAddress: peer }),
    detail,
  )

  const trusted = TRUSTS[trust]!
  let expected = referenceAddress(peer) ?? ''
  if (expected !== '' && referenceTrusted(trusted, expected, 0) && lines.length > 0) {
    const hops = xffHops(asLines ? lines : [lines.join(',')]).reverse()
    for (let i = 0; i < hops.length; i++) {
      const next = referenceHop(hops[i]!)
      if (next === undefined) {
        expected = ''
        break
      }
      expected = next
      if (!referenceTrusted(trusted, next, i + 1)) break
    }
  }
  check(
    d.clientIp === expected,
    `client ${JSON.stringify(d.clientIp)}, reference ${JSON.stringify(expected)}`,
    detail,
  )

  // The same text as Forwarded: whatever core picks is the peer or some hop's address, and
  // never a hop whose right-hand neighbours are not all trusted.
  const fwd = clientEngine(trust, 'forwarded')
  const f = checkDecision(
    fwd.evaluate({ method: 'GET', url: '/', headers: { forwarded: lines }, remoteAddress: peer }),
    detail,
  )
  if (f.clientIp !== '' && f.clientIp !== (referenceAddress(peer) ?? '')) {
    check(trusted !== false, 'Forwarded read without a trusted proxy', {
      ...detail,
      client: f.clientIp,
    })
  }
}

// ---------------------------------------------------------------------------------------------
// Target 3: policy text. Any JSON (or not) is refused with a PolicyError whose problems name
// JSON Pointers, or compiles into an engine that decides; Object.prototype stays untouched.

const PRISTINE = Object.getOwnPropertyNames(Object.prototype).join(',')

export const fuzzPolicy: Target = (data) => {
  const text = new TextDecoder().decode(data)
  let engine: Engine
  try {
    engine = createEngine(text)
  } catch (error) {
    check(error instanceof PolicyError, `createEngine threw ${String(error)}`, text.slice(0, 200))
    for (const e of (error as PolicyError).errors) {
      check(e.path === '' || e.path.startsWith('/'), 'problem path is not a JSON Pointer', e)
    }
    check(
      Object.getOwnPropertyNames(Object.prototype).join(',') === PRISTINE,
      'prototype polluted',
      text,
    )
    return
  }
  for (const url of ['/', '/admin/x', '/api/x?api_key=k']) {
    const d = engine.evaluate({
      method: 'GET',
      url,
      headers: { 'user-agent': 'x' },
      remoteAddress: '10.0.0.1',
    })
    if (!(d instanceof Promise)) checkDecision(d, text.slice(0, 200))
  }
  check(
    Object.getOwnPropertyNames(Object.prototype).join(',') === PRISTINE,
    'prototype polluted',
    text,
  )
}

/** Every target by the name of its corpus folder (fuzz/corpus/<name>/). */
export const TARGETS: Readonly<Record<string, Target>> = {
  'request-target': fuzzRequestTarget,
  'client-ip': fuzzClientIp,
  policy: fuzzPolicy,
}
