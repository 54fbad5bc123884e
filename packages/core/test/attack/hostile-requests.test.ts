// Attack class: hostile requests. Random bytes, strings and non-string junk in every field of
// the input, in all three header shapes, against engines that use every rule type: decide never
// throws, always answers a well-formed Decision, and logs a well-formed, escaped event.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createEngine,
  defineRule,
  sha256Hex,
  type DecisionEvent,
  type Engine,
  type Policy,
  type RequestInput,
} from '../../src/index.js'
import {
  expectDecision,
  expectEvent,
  latin1,
  runs,
  throwingProxy,
  TIMEOUT,
  utf16,
} from './support.js'

const KEY = 'attack-key-0123456789'

// A custom rule that reads everything a custom rule can read, sync and async.
const probe = defineRule({
  evaluate: (req) => {
    const ua = req.header('User-Agent') ?? ''
    void [req.headerValues('x-forwarded-for'), req.context.userId, req.broadPath, req.clientIp]
    return ua.includes('probe-deny') ? { action: 'deny', code: 'probe.denied' } : undefined
  },
})
const asyncProbe = defineRule({
  evaluate: async (req) => (req.path.includes('async-deny') ? { action: 'deny' } : undefined),
})

type ProbeRule = { id: string; type: 'probe' | 'asyncProbe'; paths?: readonly string[] }

function fullPolicy(clientIp: Policy['clientIp']): Policy<ProbeRule> {
  return {
    version: 1,
    ...(clientIp ? { clientIp } : {}),
    rules: [
      { id: 'block', type: 'ip', action: 'deny', ips: ['198.51.100.0/24', '2001:db8:bad::/48'] },
      { id: 'internal', type: 'ip', action: 'deny', paths: ['/internal/**'], unless: ['private'] },
      { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot'], bots: ['ai'] },
      { id: 'no-agent', type: 'userAgent', action: 'deny', paths: ['/strict/**'], missing: true },
      { id: 'health', type: 'path', action: 'allow', paths: ['/health'] },
      { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
      {
        id: 'hdr',
        type: 'header',
        forbid: ['x-debug'],
        require: ['x-tenant'],
        paths: ['/tenant/**'],
        maxValueBytes: 65_536,
        maxCount: 5000,
      },
      {
        id: 'keys',
        type: 'apiKey',
        paths: ['/api/**'],
        query: 'api_key',
        keys: [{ id: 'k', sha256: sha256Hex(KEY), paths: ['/api/public/**'], methods: ['GET'] }],
      },
      { id: 'probe', type: 'probe', paths: ['/probe/**'] },
      { id: 'async-probe', type: 'asyncProbe', paths: ['/async/**'] },
      {
        id: 'rl',
        type: 'rateLimit',
        by: ['ip', 'header:x-user', 'context:userId', 'apiKey'],
        limits: [
          { limit: 1_000_000, window: '1m' },
          { limit: 1_000_000, window: '1h', algorithm: 'tokenBucket' },
        ],
      },
    ],
  }
}

const events: DecisionEvent[] = []
const engines: Engine[] = [
  undefined,
  { trustProxy: true },
  { trustProxy: 3 },
  { trustProxy: ['loopback', 'private', '2001:db8::/32'] },
  { trustProxy: ['loopback'], header: 'forwarded' as const },
  { trustProxy: true, header: 'forwarded' as const },
].map((clientIp) =>
  createEngine(fullPolicy(clientIp), {
    rules: { probe, asyncProbe },
    onDecision: (e) => events.push(e),
  }),
)

// ------------------------------------------------------------------------------------------
// Arbitraries: junk of every type, and strings of every kind.

const anyUnit = fc.integer({ min: 0, max: 0xffff })
/** Any UTF-16 text: lone surrogates, controls, NUL. */
const utf16String = (maxLength = 64) => fc.array(anyUnit, { maxLength }).map(utf16)
/** Header bytes as Node reads them (latin1), invalid UTF-8 included. */
const latin1String = (maxLength = 64) =>
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength }).map(latin1)
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  utf16String(),
  latin1String(),
  fc.constantFrom('', ' ', '\t', '\r\n', '\u0000', '\ud800', '\udfff\ud800', '\u2028', '%', '%%'),
)

const PROXY_OBJECT = Object.freeze({ marker: 'throwing proxy (object)' })
const PROXY_ARRAY = Object.freeze({ marker: 'throwing proxy (array)' })

/** A copy of a generated input with every marker replaced by a throwing Proxy. */
function materialize(value: unknown, depth = 0): unknown {
  if (value === PROXY_OBJECT) return throwingProxy()
  if (value === PROXY_ARRAY) return throwingProxy([] as unknown[])
  if (depth > 3 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((v) => materialize(v, depth + 1))
  if (Object.getPrototypeOf(value) !== Object.prototype) return value // Headers, Map, Date…
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const v = materialize((value as Record<string, unknown>)[key], depth + 1)
    Object.defineProperty(out, key, { value: v, enumerable: true })
  }
  return out
}

/** Anything at all a buggy adapter could pass, a throwing Proxy included. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.bigInt(),
  fc.constantFrom(null, undefined, Symbol('s'), () => 'fn', new Date(0), /re/, new Map()),
  fc.array(text, { maxLength: 4 }),
  fc.object({ maxDepth: 2 }),
  // fast-check inspects what it generates, so it holds markers that become throwing Proxies
  // only when the input is handed to the engine (materialize below).
  fc.constantFrom(PROXY_OBJECT, PROXY_ARRAY),
  fc.constant(0).map(() => Object.create(null) as unknown),
)

const headerName = fc.oneof(
  fc.constantFrom(
    'user-agent',
    'User-Agent',
    'USER-AGENT',
    'x-api-key',
    'X-Api-Key',
    'authorization',
    'x-forwarded-for',
    'X-Forwarded-For',
    'forwarded',
    'x-user',
    'x-tenant',
    'x-debug',
    'cookie',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '',
  ),
  text,
)

const uaValue = fc.oneof(
  text,
  fc.constantFrom('BadBot/1.0', 'GPTBot/1.0', 'probe-deny', 'Mozilla/5.0', '\u212abadbot'),
)
const forwardedValue = fc.oneof(
  text,
  fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), text), { maxLength: 6 }).map((hops) => hops.join(', ')),
  fc
    .array(
      fc.oneof(
        fc.ipV4(),
        fc.ipV6().map((v) => `"[${v}]:80"`),
        text,
      ),
      { maxLength: 4 },
    )
    .map((hops) => hops.map((h) => `for=${h};proto=http`).join(', ')),
)
const apiKeyValue = fc.oneof(
  text,
  fc.constantFrom(KEY, ` ${KEY} `, `${KEY}, ${KEY}`, `Bearer ${KEY}`, 'bearer', `BEARER\t${KEY}`),
)
const headerValue = fc.oneof(uaValue, forwardedValue, apiKeyValue, text)
const valueOrValues: fc.Arbitrary<unknown> = fc.oneof(
  headerValue,
  fc.array(headerValue, { maxLength: 4 }),
  fc.array(fc.oneof(headerValue, junk), { maxLength: 3 }),
  junk,
)

/** A plain record (Node's headers / headersDistinct), keys in any case, values of any type. */
const recordHeaders = fc
  .array(fc.tuple(headerName, valueOrValues), { maxLength: 8 })
  .map((entries) => {
    const record: Record<string, unknown> = {}
    for (const [k, v] of entries)
      Object.defineProperty(record, k, { value: v, enumerable: true, configurable: true })
    return record
  })

/** Node's rawHeaders: a flat list, junk entries and an odd length included. */
const rawHeaders = fc
  .array(fc.tuple(fc.oneof(headerName, junk), fc.oneof(headerValue, junk)), { maxLength: 8 })
  .chain((pairs) =>
    fc.boolean().map((odd) => {
      const flat: unknown[] = pairs.flat()
      if (odd) flat.push('dangling')
      return flat
    }),
  )

/** A Headers-like object: real Web Headers, or one whose get/forEach answer anything or throw. */
const webHeaders = fc.oneof(
  fc
    .array(fc.tuple(fc.constantFrom('user-agent', 'x-api-key', 'x-forwarded-for'), uaValue))
    .map((entries) => {
      const h = new Headers()
      for (const [k, v] of entries) {
        try {
          h.append(k, v)
        } catch {
          // Web Headers refuses some bytes: the fake ones below carry those.
        }
      }
      return h
    }),
  fc
    .record({ answer: fc.oneof(headerValue, junk), throws: fc.boolean() })
    .map(({ answer, throws }) => ({
      get: () => {
        if (throws) throw new Error('hostile get')
        return answer
      },
      forEach: (cb: (v: unknown, k: unknown) => void) => {
        cb(answer, 'x-a')
        cb(answer, answer)
        if (throws) throw new Error('hostile forEach')
      },
    })),
)

const url = fc.oneof(
  text,
  text.map((s) => `/${s}`),
  fc.stringMatching(/^[/%a-fA-F0-9.\\;?#:@A-Za-z]{0,48}$/),
  fc.constantFrom(
    '/',
    '*',
    '/admin',
    '/health',
    '/api/public/x?api_key=' + KEY,
    '/api/x?api_key=%zz',
    '/probe/x',
    '/async/async-deny',
    '/tenant/x',
    '/internal/x',
    '/strict/x',
    'http://user:pass@host:8080/admin',
    'HTTP://h\\admin',
    'http:///x',
    '/%C0%AE%C0%AE/admin',
    '/%ED%A0%80',
    '/adm%00in',
    '/admin%3Bx',
  ),
  fc.constant(0).map(() => '/a'.repeat(8192)), // at the length cap
  fc.constant(0).map(() => '/a'.repeat(8193)), // over it
)

const remoteAddress = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom(
    '127.0.0.1',
    '::1',
    '10.0.0.1',
    '::ffff:10.0.0.1',
    '198.51.100.7',
    'fe80::1%eth0',
    '127.0.0.1:80',
    '[::1]',
    '01.2.3.4',
    '',
  ),
  junk,
)

const context = fc.oneof(
  fc.dictionary(fc.constantFrom('userId', '__proto__', 'constructor', 'x'), text),
  junk,
)

const hostileInput: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record(
      {
        method: fc.oneof(fc.constantFrom('GET', 'get', 'HEAD', 'POST', 'M-SEARCH'), junk),
        url,
        headers: fc.oneof(recordHeaders, rawHeaders, webHeaders, junk),
        remoteAddress,
        context,
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: junk },
)

async function decideAll(input: unknown): Promise<void> {
  for (const engine of engines) {
    events.length = 0
    const sync = engine.evaluate(input as RequestInput)
    const d = await sync
    expectDecision(d)
    const viaDecide = await engine.decide(input as RequestInput)
    expectDecision(viaDecide)
    for (const e of events) expectEvent(e)
  }
}

describe('attack: hostile requests', () => {
  it(
    'decide never throws and always answers a well-formed Decision, whatever each field holds',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileInput, (input) => decideAll(materialize(input))),
        { numRuns: runs(400) },
      )
    },
    TIMEOUT,
  )

  // Reads many headers per request (past the point where raw headers get indexed).
  const manyLookups = createEngine({
    version: 1,
    clientIp: { trustProxy: true },
    rules: [
      {
        id: 'forbid',
        type: 'header',
        forbid: ['x-1', 'x-2', 'x-3', 'x-4', 'x-5', 'x-6', 'x-debug'],
      },
      { id: 'need', type: 'header', require: ['x-tenant'], paths: ['/tenant/**'] },
      { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot'] },
      {
        id: 'keys',
        type: 'apiKey',
        paths: ['/api/**'],
        keys: [{ id: 'k', sha256: sha256Hex(KEY) }],
      },
    ],
  })

  it(
    'reads the same request the same way in every header shape',
    () => {
      const name = fc.constantFrom(
        'user-agent',
        'User-Agent',
        'x-api-key',
        'X-API-KEY',
        'authorization',
        'x-forwarded-for',
        'forwarded',
        'x-user',
        'x-tenant',
        'X-Debug',
        'cookie',
      )
      const value = fc.oneof(uaValue, apiKeyValue, forwardedValue, fc.ipV4(), fc.string())
      fc.assert(
        fc.property(
          fc.array(fc.tuple(name, value), { maxLength: 12 }),
          fc.constantFrom('/', '/api/public/x', '/tenant/x', '/probe/x', '/admin'),
          fc.nat({ max: engines.length }),
          (pairs, url, which) => {
            // Node's headersDistinct: lower-case names, every value in order.
            const record: Record<string, string[]> = {}
            for (const [k, v] of pairs) (record[k.toLowerCase()] ??= []).push(v)
            const raw = pairs.flat()
            const engine = engines[which] ?? manyLookups
            const decide = (headers: RequestInput['headers']) => {
              const d = engine.evaluate({ method: 'GET', url, headers, remoteAddress: '10.1.2.3' })
              if (d instanceof Promise) return undefined // the async custom rule: not compared
              const { allowed, status, code, clientIp, apiKeyId, ruleId } = d
              return { allowed, status, code, clientIp, apiKeyId, ruleId }
            }
            const fromRecord = decide(record)
            expect(decide(raw), JSON.stringify(pairs)).toEqual(fromRecord)
            // A hand-built record with names in any case says the same too.
            const mixed: Record<string, string[]> = {}
            for (const [k, v] of pairs) (mixed[k] ??= []).push(v)
            expect(decide(mixed), JSON.stringify(pairs)).toEqual(fromRecord)
          },
        ),
        { numRuns: runs(300) },
      )
    },
    TIMEOUT,
  )

  it('answers inputs that throw on every access', async () => {
    const inputs: unknown[] = [
      throwingProxy(),
      { method: 'GET', url: '/', headers: throwingProxy(), remoteAddress: '10.0.0.1' },
      { method: 'GET', url: '/', headers: throwingProxy([]), remoteAddress: '10.0.0.1' },
      { method: 'GET', url: '/', headers: {}, remoteAddress: '10.0.0.1', context: throwingProxy() },
      {
        method: 'GET',
        url: '/',
        headers: {},
        get remoteAddress(): string {
          throw new Error('getter')
        },
      },
      {
        get url(): string {
          throw new Error('getter')
        },
      },
    ]
    for (const input of inputs) await decideAll(input)
  })

  it('treats what a Headers-like object answers besides a string as no value', async () => {
    const engine = createEngine(
      {
        version: 1,
        rules: [
          { id: 'hdr', type: 'header', forbid: ['x-debug'], maxTotalBytes: 100 },
          { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot'] },
        ],
      },
      { onDecision: (e) => events.push(e) },
    )
    for (const answer of [42, {}, undefined, ['BadBot'], null]) {
      events.length = 0
      const headers = {
        get: () => answer,
        forEach: (cb: (v: unknown, k: unknown) => void) => cb(answer, 7),
      }
      const d = await engine.decide({
        method: 'GET',
        url: '/',
        headers: headers as unknown as RequestInput['headers'],
        remoteAddress: '203.0.113.1',
      })
      expectDecision(d)
      expect(d.allowed, String(answer)).toBe(true)
      expect(events).toHaveLength(1)
      expectEvent(events[0]!)
      expect(events[0]!.userAgent).toBe('')
    }
    // A Map has get and forEach too: read as Headers, it answers undefined for missing names.
    const d = await engine.decide({
      method: 'GET',
      url: '/',
      headers: new Map([['x-debug', '1']]) as unknown as RequestInput['headers'],
      remoteAddress: '203.0.113.1',
    })
    expect(d).toMatchObject({ allowed: false, code: 'header.denied' })
  })

  it('merges huge same-name arrays of a hand-built record without overflowing the stack', async () => {
    const engine = createEngine({
      version: 1,
      rules: [{ id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot'] }],
    })
    const many = Array.from({ length: 300_000 }, () => 'Mozilla/5.0')
    const d = await engine.decide({
      method: 'GET',
      url: '/',
      headers: { 'User-Agent': many, 'user-agent': [...many, 'BadBot'] },
      remoteAddress: '203.0.113.1',
    })
    expect(d).toMatchObject({ allowed: false, code: 'userAgent.denied' })
  })
})
