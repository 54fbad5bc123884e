// Attack class: encodings of protected paths. Every percent-encoding a router, proxy or URL
// parser could route to a denied or key-protected path (mixed-case hex, double and triple
// encoding, %2e %2f %5c, `;` parameters raw and escaped, dot segments, repeated and trailing
// slashes, backslashes, absolute form with userinfo), plus lookalikes that no router routes there
// (overlong UTF-8, %00, fullwidth letters, trailing dots): whenever one reading of the router
// model (router-model.ts) is a protected path, the request is denied or needs the key; and an
// exemption never covers a request that some reading routes elsewhere.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createEngine, sha256Hex, type Decision } from '../../src/index.js'
import { isUnder, readings } from './router-model.js'
import { expectDecision, runs, TIMEOUT } from './support.js'

const KEY = 'variant-key-0123456789'

const denied = ['/admin', '/.git', '/server-status', '/wp-login.php', '/secret;v']
const keyed = ['/api']

const engine = createEngine({
  version: 1,
  rules: [
    {
      id: 'deny',
      type: 'path',
      action: 'deny',
      paths: denied.flatMap((p) => [p, `${p}/**`]),
    },
    { id: 'keys', type: 'apiKey', paths: ['/api/**'], keys: [{ id: 'k', sha256: sha256Hex(KEY) }] },
  ],
})

/** The protected area a reading falls in, if any. */
function protectedArea(reading: string): 'deny' | 'key' | undefined {
  const folded = reading.toLowerCase()
  if (denied.some((p) => isUnder(folded, p))) return 'deny'
  if (keyed.some((p) => isUnder(folded, p))) return 'key'
  return undefined
}

function decide(url: string): Decision {
  const d = engine.evaluate({ method: 'GET', url, headers: {}, remoteAddress: '203.0.113.9' })
  if (d instanceof Promise) throw new Error('expected a synchronous decision')
  expectDecision(d, url)
  return d
}

/** Asserts the protection every reading of `url` calls for. Returns the areas found. */
function expectProtected(url: string): Set<string> {
  const areas = new Set<string>()
  for (const r of readings(url)) {
    const area = protectedArea(r)
    if (area) areas.add(area)
  }
  if (areas.size === 0) return areas
  const d = decide(url)
  const allowedCodes = areas.has('deny')
    ? ['path.denied', 'request.invalid', ...(areas.has('key') ? ['apiKey.missing'] : [])]
    : ['apiKey.missing', 'path.denied', 'request.invalid']
  expect(allowedCodes, `${url} -> ${d.code} (readings in ${[...areas].join(', ')})`).toContain(
    d.code,
  )
  return areas
}

// ------------------------------------------------------------------------------------------
// Variant generator: a protected path written every way the attack classes allow.

const hex = (c: number, upper: boolean) => {
  const h = c.toString(16).padStart(2, '0')
  return '%' + (upper ? h.toUpperCase() : h)
}
const utf8Escapes = (ch: string, upper: boolean) =>
  [...new TextEncoder().encode(ch)].map((b) => hex(b, upper)).join('')

/** How one character is written. Those marked `routes: false` reach no router's handler. */
type CharForm =
  | 'raw'
  | 'flipCase'
  | 'escape'
  | 'double'
  | 'triple'
  | 'backslash'
  | 'escapedBackslash'
  | 'overlong'
  | 'fullwidth'
  | 'lookalike'
const ROUTING_FORMS: readonly CharForm[] = [
  'raw',
  'flipCase',
  'escape',
  'double',
  'triple',
  'backslash',
  'escapedBackslash',
]

function writeChar(ch: string, form: CharForm, upperHex: boolean): string {
  const esc = () => utf8Escapes(ch, upperHex)
  switch (form) {
    case 'raw':
      return ch
    case 'flipCase':
      return ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()
    case 'escape':
      return esc()
    case 'double':
      return esc().replace(/%/g, '%25')
    case 'triple':
      return esc().replace(/%/g, '%2525')
    case 'backslash':
      return ch === '/' ? '\\' : ch
    case 'escapedBackslash':
      return ch === '/' ? (upperHex ? '%5C' : '%5c') : ch
    case 'overlong': // two-byte overlong forms of `/` and `.`: invalid UTF-8, never a slash
      return ch === '/' ? '%C0%AF' : ch === '.' ? '%C0%AE' : ch
    case 'fullwidth': // U+FF01..U+FF5E: a different character for every router
      return ch > ' ' && ch <= '~' && ch !== '/'
        ? String.fromCharCode(ch.charCodeAt(0) + 0xfee0)
        : ch
    case 'lookalike': // ſ for s, K (Kelvin) for k, ı for i: case-fold lookalikes
      return { s: '\u017f', k: '\u212a', i: '\u0131' }[ch] ?? ch
  }
}

/** Endings that keep the path routed where it was, and some that do not. */
const ROUTING_ENDINGS = ['', '/', '//', '/.', '/..', '/x/..', '/%2e%2e']
const OTHER_ENDINGS = ['.', '%00', '%2500', '%20', '~']

const decorations = (endings: readonly string[]) =>
  fc.record({
    before: fc.constantFrom('', '/x/..', '/.', '//', '/x/%2e%2e', '/x/..;y', '/%2e', '\\x\\..'),
    param: fc.constantFrom('', ';x=1', '%3Bx', '%3b', '%253Bjsessionid=1', ';'),
    paramAt: fc.nat(),
    after: fc.constantFrom(...endings),
    query: fc.constantFrom('', '?q=1', '?a=/admin', '#f', '?x;y', '?%zz'),
    absolute: fc.constantFrom(
      '',
      'http://example.com',
      'HTTPS://user:pw@h:8443',
      'hTtP://a@b',
      'http://user@evil.example',
    ),
  })

const protectedBase = fc.constantFrom(
  '/admin',
  '/admin/users/42',
  '/.git/config',
  '/server-status',
  '/wp-login.php',
  '/api',
  '/api/orders/7',
)

function variantArb(forms: readonly CharForm[], endings: readonly string[]) {
  return fc
    .record({
      base: protectedBase,
      charForms: fc.array(fc.constantFrom(...forms), { minLength: 24, maxLength: 24 }),
      upperHex: fc.boolean(),
      deco: decorations(endings),
    })
    .map(({ base, charForms, upperHex, deco }) => {
      const chars = [...base]
      // The first `/` stays raw: the target must stay in origin form.
      let path =
        '/' +
        chars
          .slice(1)
          .map((ch, i) => writeChar(ch, charForms[i % charForms.length]!, upperHex))
          .join('')
      // A parameter goes at the end of some segment: before a later separator, or at the end.
      const ends = [...path.matchAll(/\/|\\|%2f|%5c/gi)].map((m) => m.index).filter((i) => i > 0)
      ends.push(path.length)
      if (deco.param !== '') {
        const at = ends[deco.paramAt % ends.length]!
        path = path.slice(0, at) + deco.param + path.slice(at)
      }
      return `${deco.absolute}${deco.before}${path}${deco.after}${deco.query}`
    })
}

/** Dot segments at the end may climb out of the protected path: not every reading stays. */
const ENDINGS_THAT_STAY = ['', '/', '//']

describe('attack: encodings of protected paths', () => {
  it(
    'denies (or asks the key for) every variant that some router reads as a protected path',
    () => {
      fc.assert(
        fc.property(variantArb(ROUTING_FORMS, ROUTING_ENDINGS), (url) => {
          expectProtected(url)
        }),
        { numRuns: runs(1500) },
      )
      // The model's own sanity: variants that keep their path read as protected.
      fc.assert(
        fc.property(variantArb(ROUTING_FORMS, ENDINGS_THAT_STAY), (url) => {
          expect(expectProtected(url).size, url).toBeGreaterThan(0)
        }),
        { numRuns: runs(500) },
      )
    },
    TIMEOUT,
  )

  it(
    'lookalikes: protected when some router reads them so, and answered anyway',
    () => {
      const all: CharForm[] = [...ROUTING_FORMS, 'overlong', 'fullwidth', 'lookalike']
      fc.assert(
        fc.property(variantArb(all, [...ROUTING_ENDINGS, ...OTHER_ENDINGS]), (url) => {
          expectProtected(url)
          decide(url) // never throws, always well-formed, protected or not
        }),
        { numRuns: runs(1000) },
      )
    },
    TIMEOUT,
  )

  it('covers the named cases of the campaign', () => {
    for (const url of [
      '/%61dmin',
      '/%41DMIN',
      '/%2561dmin',
      '/%252561dmin',
      '/%2e/admin',
      '/x/%2E%2E/admin',
      '/x/%252e%252e/admin',
      '/x%2f..%2fadmin',
      '/x%5c..%5cadmin',
      '/x\\..\\admin',
      '/admin;x=1',
      '/admin%3Bx',
      '/admin%3bjsessionid=1',
      '/admin%253Bx',
      '/api%3B/x',
      '/admin/',
      '/admin//',
      '//admin',
      '/admin/.',
      '/admin/..',
      '/ADMIN/Users',
      'http://user:pass@host:8080/admin',
      'HTTP://h/%61dmin?x',
      'http://h\\admin',
      '/.git%2fconfig',
      '/%2Egit/config',
      '/secret;v',
      '/secret%3Bv/x',
      '/ſerver-status', // ſ folds to s in a Unicode case-insensitive router
    ]) {
      expect(expectProtected(url).size, url).toBeGreaterThan(0)
    }
    // No router routes these to /admin: they are other paths (and core says so consistently).
    for (const url of ['/%C0%AE%C0%AE/admin', '/x/%C0%AF../admin']) {
      expect(decide(url).code, url).toBe('request.invalid') // overlong UTF-8: refused
    }
    for (const url of ['/ａｄｍｉｎ', '/admin.', '/admin%00', '/adminx', '/x/admin']) {
      expect(expectProtected(url).size, url).toBe(0)
      expect(decide(url).allowed, url).toBe(true)
    }
  })
})

describe('attack: exemptions stay exact', () => {
  const exempting = createEngine({
    version: 1,
    rules: [
      { id: 'public', type: 'path', action: 'allow', paths: ['/public/**', '/health'] },
      { id: 'keys', type: 'apiKey', keys: [{ id: 'k', sha256: sha256Hex(KEY) }] },
    ],
  })

  /** Exempt readings: the exact paths the allow rule names. */
  const exempt = (r: string) => r === '/health' || r.startsWith('/public/') || r === '/public'

  const disguise = fc
    .record({
      to: fc.constantFrom('/admin', '/admin/x', '/private/data'),
      via: fc.constantFrom(
        '/public',
        '/public/x',
        '/health',
        '/public%2fx',
        '//public/x',
        '/public\\x',
      ),
      up: fc.constantFrom(
        '/..',
        '/../..',
        '/%2e%2e',
        '/%2E%2E/%2e%2e',
        '%2f..',
        '%5c..',
        '\\..',
        '/.%2e',
      ),
      param: fc.constantFrom('', ';', ';x', '%3B', '%3Bx/', '%253B'),
      tail: fc.constantFrom('', '/', '?q', '#f'),
      // From an exempt path up to a protected one, or from a protected one up to an exempt one.
      down: fc.boolean(),
    })
    .map(({ to, via, up, param, tail, down }) =>
      down ? `${to}${param}${up}${via}${tail}` : `${via}${param}${up}${to}${tail}`,
    )

  it(
    'never exempts a request that some router reads outside the exempt paths',
    () => {
      fc.assert(
        fc.property(fc.oneof(disguise, variantArb(ROUTING_FORMS, ROUTING_ENDINGS)), (url) => {
          const d = exempting.evaluate({
            method: 'GET',
            url,
            headers: {},
            remoteAddress: '1.2.3.4',
          })
          if (d instanceof Promise) throw new Error('expected a synchronous decision')
          expectDecision(d, url)
          if (!d.allowed) return
          const outside = [...readings(url)].filter((r) => !exempt(r))
          expect(outside, `${url} was exempted`).toEqual([])
        }),
        { numRuns: runs(1000) },
      )
    },
    TIMEOUT,
  )

  it('exempts the plain paths', () => {
    for (const url of ['/health', '/public/a', '/public/a/b?x=1']) {
      const d = exempting.evaluate({ method: 'GET', url, headers: {}, remoteAddress: '1.2.3.4' })
      expect(d).toMatchObject({ allowed: true, ruleId: 'public' })
    }
    for (const url of [
      '/health%3Bx',
      '/health;x',
      '/HEALTH',
      '/health/',
      '/public/../admin',
      'http://h:x/public/a', // Express (url.parse) routes `/:x/public/a`
      'http://h;x/health',
    ]) {
      const d = exempting.evaluate({ method: 'GET', url, headers: {}, remoteAddress: '1.2.3.4' })
      expect(d, url).toMatchObject({ allowed: false })
    }
  })
})
