import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import type { ClientIpOptions } from './client-ip.js'
import { compileClientIp } from './client-ip.js'
import { formatIp } from './ip-address.js'

/** Resolves and formats, so expectations read as addresses ('' when unknown). */
function clientOf(
  options: ClientIpOptions,
  remoteAddress: string | undefined,
  headerValues?: readonly string[],
): string {
  const ip = compileClientIp(options).resolve(remoteAddress, headerValues)
  return ip === undefined ? '' : formatIp(ip)
}

const xff = (trustProxy: ClientIpOptions['trustProxy']): ClientIpOptions => ({ trustProxy })
const fwd = (trustProxy: ClientIpOptions['trustProxy']): ClientIpOptions => ({
  trustProxy,
  header: 'forwarded',
})

describe('the socket peer', () => {
  it('is the client when nothing is trusted (the default)', () => {
    expect(clientOf({}, '203.0.113.7')).toBe('203.0.113.7')
    expect(clientOf({ trustProxy: false }, '203.0.113.7')).toBe('203.0.113.7')
    expect(clientOf({ trustProxy: [] }, '203.0.113.7')).toBe('203.0.113.7')
    expect(clientOf({ trustProxy: 0 }, '203.0.113.7')).toBe('203.0.113.7')
  })

  it('is IPv4 when Node reports it IPv4-mapped', () => {
    expect(clientOf({}, '::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(clientOf(xff(['loopback']), '::ffff:127.0.0.1', ['198.51.100.1'])).toBe('198.51.100.1')
  })

  it('is unknown when absent or invalid', () => {
    expect(clientOf({}, undefined)).toBe('')
    expect(clientOf({}, '')).toBe('')
    expect(clientOf({}, 'localhost')).toBe('')
    expect(clientOf({}, '127.1')).toBe('')
    expect(clientOf({ trustProxy: true }, undefined, ['198.51.100.1'])).toBe('')
  })

  it('keeps a zone id out of the answer', () => {
    expect(clientOf({}, 'fe80::1%eth0')).toBe('fe80::1')
  })
})

describe('X-Forwarded-For', () => {
  it('ignores a spoofed header from an untrusted peer', () => {
    expect(clientOf(xff(['loopback']), '203.0.113.7', ['1.1.1.1'])).toBe('203.0.113.7')
    expect(clientOf({}, '203.0.113.7', ['1.1.1.1'])).toBe('203.0.113.7')
    expect(clientOf(xff(['10.0.0.0/8']), '203.0.113.7', ['10.0.0.1'])).toBe('203.0.113.7')
  })

  it('reads the hop before a trusted loopback proxy', () => {
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(xff(['loopback']), '::1', ['2001:db8::1'])).toBe('2001:db8::1')
  })

  it('stops at the first untrusted hop from the right', () => {
    // The client wrote "6.6.6.6" itself; the proxy appended the address it saw.
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['6.6.6.6, 198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['6.6.6.6, 127.0.0.1, 198.51.100.1'])).toBe(
      '198.51.100.1',
    )
  })

  it('joins several header lines in order', () => {
    const lines = ['6.6.6.6, 198.51.100.1', '10.0.0.2', '10.0.0.3']
    expect(clientOf(xff(['private']), '10.0.0.4', lines)).toBe('198.51.100.1')
    expect(clientOf(xff(['private']), '10.0.0.4', ['198.51.100.1', '10.0.0.2'])).toBe(
      '198.51.100.1',
    )
  })

  it('walks several trusted hops given as CIDRs and addresses', () => {
    const options = xff(['10.0.0.0/8', '192.0.2.1', '2001:db8:cafe::/48'])
    expect(
      clientOf(options, '10.1.1.1', [
        '6.6.6.6, 198.51.100.1, 2001:db8:cafe::9, 192.0.2.1, 10.2.2.2',
      ]),
    ).toBe('198.51.100.1')
  })

  it('gives the leftmost entry when every hop is trusted', () => {
    expect(clientOf(xff(['private']), '10.0.0.1', ['10.0.0.3, 10.0.0.2'])).toBe('10.0.0.3')
    expect(clientOf(xff(true), '203.0.113.7', ['6.6.6.6, 198.51.100.1'])).toBe('6.6.6.6')
  })

  it('makes the client unknown when a garbage hop is reached', () => {
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['garbage'])).toBe('')
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['unknown'])).toBe('')
    expect(clientOf(xff(['private']), '10.0.0.1', ['198.51.100.1, junk, 10.0.0.2'])).toBe('')
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['198.51.100.1,'])).toBe('')
    expect(clientOf(xff(['private']), '10.0.0.1', ['198.51.100.1,,10.0.0.2'])).toBe('')
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['01.2.3.4'])).toBe('')
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['2130706433'])).toBe('')
  })

  it('does not read past the first untrusted hop, even into garbage', () => {
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['junk, 198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(xff(['loopback']), '127.0.0.1', [',198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(xff(true), '127.0.0.1', [',198.51.100.1'])).toBe('')
    expect(clientOf(xff(true), '127.0.0.1', ['198.51.100.1', ''])).toBe('198.51.100.1')
  })

  it('uses the peer when the header is missing or empty', () => {
    expect(clientOf(xff(['loopback']), '127.0.0.1', undefined)).toBe('127.0.0.1')
    expect(clientOf(xff(['loopback']), '127.0.0.1', [])).toBe('127.0.0.1')
    expect(clientOf(xff(['loopback']), '127.0.0.1', [''])).toBe('127.0.0.1')
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['  '])).toBe('127.0.0.1')
    expect(clientOf(xff(true), '127.0.0.1', [])).toBe('127.0.0.1')
  })

  it('accepts ports, brackets and bare IPv6', () => {
    const lo = xff(['loopback'])
    expect(clientOf(lo, '127.0.0.1', ['198.51.100.1:5678'])).toBe('198.51.100.1')
    expect(clientOf(lo, '127.0.0.1', ['[2001:db8::1]:80'])).toBe('2001:db8::1')
    expect(clientOf(lo, '127.0.0.1', ['[2001:db8::1]'])).toBe('2001:db8::1')
    expect(clientOf(lo, '127.0.0.1', ['2001:db8::1'])).toBe('2001:db8::1')
    expect(clientOf(lo, '127.0.0.1', ['  198.51.100.1  '])).toBe('198.51.100.1')
    expect(clientOf(lo, '127.0.0.1', ['::ffff:198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(lo, '127.0.0.1', ['[::ffff:198.51.100.1]:443'])).toBe('198.51.100.1')
  })

  it.each([
    '198.51.100.1:',
    '198.51.100.1:65536',
    '198.51.100.1:80:80',
    '198.51.100.1:8o',
    '[198.51.100.1]',
    '[198.51.100.1]:80',
    '[2001:db8::1',
    '[2001:db8::1]80',
    '[2001:db8::1]:',
    '[2001:db8::1]:x',
    '[[2001:db8::1]]',
    '2001:db8::1:80:1:2:3:4:5',
    '"198.51.100.1"',
    'for=198.51.100.1',
  ])('rejects the hop %j', (hop) => {
    expect(clientOf(xff(['loopback']), '127.0.0.1', [hop])).toBe('')
  })
})

describe('hop count', () => {
  const chain = ['1.1.1.1, 2.2.2.2, 3.3.3.3']

  it('counts the peer as the first trusted hop', () => {
    expect(clientOf(xff(1), '9.9.9.9', chain)).toBe('3.3.3.3')
    expect(clientOf(xff(2), '9.9.9.9', chain)).toBe('2.2.2.2')
    expect(clientOf(xff(3), '9.9.9.9', chain)).toBe('1.1.1.1')
  })

  it('gives the leftmost entry when there are fewer hops', () => {
    expect(clientOf(xff(4), '9.9.9.9', chain)).toBe('1.1.1.1')
    expect(clientOf(xff(100), '9.9.9.9', chain)).toBe('1.1.1.1')
    expect(clientOf(xff(1), '9.9.9.9', [])).toBe('9.9.9.9')
  })

  it('still fails on garbage met along the way, but not beyond it', () => {
    expect(clientOf(xff(2), '9.9.9.9', ['1.1.1.1, junk, 3.3.3.3'])).toBe('')
    expect(clientOf(xff(1), '9.9.9.9', ['junk, 3.3.3.3'])).toBe('3.3.3.3')
  })

  it('spans header lines', () => {
    expect(clientOf(xff(2), '9.9.9.9', ['1.1.1.1, 2.2.2.2', '3.3.3.3'])).toBe('2.2.2.2')
  })

  it('treats nonsense counts as no trust', () => {
    expect(clientOf(xff(-1), '9.9.9.9', chain)).toBe('9.9.9.9')
    expect(clientOf(xff(Number.NaN), '9.9.9.9', chain)).toBe('9.9.9.9')
    expect(clientOf(xff(0.5), '9.9.9.9', chain)).toBe('9.9.9.9')
    expect(clientOf(xff(Number.POSITIVE_INFINITY), '9.9.9.9', chain)).toBe('1.1.1.1')
  })
})

describe('Forwarded', () => {
  const lo = fwd(['loopback'])

  it('reads the for parameter', () => {
    expect(clientOf(lo, '127.0.0.1', ['for=198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(lo, '127.0.0.1', ['for=198.51.100.1;proto=https;by=127.0.0.1'])).toBe(
      '198.51.100.1',
    )
    expect(clientOf(lo, '127.0.0.1', ['proto=https;for=198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(lo, '127.0.0.1', ['proto=https; for=198.51.100.1 ; by=x'])).toBe('198.51.100.1')
  })

  it('matches parameter names case-insensitively', () => {
    expect(clientOf(lo, '127.0.0.1', ['For=198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(lo, '127.0.0.1', ['FOR="198.51.100.1"'])).toBe('198.51.100.1')
  })

  it('reads quoted values, ports and brackets', () => {
    expect(clientOf(lo, '127.0.0.1', ['for="198.51.100.1"'])).toBe('198.51.100.1')
    expect(clientOf(lo, '127.0.0.1', ['for="198.51.100.1:8080"'])).toBe('198.51.100.1')
    expect(clientOf(lo, '127.0.0.1', ['for="[2001:db8::1]"'])).toBe('2001:db8::1')
    expect(clientOf(lo, '127.0.0.1', ['for="[2001:db8::1]:4711"'])).toBe('2001:db8::1')
    expect(clientOf(lo, '127.0.0.1', ['for="198.51.100.1:_port"'])).toBe('198.51.100.1')
    expect(clientOf(lo, '127.0.0.1', ['for="\\198.51.100.1"'])).toBe('198.51.100.1')
    // Proxies often leave these unquoted.
    expect(clientOf(lo, '127.0.0.1', ['for=198.51.100.1:8080'])).toBe('198.51.100.1')
    expect(clientOf(lo, '127.0.0.1', ['for=[2001:db8::1]:80'])).toBe('2001:db8::1')
  })

  it('keeps commas and semicolons inside quoted strings', () => {
    const line = 'for=198.51.100.1;note="a, for=6.6.6.6; b", for=198.51.100.2'
    expect(clientOf(lo, '127.0.0.1', [line])).toBe('198.51.100.2')
    expect(clientOf(fwd(2), '127.0.0.1', [line])).toBe('198.51.100.1')
    expect(clientOf(fwd(3), '127.0.0.1', [line])).toBe('198.51.100.1')
    expect(
      clientOf(fwd(2), '127.0.0.1', ['for=198.51.100.1;note="\\", for=6.6.6.6", for=2.2.2.2']),
    ).toBe('198.51.100.1')
  })

  it('walks elements and lines from the right', () => {
    const options = fwd(['10.0.0.0/8'])
    expect(clientOf(options, '10.0.0.1', ['for=6.6.6.6, for=198.51.100.1, for=10.0.0.2'])).toBe(
      '198.51.100.1',
    )
    expect(clientOf(options, '10.0.0.1', ['for=6.6.6.6, for=198.51.100.1', 'for=10.0.0.2'])).toBe(
      '198.51.100.1',
    )
  })

  it.each([
    'for=unknown',
    'for="unknown"',
    'for=_hidden',
    'for="_hidden:80"',
    'proto=https',
    'by=127.0.0.1',
    'for=198.51.100.1;for=198.51.100.2',
    'for=',
    'for',
    'for =198.51.100.1',
    'for= 198.51.100.1',
    'for="198.51.100.1',
    'for="198.51.100.1" x',
    'for=198.51.100.1 x',
    'fo r=198.51.100.1',
    'for=198.51.100.1, ',
    ',for=198.51.100.1,',
    'for="198.51.100.1\\',
    'for=2001:db8::1:80:1:2:3:4:5',
    '198.51.100.1',
  ])('treats %j as no address', (line) => {
    expect(clientOf(lo, '127.0.0.1', [line])).toBe('')
  })

  it('lets a malformed element to the left of the client stay unread', () => {
    expect(clientOf(lo, '127.0.0.1', ['for="junk;;, for=6.6.6.6', 'for=198.51.100.1'])).toBe(
      '198.51.100.1',
    )
    expect(clientOf(lo, '127.0.0.1', ['for=_hidden, for=198.51.100.1'])).toBe('198.51.100.1')
  })

  it('cannot be used to escape an element by an unterminated quote', () => {
    // The client opens a quote hoping to swallow the proxy's element; the result is unknown,
    // never an address of the client's choosing.
    expect(clientOf(lo, '127.0.0.1', ['for="6.6.6.6, for=198.51.100.1'])).toBe('')
    expect(clientOf(lo, '127.0.0.1', ['for=6.6.6.6;x=", for="198.51.100.1"'])).toBe('')
  })
})

describe('only the configured header is read', () => {
  /** How the engine hands a resolver its header: all values of `resolver.header` only. */
  function resolveFromHeaders(options: ClientIpOptions, headers: Record<string, string[]>): string {
    const resolver = compileClientIp(options)
    const ip = resolver.resolve('127.0.0.1', headers[resolver.header])
    return ip === undefined ? '' : formatIp(ip)
  }

  const headers = {
    'x-forwarded-for': ['198.51.100.1'],
    forwarded: ['for=198.51.100.2'],
  }

  it('defaults to X-Forwarded-For and ignores Forwarded', () => {
    expect(compileClientIp({}).header).toBe('x-forwarded-for')
    expect(resolveFromHeaders({ trustProxy: ['loopback'] }, headers)).toBe('198.51.100.1')
    expect(resolveFromHeaders({ trustProxy: ['loopback'] }, { forwarded: ['for=1.1.1.1'] })).toBe(
      '127.0.0.1',
    )
  })

  it('reads Forwarded and ignores X-Forwarded-For when configured', () => {
    const options: ClientIpOptions = { trustProxy: ['loopback'], header: 'forwarded' }
    expect(compileClientIp(options).header).toBe('forwarded')
    expect(resolveFromHeaders(options, headers)).toBe('198.51.100.2')
    expect(resolveFromHeaders(options, { 'x-forwarded-for': ['1.1.1.1'] })).toBe('127.0.0.1')
  })

  it('does not read X-Forwarded-For syntax as Forwarded, nor the reverse', () => {
    expect(clientOf(fwd(['loopback']), '127.0.0.1', ['198.51.100.1'])).toBe('')
    expect(clientOf(xff(['loopback']), '127.0.0.1', ['for=198.51.100.1'])).toBe('')
  })
})

describe('compileClientIp', () => {
  it('ignores trust entries that do not parse, and accepts keywords', () => {
    const options = xff(['nonsense', '10.0.0.0/33', 'linklocal', '192.0.2.0/24'])
    expect(clientOf(options, '169.254.1.1', ['198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(options, 'fe80::1', ['198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(options, '192.0.2.9', ['198.51.100.1'])).toBe('198.51.100.1')
    expect(clientOf(options, '10.0.0.1', ['198.51.100.1'])).toBe('10.0.0.1')
    expect(clientOf(xff(['nonsense']), '127.0.0.1', ['198.51.100.1'])).toBe('127.0.0.1')
  })

  it('trusts an IPv4-mapped trust range for IPv4 peers', () => {
    expect(clientOf(xff(['::ffff:10.0.0.0/104']), '10.1.2.3', ['198.51.100.1'])).toBe(
      '198.51.100.1',
    )
  })

  it('never throws on hostile options or inputs', () => {
    const hostile = [
      undefined,
      null,
      {},
      { trustProxy: 'loopback' },
      { trustProxy: [null, 1, {}, 'loopback'] },
      { trustProxy: {} },
      { header: 'X-Forwarded-For' },
      { header: 42 },
    ] as unknown as ClientIpOptions[]
    for (const options of hostile) {
      const resolver = compileClientIp(options)
      expect(['x-forwarded-for', 'forwarded']).toContain(resolver.header)
      expect(() => resolver.resolve('127.0.0.1', [null, 1] as unknown as string[])).not.toThrow()
      expect(() => resolver.resolve(42 as unknown as string, undefined)).not.toThrow()
      expect(() => resolver.resolve('127.0.0.1', '1.2.3.4' as unknown as string[])).not.toThrow()
    }
    // A string where a list belongs is read as a one-entry list.
    expect(
      clientOf({ trustProxy: 'loopback' as unknown as string[] }, '127.0.0.1', ['1.2.3.4']),
    ).toBe('1.2.3.4')
  })

  it('never throws on arbitrary header values', () => {
    const resolvers = [
      compileClientIp({ trustProxy: true }),
      compileClientIp({ trustProxy: true, header: 'forwarded' }),
    ]
    const hopText = fc.string({
      unit: fc.constantFrom(...'0123456789abcdef:.[]_,;="\\ \tforFOR'.split('')),
      maxLength: 60,
    })
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), hopText), { maxLength: 4 }),
        (lines) => {
          for (const resolver of resolvers) resolver.resolve('127.0.0.1', lines)
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('agrees with a reference walk over X-Forwarded-For chains', () => {
    const hop = fc.oneof(
      fc.constantFrom(
        '10.0.0.1',
        '10.0.0.2',
        '127.0.0.1',
        '198.51.100.1',
        '203.0.113.5',
        'junk',
        '',
      ),
      fc.integer({ min: 0, max: 0xffffffff }).map((value) => formatIp({ version: 4, value })),
    )
    const trusted = new Set(['10.0.0.1', '10.0.0.2', '127.0.0.1'])
    fc.assert(
      fc.property(fc.array(hop, { maxLength: 8 }), hop, fc.nat(9), (hops, peer, count) => {
        // A blank header line is no header at all; otherwise each comma-separated part is a hop.
        const line = hops.join(', ')
        const lines = line.trim() === '' ? [] : [line]
        const walked = lines.length === 0 ? [] : hops
        const isAddress = (h: string): boolean => h !== '' && h !== 'junk'
        // Reference: walk from the right while the current hop is trusted.
        const reference = (trust: (h: string, i: number) => boolean): string => {
          if (!isAddress(peer)) return ''
          let current = peer
          let index = 0
          for (let i = walked.length - 1; i >= 0 && trust(current, index); i--) {
            const next = walked[i] ?? ''
            if (!isAddress(next)) return ''
            current = next
            index++
          }
          return current
        }
        expect(clientOf(xff(['10.0.0.0/30', '127.0.0.1']), peer, lines)).toBe(
          reference((h) => trusted.has(h)),
        )
        expect(clientOf(xff(count), peer, lines)).toBe(reference((_h, i) => i < count))
        expect(clientOf(xff(true), peer, lines)).toBe(reference(() => true))
      }),
      { numRuns: 1000 },
    )
  })
})

describe('linear time', () => {
  it('walks thousands of hops quickly', () => {
    const hops = Array.from({ length: 20_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`)
    const options = xff(['private'])
    expect(clientOf(options, '10.0.0.1', [`198.51.100.1, ${hops.join(', ')}`])).toBe('198.51.100.1')
    expect(clientOf(options, '10.0.0.1', hops)).toBe('10.0.0.1')
    const elements = hops.map((h) => `for="${h}:80";proto=https`).join(', ')
    expect(clientOf(fwd(['private']), '10.0.0.1', [`for=198.51.100.1, ${elements}`])).toBe(
      '198.51.100.1',
    )
  })

  it('stays fast on pathological Forwarded text', () => {
    const quotes = '"'.repeat(200_000)
    const escapes = `for="${'\\'.repeat(200_001)}`
    const commas = ','.repeat(200_000)
    const semis = `for=1.2.3.4${';'.repeat(200_000)}`
    const start = Date.now()
    for (const line of [quotes, escapes, commas, semis]) {
      compileClientIp({ trustProxy: true, header: 'forwarded' }).resolve('127.0.0.1', [line])
      compileClientIp({ trustProxy: true }).resolve('127.0.0.1', [line])
    }
    // Generous bound: a quadratic walk over these inputs would take minutes.
    expect(Date.now() - start).toBeLessThan(5_000)
  })
})
