import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import type { CidrRange, IpAddress } from './ip-address.js'
import { cidrContains, maskIp, maskWord, parseCidr, parseIp } from './ip-address.js'
import { IpSet } from './ip-set.js'

function cidrs(...texts: string[]): CidrRange[] {
  return texts.map((text) => {
    const range = parseCidr(text)
    if (range === undefined) throw new Error(`bad CIDR ${text}`)
    return range
  })
}

function at(text: string): IpAddress {
  const ip = parseIp(text)
  if (ip === undefined) throw new Error(`bad address ${text}`)
  return ip
}

describe('IpSet', () => {
  it('is empty without ranges', () => {
    const set = new IpSet([])
    expect(set.size).toBe(0)
    expect(set.has(at('0.0.0.0'))).toBe(false)
    expect(set.has(at('::'))).toBe(false)
  })

  it('matches IPv4 and IPv6 ranges', () => {
    const set = new IpSet(cidrs('10.0.0.0/8', '192.168.1.1', '2001:db8::/32', '::1'))
    expect(set.has(at('10.255.255.255'))).toBe(true)
    expect(set.has(at('11.0.0.0'))).toBe(false)
    expect(set.has(at('9.255.255.255'))).toBe(false)
    expect(set.has(at('192.168.1.1'))).toBe(true)
    expect(set.has(at('192.168.1.2'))).toBe(false)
    expect(set.has(at('::ffff:10.1.2.3'))).toBe(true)
    expect(set.has(at('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'))).toBe(true)
    expect(set.has(at('2001:db9::'))).toBe(false)
    expect(set.has(at('::1'))).toBe(true)
    expect(set.has(at('::2'))).toBe(false)
  })

  it('never matches across families', () => {
    const set = new IpSet(cidrs('0.0.0.0/0'))
    expect(set.has(at('2001:db8::1'))).toBe(false)
    const v6 = new IpSet(cidrs('::/0'))
    expect(v6.has(at('2001:db8::1'))).toBe(true)
    expect(v6.has(at('1.2.3.4'))).toBe(false)
  })

  it('handles the ends of the address space', () => {
    const set = new IpSet(
      cidrs(
        '0.0.0.0/32',
        '255.255.255.255/32',
        '::/128',
        'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      ),
    )
    expect(set.size).toBe(4)
    expect(set.has(at('0.0.0.0'))).toBe(true)
    expect(set.has(at('255.255.255.255'))).toBe(true)
    expect(set.has(at('128.0.0.0'))).toBe(false)
    expect(set.has(at('::'))).toBe(true)
    expect(set.has(at('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'))).toBe(true)
    expect(set.has(at('8000::'))).toBe(false)
  })

  it('merges overlapping and adjacent ranges', () => {
    expect(new IpSet(cidrs('10.0.0.0/25', '10.0.0.128/25')).size).toBe(1)
    expect(new IpSet(cidrs('10.0.0.0/8', '10.1.0.0/16', '10.2.3.4')).size).toBe(1)
    expect(new IpSet(cidrs('10.0.0.0/24', '10.0.2.0/24')).size).toBe(2)
    expect(new IpSet(cidrs('0.0.0.0/1', '128.0.0.0/1')).size).toBe(1)
    expect(new IpSet(cidrs('2001:db8::/33', '2001:db8:8000::/33')).size).toBe(1)
    expect(new IpSet(cidrs('::/1', '8000::/1', '::1')).size).toBe(1)
    expect(new IpSet(cidrs('::1', '::2', '::3')).size).toBe(1)
    expect(new IpSet(cidrs('::1', '::3')).size).toBe(2)
    expect(new IpSet(cidrs('0:0:0:1::/64', '0:0:0:2::/64')).size).toBe(1)
    expect(new IpSet(cidrs('1.2.3.4', '1.2.3.4', '::1', '::1')).size).toBe(2)
    // Adjacency that carries across 32-bit words.
    expect(new IpSet(cidrs('::ffff:ffff', '::1:0:0')).size).toBe(1)
    expect(new IpSet(cidrs('::ffff:fffe', '::1:0:0')).size).toBe(2)
    expect(new IpSet(cidrs('0:0:0:1:ffff:ffff:ffff:ffff', '0:0:0:2::')).size).toBe(1)
  })

  it('skips malformed ranges instead of throwing', () => {
    const bad = [
      { network: { version: 4, value: -1 }, prefix: 8 },
      { network: { version: 4, value: 2 ** 32 }, prefix: 8 },
      { network: { version: 4, value: 1 }, prefix: 33 },
      { network: { version: 4, value: 1 }, prefix: 1.5 },
      { network: { version: 6, w0: 0, w1: 0, w2: 0, w3: Number.NaN }, prefix: 128 },
      { network: { version: 6, w0: 0, w1: 0, w2: 0, w3: 1 }, prefix: 129 },
      { network: { version: 5, value: 1 }, prefix: 8 },
      { network: null, prefix: 8 },
      null,
      undefined,
      42,
    ] as unknown as CidrRange[]
    const set = new IpSet([...bad, ...cidrs('1.2.3.4')])
    expect(set.size).toBe(1)
    expect(set.has(at('1.2.3.4'))).toBe(true)
    expect(new IpSet(null as unknown as CidrRange[]).size).toBe(0)
  })

  it('masks host bits of hand-built ranges', () => {
    const set = new IpSet([{ network: { version: 4, value: 0x0a0000ff }, prefix: 24 }])
    expect(set.has(at('10.0.0.1'))).toBe(true)
  })

  it('builds from 100,000 ranges', () => {
    const ranges: CidrRange[] = []
    for (let i = 0; i < 100_000; i++) {
      ranges.push({ network: { version: 4, value: (i * 40_503 * 256) >>> 0 }, prefix: 24 })
    }
    const set = new IpSet(ranges)
    expect(set.size).toBeGreaterThan(0)
    expect(set.has({ version: 4, value: ((7 * 40_503 * 256) >>> 0) + 17 })).toBe(true)
  })
})

// Ranges and probes are drawn from a small space, so overlaps, adjacency and boundary
// addresses are common.
const v4RangeArb: fc.Arbitrary<CidrRange> = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
  .map(([value, prefix]) => {
    const range = parseCidr(
      `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}/${prefix}`,
    )
    if (range === undefined) throw new Error('unreachable')
    return range
  })

const smallWord = fc.oneof(
  fc.constant(0),
  fc.constant(0xffffffff),
  fc.integer({ min: 0, max: 3 }),
  fc.integer({ min: 0, max: 0xffffffff }),
)

const v6AddressArb: fc.Arbitrary<IpAddress> = fc
  .tuple(smallWord, smallWord, smallWord, smallWord)
  .filter(([w0, w1, w2]) => !(w0 === 0 && w1 === 0 && w2 === 0xffff))
  .map(([w0, w1, w2, w3]) => ({ version: 6, w0, w1, w2, w3 }))

const v6RangeArb: fc.Arbitrary<CidrRange> = fc
  .tuple(
    v6AddressArb,
    fc.oneof(fc.integer({ min: 0, max: 128 }), fc.constantFrom(31, 32, 33, 63, 64, 65, 127, 128)),
  )
  .map(([address, prefix]) => ({ network: maskIp(address, prefix), prefix }))

/** The IPv6 address one above or below, carrying across words; undefined past either end. */
function step(ip: IpAddress, delta: 1 | -1): IpAddress | undefined {
  if (ip.version !== 6) return undefined
  const words = [ip.w0, ip.w1, ip.w2, ip.w3]
  for (let k = 3; k >= 0; k--) {
    const next = (words[k] ?? 0) + delta
    if (next >= 0 && next <= 0xffffffff) {
      words[k] = next
      const [w0 = 0, w1 = 0, w2 = 0, w3 = 0] = words
      return { version: 6, w0, w1, w2, w3 }
    }
    words[k] = delta > 0 ? 0 : 0xffffffff
  }
  return undefined
}

function neighbours(range: CidrRange): IpAddress[] {
  const n = range.network
  if (n.version === 4) {
    const size = 2 ** (32 - range.prefix)
    return [n.value - 1, n.value, n.value + size - 1, n.value + size]
      .filter((value) => value >= 0 && value <= 0xffffffff)
      .map((value) => ({ version: 4, value }))
  }
  const end: IpAddress = {
    version: 6,
    w0: (n.w0 | ~maskWord(range.prefix)) >>> 0,
    w1: (n.w1 | ~maskWord(range.prefix - 32)) >>> 0,
    w2: (n.w2 | ~maskWord(range.prefix - 64)) >>> 0,
    w3: (n.w3 | ~maskWord(range.prefix - 96)) >>> 0,
  }
  return [n, end, step(n, -1), step(end, 1)].filter((ip): ip is IpAddress => ip !== undefined)
}

describe('IpSet agrees with a linear scan', () => {
  it('on random IPv4 sets', () => {
    fc.assert(
      fc.property(
        fc.array(v4RangeArb, { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 20 }),
        (ranges, values) => {
          const set = new IpSet(ranges)
          const probes: IpAddress[] = [
            ...values.map((value): IpAddress => ({ version: 4, value })),
            ...ranges.flatMap(neighbours),
          ]
          for (const ip of probes) {
            expect(set.has(ip)).toBe(ranges.some((range) => cidrContains(range, ip)))
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  it('on random IPv6 sets', () => {
    fc.assert(
      fc.property(
        fc.array(v6RangeArb, { maxLength: 40 }),
        fc.array(v6AddressArb, { maxLength: 20 }),
        (ranges, addresses) => {
          const set = new IpSet(ranges)
          const probes = [...addresses, ...ranges.flatMap(neighbours)]
          for (const ip of probes) {
            expect(set.has(ip)).toBe(ranges.some((range) => cidrContains(range, ip)))
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  it('on mixed sets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(v4RangeArb, v6RangeArb), { maxLength: 30 }),
        fc.array(
          fc.oneof(
            v6AddressArb,
            fc
              .integer({ min: 0, max: 0xffffffff })
              .map((value): IpAddress => ({ version: 4, value })),
          ),
          {
            maxLength: 20,
          },
        ),
        (ranges, addresses) => {
          const set = new IpSet(ranges)
          expect(set.size).toBeLessThanOrEqual(ranges.length)
          for (const ip of [...addresses, ...ranges.flatMap(neighbours)]) {
            expect(set.has(ip)).toBe(ranges.some((range) => cidrContains(range, ip)))
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
