// Property tests through the public API: decide never throws whatever arrives, and no encoding
// of a denied path gets through.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createEngine, type RequestInput } from '../src/index.js'

const runs = Number(process.env.FAST_CHECK_RUNS ?? 300)

const engine = createEngine(
  {
    version: 1,
    clientIp: { trustProxy: ['loopback', 'private'] },
    rules: [
      { id: 'block', type: 'ip', action: 'deny', ips: ['198.51.100.0/24', '2001:db8:bad::/48'] },
      { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot'], bots: ['ai'] },
      { id: 'health', type: 'path', action: 'allow', paths: ['/health'] },
      { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
      { id: 'hdr', type: 'header', maxValueBytes: 8192 },
      {
        id: 'keys',
        type: 'apiKey',
        paths: ['/api/**'],
        keys: [{ id: 'k', sha256: 'b'.repeat(64) }],
      },
      { id: 'rl', type: 'rateLimit', by: ['ip', 'header:x-user'], limit: 1000, window: '1m' },
    ],
  },
  { onDecision: () => {} },
)

const ruleIds = engine.policy.rules.map((rule) => rule.id)

const anything = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.string()),
  fc.object(),
)

const headerValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.string({ unit: 'binary', maxLength: 50 }), { maxLength: 4 }),
  anything,
)

const hostileInput = fc.record({
  method: anything,
  url: fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string().map((s) => `/${s}`),
    fc.stringMatching(/^[/%a-fA-F0-9.\\?#:]{0,40}$/),
    anything,
  ),
  headers: fc.oneof(
    fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          'user-agent',
          'x-api-key',
          'authorization',
          'x-forwarded-for',
          'X-Api-Key',
          'x-user',
        ),
        fc.string(),
      ),
      headerValue,
    ),
    anything,
  ),
  remoteAddress: fc.oneof(
    fc.constantFrom('127.0.0.1', '::1', '10.0.0.1', '198.51.100.4', '::ffff:10.0.0.1'),
    fc.ipV4(),
    fc.ipV6(),
    anything,
  ),
  context: fc.oneof(fc.dictionary(fc.string(), fc.string()), anything),
})

describe('decide', () => {
  it('never throws and always answers a well-formed Decision, whatever the input', async () => {
    await fc.assert(
      fc.asyncProperty(hostileInput, async (input) => {
        const d = await engine.decide(input as unknown as RequestInput)
        expect(typeof d.allowed).toBe('boolean')
        expect([200, 400, 401, 403, 429, 503]).toContain(d.status)
        expect(d.allowed).toBe(d.status === 200)
        expect(typeof d.clientIp).toBe('string')
        // The trace: one entry per rule that ran, in policy order, no holes; it ends at the
        // rule that decided, if one did.
        const ids = d.results.map((r) => r.ruleId)
        expect(Object.keys(d.results)).toHaveLength(d.results.length)
        expect(ids).toEqual(ruleIds.slice(0, ids.length))
        if (d.allowed && d.ruleId === undefined) expect(ids).toEqual(ruleIds)
        if (d.ruleId !== undefined) expect(ids.at(-1)).toBe(d.ruleId)
      }),
      { numRuns: runs * 3 },
    )
  })

  it('answers even for inputs that are not objects at all', async () => {
    for (const input of [null, undefined, 42, 'GET /', [], () => {}]) {
      const d = await engine.decide(input as unknown as RequestInput)
      expect(d).toMatchObject({ allowed: false, status: 400, code: 'request.invalid' })
    }
  })

  it('lets no variant of /admin through: encodings, dot segments, slashes, case, absolute form', async () => {
    const segment = fc.stringMatching(/^[a-z0-9_-]{1,8}$/)
    const hex = (c: string) => c.charCodeAt(0).toString(16).padStart(2, '0')
    const variant = fc
      .record({
        tail: fc.array(segment, { maxLength: 3 }),
        encodeMask: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        double: fc.boolean(),
        upper: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        prefix: fc.constantFrom('', '/.', '/x/..', '//', '/./.', '/%2e', '/x/%2e%2e'),
        slash: fc.constantFrom('/', '//', '\\', '%2f', '%5c', '/./'),
        trailing: fc.constantFrom('', '/', '?q=1', '#f', '/?a=/b'),
        absolute: fc.constantFrom('', 'http://example.com', 'HTTPS://h:8080'),
      })
      .map(({ tail, encodeMask, double, upper, prefix, slash, trailing, absolute }) => {
        const word = [...'admin']
          .map((c, i) => (upper[i] ? c.toUpperCase() : c))
          .map((c, i) => (encodeMask[i] ? (double ? `%25${hex(c)}` : `%${hex(c)}`) : c))
          .join('')
        const rest = tail.map((s) => slash + s).join('')
        const path = `${prefix}/${word}${rest}${trailing}`
        return `${absolute}${path.startsWith('/') ? path : `/${path}`}`
      })
    await fc.assert(
      fc.asyncProperty(variant, async (url) => {
        const d = await engine.decide({
          method: 'GET',
          url,
          headers: {},
          remoteAddress: '203.0.113.1',
        })
        // Refused as invalid or denied by the path rule: never allowed, never another rule.
        expect(d.allowed, url).toBe(false)
        expect(['path.denied', 'request.invalid'], url).toContain(d.code)
      }),
      { numRuns: runs * 3 },
    )
  })
})
