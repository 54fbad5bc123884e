// Attack class: hostile policy files. Prototype-pollution keys at every nesting level (as object
// keys and through JSON.parse, which makes them own keys), wrong types at every position,
// enormous lists, globs that would backtrack, regex metacharacters in literals. Each policy is
// refused with a PolicyError naming the JSON path at fault, or compiled into an engine that
// decides safely; Object.prototype is never touched; no pattern stalls a decision.
import { afterEach, describe, expect, it } from 'vitest'
import {
  createEngine,
  defineRule,
  PolicyError,
  sha256Hex,
  validatePolicy,
  type Engine,
  type RequestInput,
} from '../../src/index.js'
import { expectDecision, expectPrototypeUnpolluted, fastest } from './support.js'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** A valid policy that uses every field of every rule type. */
const FULL: Json = {
  $schema: './policy.schema.json',
  version: 1,
  clientIp: { trustProxy: ['loopback', '10.0.0.0/8'], header: 'x-forwarded-for', ipv6Subnet: 64 },
  log: 'denied',
  rules: [
    { id: 'block', type: 'ip', action: 'deny', ips: ['198.51.100.0/24'], mode: 'enforce' },
    { id: 'inside', type: 'ip', action: 'deny', paths: ['/internal/**'], unless: ['private'] },
    {
      id: 'bots',
      type: 'userAgent',
      action: 'deny',
      contains: ['BadBot'],
      exact: ['curl/8'],
      prefix: ['Wget'],
      missing: true,
      bots: ['ai'],
      methods: ['GET'],
    },
    { id: 'health', type: 'path', action: 'allow', paths: ['/health'] },
    { id: 'admin', type: 'path', action: 'deny', paths: ['/admin/**'], mode: 'monitor' },
    {
      id: 'headers',
      type: 'header',
      require: ['x-tenant'],
      forbid: ['x-debug'],
      maxTotalBytes: 16384,
      maxCount: 100,
      maxValueBytes: 8192,
      paths: ['/tenant/**'],
    },
    {
      id: 'keys',
      type: 'apiKey',
      paths: ['/api/**'],
      header: 'x-api-key',
      bearer: true,
      query: 'api_key',
      realm: 'api',
      keys: [
        { id: 'a', sha256: sha256Hex('a') },
        { id: 'b', sha256: sha256Hex('b'), paths: ['/api/b/**'], methods: ['GET'] },
      ],
    },
    {
      id: 'login',
      type: 'rateLimit',
      paths: ['/login'],
      by: 'ip',
      limit: 5,
      window: '1m',
      algorithm: 'slidingWindow',
      cost: 1,
      failMode: 'closed',
    },
    {
      id: 'tenant',
      type: 'rateLimit',
      by: ['context:tenant', 'header:x-user'],
      limits: [{ limit: 10, window: 1000, algorithm: 'tokenBucket' }],
    },
    { id: 'geo', type: 'geo', countries: ['XX'], paths: ['/geo/**'] },
  ],
}

const geo = defineRule<{ id: string; type: 'geo'; countries?: unknown }>({
  validate: (rule) => (Array.isArray(rule.countries) ? [] : ['countries must be a list']),
  evaluate: (req, rule) =>
    Array.isArray(rule.countries) && rule.countries.includes(req.header('x-country'))
      ? { action: 'deny' }
      : undefined,
})
const OPTIONS = { rules: { geo } }

const REQUESTS: RequestInput[] = [
  {
    method: 'GET',
    url: '/',
    headers: { 'user-agent': 'Mozilla/5.0' },
    remoteAddress: '203.0.113.1',
  },
  { method: 'GET', url: '/admin/x', headers: {}, remoteAddress: '10.0.0.1' },
  {
    method: 'POST',
    url: '/login',
    headers: { 'x-forwarded-for': '1.2.3.4' },
    remoteAddress: '127.0.0.1',
  },
  { method: 'GET', url: '/api/b/x?api_key=b', headers: { 'x-user': 'u' }, remoteAddress: '::1' },
  { method: 'GET', url: '/geo/x', headers: { 'x-country': 'XX' }, remoteAddress: '203.0.113.1' },
]

/** Compiles and exercises a policy, or checks that it is refused for a reason at `path`. */
function compileOrRefuse(policy: unknown, path?: string): Engine | undefined {
  const result = validatePolicy(policy, OPTIONS)
  let engine: Engine | undefined
  try {
    engine = createEngine(policy as object, OPTIONS)
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(PolicyError)
    const errors = (error as PolicyError).errors
    expect(result.ok).toBe(false)
    expect(errors).toEqual(result.errors)
    for (const e of errors) {
      expect(typeof e.path === 'string' && (e.path === '' || e.path.startsWith('/'))).toBe(true)
      expect(typeof e.message === 'string' && e.message.length > 0).toBe(true)
    }
    if (path !== undefined) {
      // The value at fault is named: its own path, or the enclosing value whose schema it
      // breaks (an anyOf, a list that must hold one kind of entry).
      const named = errors.some((e) => e.path === path || path.startsWith(`${e.path}/`))
      expect(named, `${path}: ${JSON.stringify(errors.slice(0, 5))}`).toBe(true)
    }
    expectPrototypeUnpolluted()
    return undefined
  }
  expect(result.ok, JSON.stringify(result.errors?.slice(0, 3))).toBe(true)
  for (const input of REQUESTS) {
    const d = engine.evaluate(input)
    if (!(d instanceof Promise)) expectDecision(d)
  }
  expectPrototypeUnpolluted()
  return engine
}

/** Every JSON Pointer in `value`, with the value found there. */
function* nodes(value: Json, path = ''): Generator<[string, Json]> {
  yield [path, value]
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* nodes(value[i]!, `${path}/${i}`)
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* nodes(v, `${path}/${k}`)
  }
}

/** A deep copy of `root` with the value at `path` replaced by `replacement`. */
function replaceAt(root: Json, path: string, replacement: Json): Json {
  if (path === '') return replacement
  const copy = JSON.parse(JSON.stringify(root)) as Json
  const keys = path.slice(1).split('/')
  let parent = copy as Record<string, Json>
  for (const k of keys.slice(0, -1)) parent = parent[k] as Record<string, Json>
  parent[keys[keys.length - 1]!] = replacement
  return copy
}

/**
 * The few positions where the schema takes more than one type, and the values of another type
 * that are valid there; every other replacement must be refused.
 */
function allowedElsewhere(path: string, value: Json): boolean {
  const wholeMs =
    typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 365 * 86_400_000
  if (path === '/clientIp/trustProxy') {
    return (
      typeof value === 'boolean' ||
      (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 64)
    )
  }
  if (/^\/rules\/\d+(?:\/limits\/\d+)?\/window$/.test(path)) return wholeMs
  if (/^\/rules\/\d+\/bots$/.test(path)) return typeof value === 'boolean'
  // The custom rule's own options are its validate's business: it only asks for a list.
  if (path.startsWith('/rules/9/countries/')) return true
  return false
}

const kind = (v: Json) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)

/** Values of every JSON type; each node is replaced by those of another type than its own. */
const OTHER_TYPES: Json[] = [
  42,
  -1,
  1.5,
  1e308,
  '',
  'x',
  '__proto__',
  true,
  false,
  null,
  [],
  [1, 'a', null],
  {},
  JSON.parse('{"__proto__":{"polluted":true}}') as Json,
]

afterEach(() => expectPrototypeUnpolluted())

describe('attack: hostile policies', () => {
  it('the full policy compiles, as an object and as JSON text', () => {
    expect(compileOrRefuse(FULL)).toBeDefined()
    expect(compileOrRefuse(JSON.stringify(FULL))).toBeDefined()
  })

  it('wrong types at every position: refused naming the path, unless the schema allows it', () => {
    let compiled = 0
    for (const [path, value] of nodes(FULL)) {
      for (const other of OTHER_TYPES) {
        if (kind(other) === kind(value)) continue
        const mutated = replaceAt(FULL, path, other)
        const engine = compileOrRefuse(mutated, path)
        // The same through JSON text.
        expect(compileOrRefuse(JSON.stringify(mutated), path) === undefined).toBe(
          engine === undefined,
        )
        if (engine === undefined) continue
        compiled++
        expect(
          allowedElsewhere(path, other),
          `${path} = ${JSON.stringify(other)} was accepted`,
        ).toBe(true)
      }
    }
    expect(compiled).toBeGreaterThan(0)
  })

  it('missing required fields at every level are named', () => {
    for (const [path, value] of nodes(FULL)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) continue
      for (const key of Object.keys(value)) {
        const copy = JSON.parse(JSON.stringify(FULL)) as Json
        const target = [...nodes(copy)].find(([p]) => p === path)![1] as Record<string, Json>
        delete target[key]
        compileOrRefuse(copy)
      }
    }
  })

  it('prototype keys at every nesting level, as object keys and through JSON.parse', () => {
    const hostileKeys = ['__proto__', 'constructor', 'prototype']
    const payloads: Json[] = [{ polluted: true }, { prototype: { polluted: true } }, 'x', 1]
    for (const [path, value] of nodes(FULL)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) continue
      for (const key of hostileKeys) {
        for (const payload of payloads) {
          // Through JSON text: JSON.parse makes `__proto__` an own key.
          const text = JSON.stringify(FULL).replace(
            new RegExp(`(${escapeRegExp(JSON.stringify(value))})`),
            (m) =>
              `${m.slice(0, -1)}${m.length > 2 ? ',' : ''}"${key}":${JSON.stringify(payload)}}`,
          )
          const custom = path.startsWith('/rules/9') && path.split('/').length === 3
          const parsed = compileOrRefuse(text, custom ? undefined : `${path}/${key}`)
          // A custom rule keeps unknown fields (its own options): those compile. Anywhere else
          // an unknown key is refused.
          expect(parsed === undefined, `${path}/${key}`).toBe(!custom)
          // As an object key, defined as an own property.
          const copy = JSON.parse(JSON.stringify(FULL)) as Json
          const target = [...nodes(copy)].find(([p]) => p === path)![1] as object
          Object.defineProperty(target, key, { value: payload, enumerable: true })
          const defined = compileOrRefuse(copy, custom ? undefined : `${path}/${key}`)
          expect(defined === undefined, `${path}/${key}`).toBe(!custom)
        }
      }
    }
    // Strings that name Object.prototype members, wherever a policy string is used as a key.
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const engine = compileOrRefuse({
        version: 1,
        rules: [
          { id: name, type: 'header', require: [name], forbid: ['x-' + name] },
          {
            id: `${name}-rl`,
            type: 'rateLimit',
            by: [`context:${name}`, `header:${name}`],
            limit: 1,
            window: '1s',
          },
          {
            id: `${name}-k`,
            type: 'apiKey',
            header: name,
            keys: [{ id: name, sha256: sha256Hex(name) }],
          },
        ],
      })
      expect(engine).toBeDefined()
      const d = engine!.evaluate({
        method: 'GET',
        url: '/',
        headers: { [name]: name },
        remoteAddress: '1.2.3.4',
        context: {},
      })
      if (!(d instanceof Promise)) expect(d).toMatchObject({ allowed: true, apiKeyId: name })
      expect(validatePolicy({ version: 1, rules: [{ id: 'x', type: name }] }).ok).toBe(false)
    }
  })

  it('a policy that throws when read is refused, never half-read', () => {
    const boom = new Proxy(
      {},
      {
        get() {
          throw new Error('hostile getter')
        },
        ownKeys() {
          throw new Error('hostile keys')
        },
      },
    )
    for (const policy of [
      boom,
      { version: 1, rules: boom },
      { version: 1, rules: [boom] },
      { version: 1, clientIp: boom, rules: [] },
    ]) {
      expect(() => createEngine(policy)).toThrow(PolicyError)
      expect(validatePolicy(policy)).toMatchObject({ ok: false })
    }
  })

  it('enormous lists are refused at their path, or compiled and matched fast', () => {
    const million = Array.from(
      { length: 1_000_000 },
      (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`,
    )
    const cases: [unknown, string][] = [
      [
        { version: 1, rules: [{ id: 'a', type: 'ip', action: 'deny', ips: million }] },
        '/rules/0/ips',
      ],
      [{ version: 1, clientIp: { trustProxy: million }, rules: [] }, '/clientIp/trustProxy'],
      [
        {
          version: 1,
          rules: [
            {
              id: 'p',
              type: 'path',
              action: 'deny',
              paths: million.map((c) => `/${c}`).slice(0, 100_000),
            },
          ],
        },
        '/rules/0/paths',
      ],
      [
        {
          version: 1,
          rules: Array.from({ length: 10_001 }, (_, i) => ({
            id: `r${i}`,
            type: 'path',
            action: 'deny',
            paths: ['/x'],
          })),
        },
        '/rules',
      ],
      [
        {
          version: 1,
          rules: [
            {
              id: 'u',
              type: 'userAgent',
              action: 'deny',
              contains: Array.from({ length: 3000 }, () => 'x'.repeat(1000)),
            },
          ],
        },
        '/rules/0',
      ],
    ]
    for (const [policy, path] of cases) {
      const ms = fastest(() => expect(compileOrRefuse(policy, path)).toBeUndefined(), 1)
      expect(ms, path).toBeLessThan(5000)
    }
    // One object with a million unknown keys: refused, with the count, not a million problems.
    const wide: Record<string, unknown> = { version: 1, rules: [] }
    for (let i = 0; i < 1_000_000; i++) wide[`k${i}`] = i
    const result = validatePolicy(wide)
    expect(result.ok).toBe(false)
    expect(result.errors!.length).toBeLessThanOrEqual(21)
    expect(result.errors!.at(-1)!.message).toMatch(/999980 more unknown properties/)

    // At the caps: compiled, and a decision stays fast.
    const cidrs = million.slice(0, 100_000)
    const agents = Array.from({ length: 100_000 }, (_, i) => `agent${i.toString(36)}/1.0`)
    const globs = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? `/p${i}/**` : `/**/q${i}/*.x`))
    const big = compileOrRefuse({
      version: 1,
      clientIp: { trustProxy: cidrs },
      rules: [
        { id: 'ip', type: 'ip', action: 'deny', ips: cidrs },
        // 100,000 entries, about 1.3 M characters (a rule's lists hold at most 2 M together).
        {
          id: 'ua',
          type: 'userAgent',
          action: 'deny',
          contains: agents,
          exact: agents.slice(0, 1000),
        },
        { id: 'paths', type: 'path', action: 'deny', paths: globs },
        {
          id: 'keys',
          type: 'apiKey',
          paths: ['/k/**'],
          keys: Array.from({ length: 10_000 }, (_, i) => ({
            id: `k${i}`,
            sha256: sha256Hex(`k${i}`),
          })),
        },
      ],
    })
    expect(big).toBeDefined()
    const longAgent = 'Mozilla/5.0 '.repeat(80_000) + 'agentzz/1.0' // ~1 MiB, an entry at the end
    const input: RequestInput = {
      method: 'GET',
      url: '/a'.repeat(8000),
      headers: {
        'user-agent': longAgent,
        'x-forwarded-for': cidrs
          .slice(0, 5000)
          .map((c) => c.slice(0, -3))
          .join(','),
      },
      remoteAddress: '10.0.0.1',
    }
    let d: ReturnType<Engine['evaluate']> | undefined
    const ms = fastest(() => {
      d = big!.evaluate(input)
    }, 3)
    expect(d).toMatchObject({ allowed: false, code: 'ip.denied' })
    expect(ms).toBeLessThan(2000)
    const agentOnly = {
      ...input,
      remoteAddress: '203.0.113.1',
      headers: { 'user-agent': longAgent },
    }
    expect(big!.evaluate(agentOnly)).toMatchObject({ allowed: false, code: 'userAgent.denied' })
    expect(
      fastest(() => {
        void big!.evaluate(agentOnly)
      }, 3),
    ).toBeLessThan(2000)
    expect(
      big!.evaluate({ ...agentOnly, headers: { 'user-agent': 'x' }, url: '/x/y/q5000/a.x' }),
    ).toMatchObject({
      code: 'path.denied',
    })
  })

  it('globs that would backtrack: refused at their path, or matched in bounded time', () => {
    const refusedGlobs = [
      '/a'.repeat(65),
      '/**'.repeat(65),
      '/' + 'x'.repeat(2049),
      '/a/**b',
      '/%2e%2e',
    ]
    for (const glob of refusedGlobs) {
      const policy = {
        version: 1,
        rules: [{ id: 'p', type: 'path', action: 'deny', paths: ['/ok', glob] }],
      }
      expect(compileOrRefuse(policy, '/rules/0/paths/1'), glob).toBeUndefined()
    }
    // None of them matches the paths below, so every one is tried in full on every request.
    const adversarial = [
      '/**'.repeat(63) + '/z',
      '/**'.repeat(32) + '/a'.repeat(31) + '/z',
      '/**/a'.repeat(31) + '/z',
      '/**' + '/*a*'.repeat(62) + '/z',
      '/**' + '/*a*'.repeat(61) + '/z/**',
      '/**/a'.repeat(15) + '/z/**/a'.repeat(10),
      '/' + '*a'.repeat(1000) + '*z',
      '/**/*' + 'a'.repeat(2000) + 'c*',
      '/' + '*x'.repeat(1023),
      '/**/' + 'a*'.repeat(500) + '/**/z',
    ]
    const engine = compileOrRefuse({
      version: 1,
      rules: [
        { id: 'deny', type: 'path', action: 'deny', paths: adversarial },
        {
          id: 'key',
          type: 'apiKey',
          paths: adversarial,
          keys: [{ id: 'k', sha256: sha256Hex('k'), paths: adversarial }],
        },
      ],
    })!
    const paths = [
      '/a'.repeat(8191),
      '/' + 'a'.repeat(16_382),
      ('/' + 'a'.repeat(100)).repeat(160),
      '/aa'.repeat(5000) + '%3Bx/..;y',
      '/%61'.repeat(4000),
      '/a'.repeat(32 * 1024), // 64 KiB: refused before it is read
    ]
    for (const url of paths) {
      let d: ReturnType<Engine['evaluate']> | undefined
      const ms = fastest(() => {
        d = engine.evaluate({
          method: 'GET',
          url,
          headers: { 'x-api-key': 'k' },
          remoteAddress: '1.2.3.4',
        })
      }, 2)
      expect(d, url.slice(0, 40)).toMatchObject({
        code: url.length > 16_384 ? 'request.invalid' : 'allowed',
      })
      expect(ms, `${url.slice(0, 40)}… (${url.length})`).toBeLessThan(1000)
    }
  })

  it('regex metacharacters in literals match only themselves', () => {
    const meta = ['.*', '(a+)+$', '[', '\\', '^$', 'a|b', '?', '{1,2}', '+', '\\d', '/', '-']
    const engine = compileOrRefuse({
      version: 1,
      rules: [
        { id: 'ua', type: 'userAgent', action: 'deny', contains: meta, exact: meta, prefix: meta },
        {
          id: 'p',
          type: 'path',
          action: 'deny',
          paths: ['/a.b', '/(x)', '/[y]', '/a+b', '/$', '/^', '/a|b', '/{z}'],
        },
        {
          id: 'k',
          type: 'apiKey',
          realm: 'a.*(b)|[c]',
          keys: [{ id: 'k', sha256: sha256Hex('k') }],
          paths: ['/api/**'],
        },
      ],
    })!
    const ua = (agent: string) =>
      engine.evaluate({
        method: 'GET',
        url: '/',
        headers: { 'user-agent': agent },
        remoteAddress: '1.2.3.4',
      })
    for (const agent of ['x', 'abc', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaa!', '1', 'ab', 'A']) {
      expect(ua(agent), agent).toMatchObject({ allowed: true })
    }
    for (const agent of [
      'x.*y',
      'x(a+)+$',
      '[',
      'a\\b',
      'a|b',
      'why?',
      'x{1,2}',
      'c++',
      '\\d',
      'a/b',
      '-',
    ]) {
      expect(ua(agent), agent).toMatchObject({ allowed: false, code: 'userAgent.denied' })
    }
    const path = (url: string) =>
      engine.evaluate({ method: 'GET', url, headers: {}, remoteAddress: '1.2.3.4' })
    for (const url of ['/axb', '/x', '/y', '/aab', '/ab', '/z'])
      expect(path(url), url).toMatchObject({ allowed: true })
    for (const url of ['/a.b', '/(x)', '/[y]', '/a+b', '/$', '/^', '/a|b', '/{z}', '/%28x%29']) {
      expect(path(url), url).toMatchObject({ allowed: false, code: 'path.denied' })
    }
    expect(path('/api/x')).toMatchObject({
      code: 'apiKey.missing',
      headers: { 'WWW-Authenticate': 'Bearer realm="a.*(b)|[c]"' },
    })
  })
})

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
