// Attack class: algorithmic complexity. For every input that scales (path length, header count,
// header size, X-Forwarded-For hops, Forwarded elements, user-agent length, list sizes), decide
// grows at most linearly: the fastest of several runs at size 16n takes less than 100 times
// the fastest at size n, and the largest input stays under 2 s. Linear is 16 in theory, but
// linear code measures up to about 50 here: at 16n the data no longer fits the CPU caches, the
// garbage collector runs more, and V8 sorts the keys of a 10,000-key object (n log n). Quadratic
// is 256. The bounds are loose on purpose: this runs on a loaded 2-core machine. Speed is not
// asserted beyond that (apps/bench measures it).
import { describe, expect, it } from 'vitest'
import { createEngine, sha256Hex, type Engine, type RequestInput } from '../../src/index.js'
import { expectDecision, fastest } from './support.js'

const SCALE = 16
const MAX_RATIO = 100
const MAX_LARGEST_MS = 2000

/** Time of one decision, fastest of 5 batches (a batch repeats small inputs to be measurable). */
function timeDecide(engine: Engine, input: RequestInput, repeat: number): number {
  const d = engine.evaluate(input)
  if (d instanceof Promise) throw new Error('expected a synchronous decision')
  expectDecision(d)
  return (
    fastest(() => {
      for (let i = 0; i < repeat; i++) void engine.evaluate(input) // synchronous (checked above)
    }, 5) / repeat
  )
}

/**
 * Asserts linear growth: `make(n)` and `make(SCALE * n)` are decided, and the larger takes at
 * most MAX_RATIO times as long. Then `make(largest)`, when given, takes under MAX_LARGEST_MS:
 * sizes past the ratio check are only timed once it has passed, so a quadratic regression
 * fails fast instead of running for minutes.
 */
function expectLinear(
  name: string,
  engine: Engine,
  make: (n: number) => RequestInput,
  n: number,
  largest?: number,
) {
  const small = timeDecide(engine, make(n), SCALE)
  const large = timeDecide(engine, make(SCALE * n), 1)
  const ratio = large / Math.max(small, 1e-3)
  expect(large, `${name}: ${large.toFixed(1)} ms at ${SCALE * n}`).toBeLessThan(MAX_LARGEST_MS)
  expect(
    ratio,
    `${name}: ${small.toFixed(3)} ms at ${n}, ${large.toFixed(3)} ms at ${SCALE * n}`,
  ).toBeLessThan(MAX_RATIO)
  if (largest !== undefined) {
    const ms = timeDecide(engine, make(largest), 1)
    expect(ms, `${name}: ${ms.toFixed(1)} ms at ${largest}`).toBeLessThan(MAX_LARGEST_MS)
  }
}

const req = (over: Partial<RequestInput>): RequestInput => ({
  method: 'GET',
  url: '/',
  headers: {},
  remoteAddress: '203.0.113.7',
  ...over,
})

const headerNames = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}`)

describe('attack: linear time', () => {
  it('path length: plain, escaped, dot segments, ";" and %3B, against adversarial globs', () => {
    const engine = createEngine({
      version: 1,
      rules: [
        {
          id: 'deny',
          type: 'path',
          action: 'deny',
          paths: [
            '/admin/**',
            '/**' + '/*a*'.repeat(60) + '/b/**',
            '/**/' + 'a/'.repeat(60) + 'c/**/d',
            '/' + '*a'.repeat(200) + '*b',
            '/**/*' + 'a'.repeat(1000) + 'c*',
          ],
        },
        {
          id: 'keys',
          type: 'apiKey',
          paths: ['/**/api/**'],
          keys: [{ id: 'k', sha256: 'a'.repeat(64) }],
        },
      ],
    })
    // Each maker builds a path of about n characters (16 KiB is the longest target accepted).
    const makers: [string, (n: number) => string][] = [
      ['segments', (n) => '/a'.repeat(n / 2)],
      ['one segment', (n) => '/' + 'a'.repeat(n - 1)],
      ['escapes', (n) => '/%61'.repeat(n / 4)],
      ['double escapes', (n) => '/%2561%2e'.repeat(n / 9)],
      ['dot segments', (n) => '/a/..'.repeat(n / 5)],
      ['escaped dots', (n) => '/%2e%2e/a'.repeat(n / 9)],
      ['raw ;', (n) => '/a;b'.repeat(n / 4)],
      ['%3B', (n) => '/a%3Bb'.repeat(n / 6)],
      ['backslashes', (n) => '\\a'.repeat(n / 2)],
      ['non-ASCII', (n) => '/\u00e9\u03a3'.repeat(n / 3)],
    ]
    for (const [name, make] of makers) {
      expectLinear(name, engine, (n) => req({ url: make(n).slice(0, n) }), 1024)
    }
    // Past the cap (64 KiB), a target is refused without being read.
    const huge = engine.evaluate(req({ url: '/a'.repeat(32 * 1024) }))
    expect(huge).toMatchObject({ status: 400, code: 'request.invalid' })
  })

  it('header count: 10,000 headers in every shape, against long require/forbid lists', () => {
    const engine = createEngine({
      version: 1,
      clientIp: { trustProxy: true },
      rules: [
        {
          id: 'hdr',
          type: 'header',
          require: headerNames(1000, 'x-need').slice(0, 1),
          forbid: headerNames(1000, 'x-forbidden'),
          maxCount: 1_000_000,
        },
        { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot'] },
        {
          id: 'rl',
          type: 'rateLimit',
          by: ['ip', 'header:x-user'],
          limit: 1_000_000_000,
          window: '1h',
        },
      ],
    })
    const names = (n: number) => ['x-need-0', ...headerNames(n - 1, 'x-filler')]
    const shapes: [string, (n: number) => RequestInput['headers']][] = [
      ['record', (n) => Object.fromEntries(names(n).map((k) => [k, 'v']))],
      [
        'record, mixed case',
        (n) => Object.fromEntries(names(n).map((k) => [k.toUpperCase(), 'v'])),
      ],
      ['raw', (n) => names(n).flatMap((k) => [k, 'v'])],
      [
        'web',
        (n) => {
          const h = new Headers()
          for (const k of names(n)) h.append(k, 'v')
          return h
        },
      ],
    ]
    for (const [name, make] of shapes) {
      expectLinear(name, engine, (n) => req({ headers: make(n) }), 625)
    }
  })

  it('header size: one value of up to 1 MiB', () => {
    const engine = createEngine({
      version: 1,
      rules: [
        { id: 'hdr', type: 'header', maxValueBytes: 4 * 1024 * 1024 },
        { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot'], bots: true },
        { id: 'keys', type: 'apiKey', keys: [{ id: 'k', sha256: sha256Hex('k') }] },
      ],
    })
    const makers: [string, (n: number) => Record<string, string>][] = [
      ['user-agent', (n) => ({ 'user-agent': 'Mozilla/5.0 '.repeat(n / 12) })],
      ['x-api-key', (n) => ({ 'x-api-key': 'k'.repeat(n) })],
      ['authorization', (n) => ({ authorization: 'Bearer ' + 'k'.repeat(n) })],
      ['cookie', (n) => ({ cookie: 'a=b; '.repeat(n / 5) })],
    ]
    for (const [name, make] of makers) {
      expectLinear(name, engine, (n) => req({ headers: make(n) }), 4096, 1024 * 1024)
    }
  })

  it('X-Forwarded-For hops and Forwarded elements: 10,000 of them', () => {
    const hops = (n: number) =>
      Array.from({ length: n }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`)
    for (const trustProxy of [true, ['private'], ['10.0.0.0/8', '2001:db8::/32'], 64] as const) {
      const xff = createEngine({ version: 1, clientIp: { trustProxy }, rules: [] })
      expectLinear(
        `x-forwarded-for, trust ${JSON.stringify(trustProxy)}`,
        xff,
        (n) =>
          req({ headers: { 'x-forwarded-for': hops(n).join(', ') }, remoteAddress: '10.0.0.1' }),
        625,
      )
      expectLinear(
        `x-forwarded-for lines, trust ${JSON.stringify(trustProxy)}`,
        xff,
        (n) =>
          req({
            headers: hops(n).flatMap((h) => ['x-forwarded-for', h]),
            remoteAddress: '10.0.0.1',
          }),
        625,
      )
      const fwd = createEngine({
        version: 1,
        clientIp: { trustProxy, header: 'forwarded' },
        rules: [],
      })
      expectLinear(
        `forwarded, trust ${JSON.stringify(trustProxy)}`,
        fwd,
        (n) =>
          req({
            headers: {
              forwarded: hops(n)
                .map((h) => `for="${h}:80";proto=https`)
                .join(', '),
            },
            remoteAddress: '10.0.0.1',
          }),
        625,
      )
    }
    // Malformed Forwarded text: unclosed quotes, stray separators.
    const fwd = createEngine({
      version: 1,
      clientIp: { trustProxy: true, header: 'forwarded' },
      rules: [],
    })
    expectLinear(
      'forwarded, malformed',
      fwd,
      (n) =>
        req({
          headers: { forwarded: 'for="\\'.repeat(n / 7) + ';,="'.repeat(n / 8) },
          remoteAddress: '10.0.0.1',
        }),
      8 * 1024,
    )
  })

  it('user-agent length against short lists, adversarial lists and 100,000 entries', () => {
    const lists: [string, string[]][] = [
      ['short list', ['BadBot', 'ScraperBot']],
      ['adversarial short list', Array.from({ length: 16 }, (_, k) => 'a'.repeat(k + 1) + 'b')],
      [
        'adversarial long list',
        Array.from(
          { length: 2000 },
          (_, i) => 'a'.repeat(i % 500) + String.fromCharCode(98 + (i % 20)),
        ),
      ],
      ['100,000 entries', Array.from({ length: 100_000 }, (_, i) => `bot${i.toString(36)}x`)],
    ]
    for (const [name, contains] of lists) {
      const engine = createEngine({
        version: 1,
        rules: [
          { id: 'ua', type: 'userAgent', action: 'deny', contains },
          { id: 'ua2', type: 'userAgent', action: 'deny', prefix: contains, exact: contains },
        ],
      })
      for (const [agent, unit] of [
        ['a', 'a'],
        ['bot', 'bot'],
        ['mixed', 'aB\u00e9\u212a'],
      ] as const) {
        expectLinear(
          `${name}, agent of ${agent}`,
          engine,
          (n) =>
            req({ headers: { 'user-agent': unit.repeat(Math.ceil(n / unit.length)).slice(0, n) } }),
          4096,
          1024 * 1024,
        )
      }
    }
  })
})
