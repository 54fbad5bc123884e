import { isIP } from 'node:net'
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import type { IpAddress } from './ip-address.js'
import {
  IP_KEYWORDS,
  cidrContains,
  expandIpKeyword,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  parseIpEntry,
  subnetKey,
} from './ip-address.js'

const v4 = (value: number): IpAddress => ({ version: 4, value })

function v6Words(w0: number, w1: number, w2: number, w3: number): IpAddress {
  return { version: 6, w0, w1, w2, w3 }
}

/** Eight 16-bit groups, biased towards zero so that `::` compression gets exercised. */
const groupsArb = fc.array(
  fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 0xffff })),
  {
    minLength: 8,
    maxLength: 8,
  },
)

function fromGroups(groups: readonly number[]): IpAddress {
  const g = (i: number): number => groups[i] ?? 0
  return v6Words(
    g(0) * 0x10000 + g(1),
    g(2) * 0x10000 + g(3),
    g(4) * 0x10000 + g(5),
    g(6) * 0x10000 + g(7),
  )
}

function isMappedGroups(groups: readonly number[]): boolean {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff
}

describe('parseIp: IPv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['127.0.0.1', 0x7f000001],
    ['192.0.2.1', 0xc0000201],
    ['255.255.255.255', 0xffffffff],
    ['10.0.0.10', 0x0a00000a],
  ])('%s', (text, value) => {
    expect(parseIp(text)).toEqual(v4(value))
  })

  it.each([
    '1.2.3',
    '01.2.3.4',
    '1.2.3.04',
    '00.0.0.0',
    '0x7f.0.0.1',
    '0177.0.0.1',
    '2130706433',
    '127.1',
    '256.1.1.1',
    '1.2.3.256',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.4.',
    '.1.2.3.4',
    '1..2.3',
    '1.2.3.4.5',
    '1.2.3.-4',
    '+1.2.3.4',
    '1.2.3.4/32',
    '1.2.3.4:80',
    '[1.2.3.4]',
    '1.2.3.4%eth0',
    '１.2.3.4',
    '1234.1.1.1',
    '',
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined()
  })
})

describe('parseIp: IPv6', () => {
  it.each([
    ['::', v6Words(0, 0, 0, 0)],
    ['::1', v6Words(0, 0, 0, 1)],
    ['1::', v6Words(0x00010000, 0, 0, 0)],
    ['2001:db8::1', v6Words(0x20010db8, 0, 0, 1)],
    ['2001:DB8::1', v6Words(0x20010db8, 0, 0, 1)],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', v6Words(0x20010db8, 0, 0, 1)],
    ['1:2:3:4:5:6:7:8', v6Words(0x00010002, 0x00030004, 0x00050006, 0x00070008)],
    ['1:2:3:4:5:6:7::', v6Words(0x00010002, 0x00030004, 0x00050006, 0x00070000)],
    ['::2:3:4:5:6:7:8', v6Words(0x00000002, 0x00030004, 0x00050006, 0x00070008)],
    ['1::8', v6Words(0x00010000, 0, 0, 8)],
    ['fe80::1%eth0', v6Words(0xfe800000, 0, 0, 1)],
    ['fe80::1%12', v6Words(0xfe800000, 0, 0, 1)],
    ['64:ff9b::1.2.3.4', v6Words(0x0064ff9b, 0, 0, 0x01020304)],
    ['::1.2.3.4', v6Words(0, 0, 0, 0x01020304)],
    ['1:2:3:4:5:6:1.2.3.4', v6Words(0x00010002, 0x00030004, 0x00050006, 0x01020304)],
    ['::ffff:0:1.2.3.4', v6Words(0, 0, 0xffff0000, 0x01020304)],
  ])('%s', (text, expected) => {
    expect(parseIp(text)).toEqual(expected)
  })

  it.each([
    ':',
    ':::',
    '::1::',
    '1::2::3',
    ':1::',
    '1::2:',
    '1:',
    ':1',
    '12345::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    'g::',
    '::ffff:01.2.3.4',
    '::ffff:1.2.3',
    '::ffff:1.2.3.4.5',
    '::1.2.3.4:5',
    '1.2.3.4::',
    '1:2:3:4:5:6:7:1.2.3.4',
    '[::1]',
    ' ::1',
    '::1 ',
    'fe80::1%',
    'fe80::1%eth 0',
    'fe80::1%eth0%1',
    'fe80::1%/64',
    '::1/128',
    '-::1',
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined()
  })

  it('caps the length so garbage is cheap', () => {
    const long = `${'0:'.repeat(60)}1`
    expect(parseIp(long)).toBeUndefined()
    expect(parseIp(`fe80::1%${'a'.repeat(200)}`)).toBeUndefined()
    expect(parseIp('1'.repeat(1_000_000))).toBeUndefined()
  })
})

describe('IPv4-mapped IPv6 is the IPv4 address', () => {
  it.each([
    '::ffff:192.0.2.1',
    '::FFFF:192.0.2.1',
    '::ffff:c000:201',
    '::ffff:c000:0201',
    '0:0:0:0:0:ffff:c000:0201',
    '0000:0000:0000:0000:0000:ffff:c000:0201',
    '0:0:0:0:0:ffff:192.0.2.1',
    '0::ffff:192.0.2.1',
    '::0:ffff:c000:201',
    '::ffff:192.0.2.1%eth0',
  ])('%s', (text) => {
    expect(parseIp(text)).toEqual(parseIp('192.0.2.1'))
  })

  it('does not fold NAT64 or IPv4-compatible addresses', () => {
    expect(parseIp('64:ff9b::192.0.2.1')?.version).toBe(6)
    expect(parseIp('::192.0.2.1')?.version).toBe(6)
    expect(parseIp('::ffff:0:192.0.2.1')?.version).toBe(6)
    expect(parseIp('1::ffff:192.0.2.1')?.version).toBe(6)
  })
})

describe('formatIp', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:0DB8::0001', '2001:db8::1'],
    // Leftmost of two equal runs.
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    // The longest run wins over an earlier shorter one.
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    // A single zero group is never compressed.
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:c000:201', '192.0.2.1'],
  ])('%s -> %s', (text, formatted) => {
    const ip = parseIp(text)
    expect(ip).toBeDefined()
    if (ip !== undefined) expect(formatIp(ip)).toBe(formatted)
  })
})

describe('parseIp / formatIp properties', () => {
  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (text) => {
          parseIp(text)
          parseCidr(text)
          parseIpEntry(text)
        },
      ),
      { numRuns: 2000 },
    )
  })

  const ipAlphabet = fc.string({
    unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/x '.split('')),
    maxLength: 50,
  })

  it('parses exactly what Node accepts (on text without zone ids), and round-trips', () => {
    fc.assert(
      fc.property(ipAlphabet, (text) => {
        const ip = parseIp(text)
        if (!text.includes('%')) expect(ip !== undefined).toBe(isIP(text) !== 0)
        if (ip !== undefined) expect(parseIp(formatIp(ip))).toEqual(ip)
      }),
      { numRuns: 5000 },
    )
  })

  it('round-trips every IPv4 address', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
        const text = formatIp(v4(value))
        expect(parseIp(text)).toEqual(v4(value))
        expect(isIP(text)).toBe(4)
      }),
    )
  })

  it('round-trips every IPv6 address and matches the WHATWG URL serialiser', () => {
    fc.assert(
      fc.property(groupsArb, (groups) => {
        const ip = fromGroups(groups)
        const text = formatIp(ip)
        const expanded = groups.map((g) => g.toString(16)).join(':')
        if (isMappedGroups(groups)) {
          expect(parseIp(text)).toEqual(v4(((groups[6] ?? 0) * 0x10000 + (groups[7] ?? 0)) >>> 0))
          expect(parseIp(expanded)?.version).toBe(4)
          return
        }
        expect(parseIp(text)).toEqual(ip)
        expect(parseIp(expanded)).toEqual(ip)
        expect(parseIp(expanded.toUpperCase())).toEqual(ip)
        expect(`[${text}]`).toBe(new URL(`http://[${expanded}]/`).hostname)
      }),
      { numRuns: 2000 },
    )
  })

  it('accepts every compressed form of an address', () => {
    fc.assert(
      fc.property(groupsArb, fc.nat(7), fc.nat(8), (groups, from, span) => {
        const to = Math.min(8, from + span)
        const hexGroups = groups.map((g) => g.toString(16))
        const zeroed = groups.map((g, i) => (i >= from && i < to ? 0 : g))
        const text =
          to - from >= 1
            ? `${hexGroups.slice(0, from).join(':')}::${hexGroups.slice(to).join(':')}`
            : hexGroups.join(':')
        const expected = parseIp(zeroed.map((g) => g.toString(16)).join(':'))
        expect(parseIp(text)).toEqual(expected)
        expect(isIP(text)).not.toBe(0)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['1.2.3.4/0', '0.0.0.0/0'],
    ['192.0.2.1', '192.0.2.1/32'],
    ['192.0.2.1/32', '192.0.2.1/32'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:db8:1:2:3:4:5:6/48', '2001:db8:1::/48'],
    ['::/0', '::/0'],
    ['::1', '::1/128'],
    ['fe80::1/10', 'fe80::/10'],
    ['2001:db8::1/127', '2001:db8::/127'],
    // IPv4-mapped ranges become IPv4 ranges.
    ['::ffff:0:0/96', '0.0.0.0/0'],
    ['::ffff:192.0.2.0/120', '192.0.2.0/24'],
    ['::ffff:c000:201/128', '192.0.2.1/32'],
    ['::ffff:192.0.2.1', '192.0.2.1/32'],
    ['0:0:0:0:0:ffff:c000:0201/127', '192.0.2.0/31'],
    // Shorter than /96 is an IPv6 range.
    ['::ffff:0:0/95', '::fffe:0:0/95'],
  ])('%s -> %s', (text, canonical) => {
    const range = parseCidr(text)
    expect(range).toBeDefined()
    if (range !== undefined) expect(formatCidr(range)).toBe(canonical)
  })

  it.each([
    '',
    '/8',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/08',
    '10.0.0.0/+8',
    '10.0.0.0/-1',
    '10.0.0.0/8/8',
    '10.0.0.0/ 8',
    '10.0.0.0 /8',
    '10.0.0.0/8 ',
    '10.0.0.0/0x8',
    '10.0.0/8',
    '010.0.0.0/8',
    '2001:db8::/129',
    '2001:db8::/064',
    '2001:db8::/1000',
    'fe80::%eth0/64',
    'fe80::1%eth0',
    '[2001:db8::]/32',
    'loopback',
  ])('rejects %j', (text) => {
    expect(parseCidr(text)).toBeUndefined()
  })

  it('contains what it should', () => {
    const range = parseCidr('192.168.0.0/16')
    const v6Range = parseCidr('2001:db8::/32')
    if (range === undefined || v6Range === undefined) throw new Error('unparsed')
    const at = (text: string): IpAddress => {
      const ip = parseIp(text)
      if (ip === undefined) throw new Error(text)
      return ip
    }
    expect(cidrContains(range, at('192.168.255.255'))).toBe(true)
    expect(cidrContains(range, at('::ffff:192.168.1.1'))).toBe(true)
    expect(cidrContains(range, at('192.169.0.0'))).toBe(false)
    expect(cidrContains(range, at('2001:db8::1'))).toBe(false)
    expect(cidrContains(v6Range, at('2001:db8:ffff::1'))).toBe(true)
    expect(cidrContains(v6Range, at('2001:db9::'))).toBe(false)
    expect(cidrContains(v6Range, at('192.168.1.1'))).toBe(false)
  })

  it('clears host bits and round-trips through formatCidr', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc
            .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
            .map(([value, prefix]) => `${formatIp(v4(value))}/${prefix}`),
          fc
            .tuple(groupsArb, fc.integer({ min: 0, max: 128 }))
            .map(([groups, prefix]) => `${formatIp(fromGroups(groups))}/${prefix}`),
        ),
        (text) => {
          const range = parseCidr(text)
          expect(range).toBeDefined()
          if (range === undefined) return
          expect(parseCidr(formatCidr(range))).toEqual(range)
          const base = parseIp(text.slice(0, text.indexOf('/')))
          if (base !== undefined) expect(cidrContains(range, base)).toBe(true)
        },
      ),
    )
  })
})

describe('keywords', () => {
  it('lists the keywords', () => {
    expect([...IP_KEYWORDS]).toEqual(['loopback', 'private', 'linklocal'])
  })

  it.each([
    ['loopback', ['127.0.0.0/8', '::1/128']],
    ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']],
    ['linklocal', ['169.254.0.0/16', 'fe80::/10']],
  ])('%s', (name, ranges) => {
    expect(expandIpKeyword(name)?.map(formatCidr)).toEqual(ranges)
  })

  it('does not call CGNAT private', () => {
    const cgnat = parseIp('100.64.0.1')
    if (cgnat === undefined) throw new Error('unparsed')
    expect(expandIpKeyword('private')?.some((r) => cidrContains(r, cgnat))).toBe(false)
  })

  it.each(['Loopback', 'PRIVATE', '__proto__', 'toString', 'constructor', '', 'loopback '])(
    'rejects %j',
    (name) => {
      expect(expandIpKeyword(name)).toBeUndefined()
    },
  )

  it('hands out copies that callers cannot corrupt', () => {
    const first = expandIpKeyword('loopback')
    first?.pop()
    expect(expandIpKeyword('loopback')).toHaveLength(2)
  })

  it('parseIpEntry takes keywords, CIDRs and addresses', () => {
    expect(parseIpEntry('linklocal')).toHaveLength(2)
    expect(parseIpEntry('10.0.0.0/8')?.map(formatCidr)).toEqual(['10.0.0.0/8'])
    expect(parseIpEntry('::1')?.map(formatCidr)).toEqual(['::1/128'])
    expect(parseIpEntry('nope')).toBeUndefined()
  })
})

describe('subnetKey', () => {
  const at = (text: string): IpAddress => {
    const ip = parseIp(text)
    if (ip === undefined) throw new Error(text)
    return ip
  }

  it.each([
    ['192.0.2.1', 64, '192.0.2.1'],
    ['::ffff:192.0.2.1', 64, '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3:4:5:6', 48, '2001:db8:1::/48'],
    ['2001:db8:1:2:3:4:5:6', 128, '2001:db8:1:2:3:4:5:6'],
    ['2001:db8:1:2:3:4:5:6', 0, '::/0'],
    ['2001:db8:1:2:3:4:5:6', 56, '2001:db8:1::/56'],
    ['2001:db8:1:2ff:3:4:5:6', 56, '2001:db8:1:200::/56'],
    // Out-of-range subnets fall back to /64 rather than keying per address.
    ['2001:db8:1:2:3:4:5:6', 129, '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3:4:5:6', Number.NaN, '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3:4:5:6', 64.5, '2001:db8:1:2::/64'],
  ])('%s at /%d -> %s', (text, subnet, key) => {
    expect(subnetKey(at(text), subnet)).toBe(key)
  })

  it('gives one key to every address of a /64', () => {
    expect(subnetKey(at('2001:db8::1'), 64)).toBe(
      subnetKey(at('2001:db8::ffff:ffff:ffff:ffff'), 64),
    )
    expect(subnetKey(at('2001:db8::1'), 64)).not.toBe(subnetKey(at('2001:db8:0:1::1'), 64))
  })
})
