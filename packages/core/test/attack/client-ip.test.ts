// Attack class: forged forwarding headers. X-Forwarded-For and Forwarded chains of valid hops,
// ports, brackets, IPv4-mapped IPv6 and junk, split over several header lines, in every header
// shape, with trustProxy as a hop count, CIDR lists, keywords and `true`: the client IP core
// picks is exactly the one a reference walk picks, so it never comes from an untrusted hop.
// Floods: thousands of hops and Forwarded elements.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createEngine, type Policy, type RequestInput } from '../../src/index.js'
import { expectDecision, runs, TIMEOUT } from './support.js'

/** One hop as the reference sees it: its text, and its canonical address (undefined: junk). */
interface Hop {
  text: string
  ip: Ip | undefined
}
type Ip = { v: 4; n: bigint } | { v: 6; n: bigint }

const v4Text = (n: bigint) => [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.')
const v6Groups = (n: bigint) =>
  Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16))
/** RFC 5952 text, as core and WHATWG URL format IPv6. */
const v6Canonical = (n: bigint) =>
  new URL(`http://[${v6Groups(n).join(':')}]`).hostname.slice(1, -1)
const canonical = (ip: Ip) => (ip.v === 4 ? v4Text(ip.n) : v6Canonical(ip.n))

interface Range {
  text: string
  v: 4 | 6
  net: bigint
  prefix: number
}
const range = (v: 4 | 6, net: bigint, prefix: number, text?: string): Range => {
  const bits = v === 4 ? 32 : 128
  const mask = ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix)
  const start = net & mask
  return {
    v,
    net: start,
    prefix,
    text: text ?? `${v === 4 ? v4Text(start) : v6Canonical(start)}/${prefix}`,
  }
}
const inRange = (ip: Ip, r: Range) => {
  if (ip.v !== r.v) return false
  const bits = ip.v === 4 ? 32 : 128
  const shift = BigInt(bits - r.prefix)
  return ip.n >> shift === r.net >> shift
}
const KEYWORDS: Record<string, Range[]> = {
  loopback: [range(4, 0x7f000000n, 8), range(6, 1n, 128)],
  private: [
    range(4, 0x0a000000n, 8),
    range(4, 0xac100000n, 12),
    range(4, 0xc0a80000n, 16),
    range(6, 0xfc00n << 112n, 7),
  ],
}

// ------------------------------------------------------------------------------------------
// Generators: addresses (often inside trusted ranges), their spellings, junk, chains.

const v4 = fc.oneof(
  fc.bigInt({ min: 0n, max: 0xffffffffn }),
  fc.bigInt({ min: 0n, max: 0xffffffn }).map((n) => 0x7f000000n | n), // loopback
  fc.bigInt({ min: 0n, max: 0xffffffn }).map((n) => 0x0a000000n | n), // private
  fc.bigInt({ min: 0n, max: 0xffn }).map((n) => 0xcb007100n | n), // 203.0.113.0/24
)
const v6 = fc.oneof(
  fc.bigInt({ min: 1n << 112n, max: (1n << 128n) - 1n }),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => (0x20010db8n << 96n) | n), // 2001:db8::/32
  fc.bigInt({ min: 0n, max: (1n << 112n) - 1n }).map((n) => (0xfd00n << 112n) | n), // private
)
const port = fc.integer({ min: 0, max: 65535 })

/** A valid hop in one of the spellings proxies write. */
const validHop: fc.Arbitrary<Hop> = fc.oneof(
  fc.tuple(v4, fc.constantFrom('plain', 'port', 'mapped', 'mappedBracket')).chain(([n, form]) =>
    port.map((p): Hop => {
      const text = v4Text(n)
      const spelled = {
        plain: text,
        port: `${text}:${p}`,
        mapped: `::ffff:${text}`,
        mappedBracket: `[::FFFF:${text}]:${p}`,
      }[form]
      return { text: spelled, ip: { v: 4, n } }
    }),
  ),
  fc.tuple(v6, fc.constantFrom('plain', 'upper', 'bracket', 'bracketPort')).chain(([n, form]) =>
    port.map((p): Hop => {
      const full = v6Groups(n).join(':')
      const spelled = {
        plain: v6Canonical(n),
        upper: full.toUpperCase(),
        bracket: `[${full}]`,
        bracketPort: `[${v6Canonical(n)}]:${p}`,
      }[form]
      return { text: spelled, ip: { v: 6, n } }
    }),
  ),
)

const junkHop: fc.Arbitrary<Hop> = fc
  .constantFrom(
    'unknown',
    '_hidden',
    '1.2.3',
    '01.2.3.4',
    '256.1.1.1',
    '1.2.3.4.5',
    'example.com',
    '1.2.3.4:99999',
    '1.2.3.4:',
    '[1.2.3.4]',
    '[::1',
    '::ffff:zz',
    '0x7f.0.0.1',
    '2130706433',
    '1.2.3.4 5.6.7.8',
    '\u0000',
  )
  .map((text) => ({ text, ip: undefined }))

const hop = fc.oneof({ weight: 6, arbitrary: validHop }, { weight: 1, arbitrary: junkHop })

const trustArb = fc.oneof(
  fc.constant<'none'>('none'),
  fc.constant(true),
  fc.integer({ min: 1, max: 6 }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom('loopback', 'private'),
        v4.chain((n) => fc.integer({ min: 8, max: 32 }).map((p) => range(4, n, p))),
        v6.chain((n) => fc.integer({ min: 16, max: 128 }).map((p) => range(6, n, p))),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((entries) => entries),
)
type Trust = 'none' | true | number | (string | Range)[]

function trustPolicy(trust: Trust): Policy['clientIp'] | undefined {
  if (trust === 'none') return undefined
  if (trust === true || typeof trust === 'number') return { trustProxy: trust }
  return { trustProxy: trust.map((e) => (typeof e === 'string' ? e : e.text)) }
}

function isTrusted(trust: Trust, ip: Ip, index: number): boolean {
  if (trust === 'none') return false
  if (trust === true) return true
  if (typeof trust === 'number') return index < trust
  return trust.some((e) => (typeof e === 'string' ? KEYWORDS[e]! : [e]).some((r) => inRange(ip, r)))
}

/** The reference walk: from the peer leftwards, past trusted hops only. */
function expectedClient(trust: Trust, peer: Hop, lines: Hop[][]): string {
  if (peer.ip === undefined) return ''
  let current: Ip = peer.ip
  if (!isTrusted(trust, current, 0)) return canonical(current)
  const hops = lines.flat().reverse()
  for (let i = 0; i < hops.length; i++) {
    const next = hops[i]!.ip
    if (next === undefined) return ''
    current = next
    if (!isTrusted(trust, current, i + 1)) return canonical(current)
  }
  return canonical(current)
}

/** A Forwarded element: `for` written the ways proxies write it, other parameters around it. */
function forwardedElement(h: Hop, style: number): string {
  // RFC 7239: an IPv6 address or a port needs quotes; anything may be quoted.
  const quoted = h.text.includes(':') || h.text.includes('[') || style % 2 === 1
  const value = quoted ? `"${h.text.replace(/["\\]/g, '\\$&')}"` : h.text
  switch (style % 3) {
    case 0:
      return `for=${value}`
    case 1:
      return `proto=https;FOR=${value};by=_p`
    default:
      return `host="a,b;c";for=${value}`
  }
}

type Shape = 'record' | 'recordArray' | 'raw' | 'web'

function headersFor(name: string, lines: string[], shape: Shape): RequestInput['headers'] {
  switch (shape) {
    case 'record':
      return { [name]: lines.join(', ') }
    case 'recordArray':
      return { [name]: lines }
    case 'raw':
      return lines.flatMap((l, i) => [i % 2 === 0 ? name : name.toUpperCase(), l])
    case 'web': {
      const h = new Headers()
      for (const l of lines) h.append(name, l)
      return h
    }
  }
}

const scenario = fc.record({
  trust: trustArb,
  forwarded: fc.boolean(),
  peer: fc.oneof({ weight: 9, arbitrary: validHop }, { weight: 1, arbitrary: junkHop }),
  lines: fc.array(fc.array(hop, { minLength: 1, maxLength: 5 }), { minLength: 0, maxLength: 3 }),
  shape: fc.constantFrom<Shape>('record', 'recordArray', 'raw', 'web'),
  style: fc.nat(),
  decoy: fc.boolean(),
})

describe('attack: forged forwarding headers', () => {
  const engines = new Map<string, ReturnType<typeof createEngine>>()
  const engineFor = (trust: Trust, forwarded: boolean) => {
    const key = JSON.stringify({ trust, forwarded }, (_, v: unknown) =>
      typeof v === 'bigint' ? String(v) : v,
    )
    let engine = engines.get(key)
    if (engine === undefined) {
      const clientIp = trustPolicy(trust)
      engine = createEngine({
        version: 1,
        ...(clientIp || forwarded
          ? { clientIp: { ...clientIp, ...(forwarded ? { header: 'forwarded' as const } : {}) } }
          : {}),
        rules: [],
      })
      engines.set(key, engine)
    }
    return engine
  }

  it(
    'picks exactly the client a reference walk picks: never an untrusted hop',
    () => {
      fc.assert(
        fc.property(scenario, ({ trust, forwarded, peer, lines, shape, style, decoy }) => {
          // The remote address is never a bracketed or ported spelling: runtimes give a bare
          // one, IPv4-mapped on a dual-stack socket (`::ffff:10.0.0.1`).
          const remote =
            peer.ip === undefined
              ? peer.text
              : peer.ip.v === 4 && style % 3 === 0
                ? `::ffff:${v4Text(peer.ip.n)}`
                : canonical(peer.ip)
          const name = forwarded ? 'forwarded' : 'x-forwarded-for'
          const texts = lines.map((line) =>
            forwarded
              ? line.map((h, i) => forwardedElement(h, style + i)).join(', ')
              : line.map((h) => h.text).join(', '),
          )
          // Web Headers refuses NUL: that junk is tried in the other shapes.
          if (shape === 'web' && texts.some((t) => t.includes('\u0000'))) return
          let headers = headersFor(name, texts, shape)
          if (decoy && !Array.isArray(headers) && !(headers instanceof Headers)) {
            // The header core does not read carries a lie; it must be ignored.
            headers = { ...headers, [forwarded ? 'x-forwarded-for' : 'forwarded']: 'for=6.6.6.6' }
          }
          const d = engineFor(trust, forwarded).evaluate({
            method: 'GET',
            url: '/',
            headers,
            remoteAddress: remote,
          })
          if (d instanceof Promise) throw new Error('expected a synchronous decision')
          expectDecision(d)
          expect(d.clientIp, JSON.stringify({ remote, texts, trust }, bigintSafe)).toBe(
            expectedClient(trust, peer, lines),
          )
        }),
        { numRuns: runs(1500) },
      )
    },
    TIMEOUT,
  )

  it('thousands of hops: the client is the first untrusted one from the right', () => {
    const many = Array.from(
      { length: 10_000 },
      (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    )
    const chain = ['6.6.6.6', '203.0.113.5', ...many].join(', ')
    const cases: [Policy['clientIp'], string][] = [
      [{ trustProxy: true }, '6.6.6.6'], // every hop trusted: the leftmost
      [{ trustProxy: ['private'] }, '203.0.113.5'],
      [{ trustProxy: ['10.0.0.0/8', '203.0.113.0/24'] }, '6.6.6.6'],
      [{ trustProxy: 3 }, many[many.length - 3]!],
      [{ trustProxy: 64 }, many[many.length - 64]!],
      [{ trustProxy: false }, '10.0.0.1'],
    ]
    for (const [clientIp, expected] of cases) {
      const engine = createEngine({ version: 1, clientIp, rules: [] })
      for (const headers of [
        { 'x-forwarded-for': chain },
        { 'x-forwarded-for': chain.split(', ') },
        chain.split(', ').flatMap((h) => ['X-Forwarded-For', h]),
      ]) {
        const d = engine.evaluate({ method: 'GET', url: '/', headers, remoteAddress: '10.0.0.1' })
        if (d instanceof Promise) throw new Error('sync')
        expect(d.clientIp, JSON.stringify(clientIp)).toBe(expected)
      }
    }
    // Forwarded: 10,000 elements, and one malformed element in the trusted part ends the walk.
    const elements = many.map((h) => `for=${h};proto=https`)
    const forwarded = createEngine({
      version: 1,
      clientIp: { trustProxy: ['private'], header: 'forwarded' },
      rules: [],
    })
    const d1 = forwarded.evaluate({
      method: 'GET',
      url: '/',
      headers: { forwarded: ['for=6.6.6.6', 'for="[2001:db8::7]:443"', ...elements].join(', ') },
      remoteAddress: '10.0.0.1',
    })
    const d2 = forwarded.evaluate({
      method: 'GET',
      url: '/',
      headers: {
        forwarded: ['for=6.6.6.6', ...elements.slice(0, 5000), 'for', ...elements].join(','),
      },
      remoteAddress: '10.0.0.1',
    })
    expect([d1, d2].map((d) => (d instanceof Promise ? 'async' : d.clientIp))).toEqual([
      '2001:db8::7',
      '',
    ])
  })
})

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `0x${value.toString(16)}` : value
}
