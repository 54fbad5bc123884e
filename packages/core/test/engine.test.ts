import { describe, expect, it } from 'vitest'
import {
  createEngine,
  defineRule,
  MemoryStore,
  PolicyError,
  type DecisionEvent,
  type Policy,
  type RequestInput,
  type Store,
} from '../src/index.js'

const req = (over: Partial<RequestInput> = {}): RequestInput => ({
  method: 'GET',
  url: '/',
  headers: { 'user-agent': 'Mozilla/5.0' },
  remoteAddress: '203.0.113.7',
  ...over,
})

const policy = (rules: Policy['rules'], extra: Partial<Policy> = {}): Policy => ({
  version: 1,
  rules,
  ...extra,
})

describe('rule order and outcomes', () => {
  it('an allow ends evaluation; a later deny never runs', async () => {
    const engine = createEngine(
      policy([
        { id: 'office', type: 'ip', action: 'allow', ips: ['203.0.113.0/24'] },
        { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin/**'] },
      ]),
    )
    const office = await engine.decide(req({ url: '/admin/x' }))
    expect(office).toMatchObject({ allowed: true, code: 'allowed', ruleId: 'office' })
    expect(office.results.map((r) => r.ruleId)).toEqual(['office'])
    const other = await engine.decide(req({ url: '/admin/x', remoteAddress: '198.51.100.1' }))
    expect(other).toMatchObject({
      allowed: false,
      status: 403,
      code: 'path.denied',
      ruleId: 'no-admin',
    })
    expect(other.results.map((r) => [r.ruleId, r.outcome])).toEqual([
      ['office', 'pass'],
      ['no-admin', 'deny'],
    ])
  })

  it('a monitor rule records "would deny" and never blocks', async () => {
    const events: DecisionEvent[] = []
    const engine = createEngine(
      policy([
        {
          id: 'watch-curl',
          type: 'userAgent',
          action: 'deny',
          contains: ['curl'],
          mode: 'monitor',
        },
        { id: 'rl', type: 'rateLimit', limit: 1, window: '1m', mode: 'monitor' },
      ]),
      { onDecision: (e) => events.push(e) },
    )
    await engine.decide(req({ headers: { 'user-agent': 'curl/8' } }))
    const d = await engine.decide(req({ headers: { 'user-agent': 'curl/8' } }))
    expect(d).toMatchObject({ allowed: true, status: 200 })
    expect(d.results).toEqual([
      expect.objectContaining({
        ruleId: 'watch-curl',
        outcome: 'deny',
        monitor: true,
        code: 'userAgent.denied',
      }),
      expect.objectContaining({
        ruleId: 'rl',
        outcome: 'deny',
        monitor: true,
        code: 'rateLimit.exceeded',
      }),
    ])
    // Monitored limits do not leak into the response.
    expect(d.headers).toEqual({})
    expect(events[1]!.monitored).toEqual(['watch-curl', 'rl'])
  })

  it('denies every encoding of a denied path, and exempts only the exact one', async () => {
    const engine = createEngine(
      policy([
        { id: 'health', type: 'path', action: 'allow', paths: ['/health'] },
        { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
        { id: 'keys', type: 'apiKey', keys: [{ id: 'k', sha256: 'a'.repeat(64) }] },
      ]),
    )
    for (const url of [
      '/admin',
      '/ADMIN',
      '/admin/',
      '//admin',
      '/%61dmin',
      '/%2561dmin',
      '/x/../admin',
      '/%2e%2e/admin/users',
      '/\\admin',
      '/%5cadmin',
      '/admin%2Fusers',
      'http://h/admin',
      'HTTP://h/Admin?x=1',
      '/./admin#f',
    ]) {
      const d = await engine.decide(req({ url }))
      expect(d.code, url).toBe('path.denied')
    }
    expect((await engine.decide(req({ url: '/administrator' }))).code).toBe('apiKey.missing')
    expect((await engine.decide(req({ url: '/health' }))).allowed).toBe(true)
    expect((await engine.decide(req({ url: '/health?verbose=1' }))).allowed).toBe(true)
    // Not exact: falls through to the key requirement instead of being exempted.
    for (const url of ['/HEALTH', '/health/', '/health/../admin', '/healthz']) {
      const d = await engine.decide(req({ url }))
      expect(d.allowed, url).toBe(false)
    }
  })

  it('refuses request-targets that cannot be canonicalised safely with 400', async () => {
    const engine = createEngine(policy([]))
    for (const url of ['*', '%zz', '/a%zz', '/a%', 'example.com:443', '', 'ftp://h/x', '\\admin']) {
      const d = await engine.decide(req({ url }))
      expect(d, JSON.stringify(url)).toMatchObject({
        allowed: false,
        status: 400,
        code: 'request.invalid',
      })
    }
    expect((await engine.decide(req({ url: '/a%0d%0ab' }))).allowed).toBe(true)
  })

  it('denies a path cut at a raw ";" (Fastify useSemicolonDelimiter) and never exempts one', async () => {
    const engine = createEngine(
      policy([
        { id: 'health', type: 'path', action: 'allow', paths: ['/health'] },
        { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin/**'] },
        { id: 'keys', type: 'apiKey', keys: [{ id: 'k', sha256: 'a'.repeat(64) }] },
      ]),
    )
    for (const url of ['/admin;x', '/%61dmin;jsessionid=1', '/admin/;x', '/ADMIN;a=1?b']) {
      const d = await engine.decide(req({ url }))
      expect(d, url).toMatchObject({
        allowed: false,
        status: 403,
        code: 'path.denied',
        ruleId: 'no-admin',
      })
    }
    // Cut at the first `;` only: this is not /admin.
    expect((await engine.decide(req({ url: '/api;v=1/admin' }))).code).toBe('apiKey.missing')
    // An escaped `;` is cut too, for deny matching (a proxy in front may decode it).
    expect((await engine.decide(req({ url: '/admin%3Bx' }))).code).toBe('path.denied')
    // An allow on /health does not exempt /health;x nor /health%3Bx.
    expect((await engine.decide(req({ url: '/health' }))).allowed).toBe(true)
    expect((await engine.decide(req({ url: '/health;x' }))).code).toBe('apiKey.missing')
    expect((await engine.decide(req({ url: '/health%3Bx' }))).code).toBe('apiKey.missing')
  })

  it('refuses escapes that decode to invalid UTF-8 with 400, only in the first round', async () => {
    const engine = createEngine(policy([]))
    for (const url of ['/%ff', '/%c0', '/%E0%A4%A', '/%C0%AE%C0%AE/admin', '/%ED%A0%80']) {
      const d = await engine.decide(req({ url }))
      expect(d, url).toMatchObject({ allowed: false, status: 400, code: 'request.invalid' })
    }
    for (const url of ['/%C3%A9', '/%25c0', '/%25ff']) {
      expect((await engine.decide(req({ url }))).allowed, url).toBe(true)
    }
  })

  it('applies rules only to their paths and methods; GET covers HEAD', async () => {
    const engine = createEngine(
      policy([{ id: 'ro', type: 'path', action: 'deny', paths: ['/files/**'], methods: ['GET'] }]),
    )
    expect((await engine.decide(req({ url: '/files/a', method: 'GET' }))).allowed).toBe(false)
    expect((await engine.decide(req({ url: '/files/a', method: 'head' }))).allowed).toBe(false)
    expect((await engine.decide(req({ url: '/files/a', method: 'POST' }))).allowed).toBe(true)
  })
})

describe('ip rules and client addresses', () => {
  it('unless denies everyone outside the list, including unknown clients', async () => {
    const engine = createEngine(
      policy([
        {
          id: 'internal',
          type: 'ip',
          action: 'deny',
          paths: ['/internal/**'],
          unless: ['192.168.10.0/24'],
        },
      ]),
    )
    expect(
      (await engine.decide(req({ url: '/internal/x', remoteAddress: '192.168.10.4' }))).allowed,
    ).toBe(true)
    expect(
      (await engine.decide(req({ url: '/internal/x', remoteAddress: '192.168.11.4' }))).code,
    ).toBe('ip.denied')
    expect((await engine.decide(req({ url: '/internal/x', remoteAddress: undefined }))).code).toBe(
      'ip.denied',
    )
    expect((await engine.decide(req({ url: '/public' }))).allowed).toBe(true)
  })

  it('ignores X-Forwarded-For unless the peer is a trusted proxy', async () => {
    const rules: Policy['rules'] = [
      { id: 'block', type: 'ip', action: 'deny', ips: ['198.51.100.0/24', '2001:db8:bad::/48'] },
    ]
    const untrusting = createEngine(policy(rules))
    const spoof = await untrusting.decide(
      req({ remoteAddress: '198.51.100.9', headers: { 'x-forwarded-for': '1.1.1.1' } }),
    )
    expect(spoof).toMatchObject({ allowed: false, clientIp: '198.51.100.9' })

    const behindProxy = createEngine(policy(rules, { clientIp: { trustProxy: ['loopback'] } }))
    const viaProxy = await behindProxy.decide(
      req({ remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '198.51.100.9' } }),
    )
    expect(viaProxy).toMatchObject({ allowed: false, clientIp: '198.51.100.9' })
    const mapped = await behindProxy.decide(
      req({
        remoteAddress: '::ffff:127.0.0.1',
        headers: { 'x-forwarded-for': '[2001:db8:bad::1]:443' },
      }),
    )
    expect(mapped).toMatchObject({ allowed: false, clientIp: '2001:db8:bad::1' })
    // Forwarded is not read when the policy says x-forwarded-for.
    const other = await behindProxy.decide(
      req({ remoteAddress: '127.0.0.1', headers: { forwarded: 'for=198.51.100.9' } }),
    )
    expect(other).toMatchObject({ allowed: true, clientIp: '127.0.0.1' })
  })

  it('rate-limits IPv6 clients per /64 by default', async () => {
    const engine = createEngine(policy([{ id: 'rl', type: 'rateLimit', limit: 2, window: '1m' }]))
    expect((await engine.decide(req({ remoteAddress: '2001:db8:1:2::1' }))).allowed).toBe(true)
    expect((await engine.decide(req({ remoteAddress: '2001:db8:1:2::ffff' }))).allowed).toBe(true)
    expect((await engine.decide(req({ remoteAddress: '2001:db8:1:2:abcd::9' }))).status).toBe(429)
    expect((await engine.decide(req({ remoteAddress: '2001:db8:1:3::1' }))).allowed).toBe(true)
  })
})

describe('user agents', () => {
  it('denies missing or blank agents and known bot categories', async () => {
    const engine = createEngine(
      policy([
        { id: 'no-ua', type: 'userAgent', action: 'deny', missing: true },
        { id: 'crawlers', type: 'userAgent', action: 'deny', bots: ['search', 'ai', 'seo'] },
      ]),
    )
    expect((await engine.decide(req({ headers: {} }))).ruleId).toBe('no-ua')
    expect((await engine.decide(req({ headers: { 'user-agent': '   ' } }))).ruleId).toBe('no-ua')
    expect((await engine.decide(req({ headers: { 'user-agent': 'GPTBot/1.0' } }))).ruleId).toBe(
      'crawlers',
    )
    expect((await engine.decide(req({ headers: { 'user-agent': 'curl/8.4.0' } }))).allowed).toBe(
      true,
    )
  })
  it('a repeated User-Agent header fails safe: any matching value denies', async () => {
    const engine = createEngine(
      policy([{ id: 'bad', type: 'userAgent', action: 'deny', prefix: ['evil'] }]),
    )
    const d = await engine.decide(
      req({ headers: { 'user-agent': ['Mozilla/5.0', 'EvilScanner'] } }),
    )
    expect(d.code).toBe('userAgent.denied')
  })
})

describe('header rules', () => {
  it('requires, forbids and caps headers', async () => {
    const engine = createEngine(
      policy([
        {
          id: 'hdr',
          type: 'header',
          require: ['x-tenant'],
          forbid: ['x-debug'],
          maxValueBytes: 100,
          maxCount: 10,
        },
      ]),
    )
    expect((await engine.decide(req({ headers: {} }))).code).toBe('header.denied')
    expect((await engine.decide(req({ headers: { 'X-Tenant': 'a' } }))).allowed).toBe(true)
    expect((await engine.decide(req({ headers: { 'x-tenant': 'a', 'x-debug': '1' } }))).code).toBe(
      'header.denied',
    )
    expect(
      (await engine.decide(req({ headers: { 'x-tenant': 'a', cookie: 'x'.repeat(101) } }))).code,
    ).toBe('header.denied')
    const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`h${i}`, 'v']))
    expect((await engine.decide(req({ headers: { 'x-tenant': 'a', ...many } }))).status).toBe(403)
  })
})

describe('api keys', () => {
  const key = 'sk_test_abc'
  const sha = '9a2e4c2c8b32b8f5a9f5f0c4cd3b7a5f1b7d0e6a9c2b6e4f1d3c5a7b9e0f2a4c'
  it('enforces per-key scopes with 403 and reports the key id', async () => {
    const { createHash } = await import('node:crypto')
    const h = createHash('sha256').update(key).digest('hex')
    const engine = createEngine(
      policy([
        {
          id: 'keys',
          type: 'apiKey',
          paths: ['/api/**'],
          keys: [
            { id: 'reports', sha256: h, paths: ['/api/reports/**'] },
            { id: 'other', sha256: sha },
          ],
        },
      ]),
    )
    expect(
      await engine.decide(req({ url: '/api/reports/1', headers: { 'x-api-key': key } })),
    ).toMatchObject({ allowed: true, apiKeyId: 'reports' })
    expect(
      await engine.decide(req({ url: '/api/users', headers: { 'x-api-key': key } })),
    ).toMatchObject({ status: 403, code: 'apiKey.scope', apiKeyId: 'reports' })
    expect((await engine.decide(req({ url: '/public' }))).allowed).toBe(true)
  })
  it('reads the query string only when the rule says so', async () => {
    const { createHash } = await import('node:crypto')
    const h = createHash('sha256').update(key).digest('hex')
    const plain = createEngine(
      policy([{ id: 'k', type: 'apiKey', keys: [{ id: 'a', sha256: h }] }]),
    )
    expect((await plain.decide(req({ url: `/x?api_key=${key}` }))).code).toBe('apiKey.missing')
    const withQuery = createEngine(
      policy([{ id: 'k', type: 'apiKey', query: 'api_key', keys: [{ id: 'a', sha256: h }] }]),
    )
    expect((await withQuery.decide(req({ url: `/x?api_key=${key}` }))).allowed).toBe(true)
    expect((await withQuery.decide(req({ url: `/x?api_key=${key}&api_key=${key}` }))).code).toBe(
      'apiKey.invalid',
    )
  })
})

describe('rate limits', () => {
  it('counts by API key, falling back to the client address without a verified key', async () => {
    const { createHash } = await import('node:crypto')
    const h = createHash('sha256').update('k1').digest('hex')
    const engine = createEngine(
      policy([
        { id: 'keys', type: 'apiKey', paths: ['/api/**'], keys: [{ id: 'svc', sha256: h }] },
        { id: 'rl', type: 'rateLimit', by: 'apiKey', limit: 1, window: '1m' },
      ]),
    )
    expect(
      (
        await engine.decide(
          req({ url: '/api/x', headers: { 'x-api-key': 'k1' }, remoteAddress: '10.0.0.1' }),
        )
      ).allowed,
    ).toBe(true)
    // Same key from elsewhere: same counter.
    expect(
      (
        await engine.decide(
          req({ url: '/api/x', headers: { 'x-api-key': 'k1' }, remoteAddress: '10.0.0.2' }),
        )
      ).status,
    ).toBe(429)
    // No key (public path): counted per address.
    expect((await engine.decide(req({ url: '/pub', remoteAddress: '10.0.0.1' }))).allowed).toBe(
      true,
    )
    expect((await engine.decide(req({ url: '/pub', remoteAddress: '10.0.0.1' }))).status).toBe(429)
  })

  it('checks several limits and headers, cost and context keys', async () => {
    const engine = createEngine(
      policy([
        {
          id: 'tenant',
          type: 'rateLimit',
          by: ['context:tenant', 'ip'],
          cost: 2,
          limits: [
            { limit: 4, window: '1s' },
            { limit: 100, window: '1h', algorithm: 'slidingWindow' },
          ],
        },
      ]),
    )
    const a = await engine.decide(req({ context: { tenant: 't1' } }))
    expect(a.headers['RateLimit-Policy']).toBe('"tenant.0";q=4;w=1, "tenant.1";q=100;w=3600')
    expect(a.headers['RateLimit']).toMatch(/^"tenant.0";r=2;t=\d+, "tenant.1";r=98;t=\d+$/)
    await engine.decide(req({ context: { tenant: 't1' } }))
    const third = await engine.decide(req({ context: { tenant: 't1' } }))
    expect(third.status).toBe(429)
    expect((await engine.decide(req({ context: { tenant: 't2' } }))).allowed).toBe(true)
  })

  it('a rate limit that comes first wins over a later deny, in one store call', async () => {
    let calls = 0
    const memory = new MemoryStore()
    const counting: Store = { consume: (checks) => (calls++, memory.consume(checks)) }
    const engine = createEngine(
      policy([
        { id: 'a', type: 'rateLimit', limit: 1, window: '1m' },
        { id: 'b', type: 'rateLimit', limit: 5, window: '1m', by: 'header:x-user' },
        { id: 'deny-x', type: 'path', action: 'deny', paths: ['/x'] },
      ]),
      { store: counting },
    )
    expect((await engine.decide(req({ url: '/x' }))).code).toBe('path.denied')
    expect(calls).toBe(1)
    const second = await engine.decide(req({ url: '/x' }))
    expect(second).toMatchObject({ status: 429, ruleId: 'a' })
    expect(second.results.map((r) => r.ruleId)).toEqual(['a'])
    expect(calls).toBe(2)
  })
})

describe('rate-limit plans kept per client', () => {
  it('each client keeps its own keys, and a store cannot change a check', async () => {
    const seen: string[] = []
    const memory = new MemoryStore()
    const recording: Store = {
      consume: (checks) => (seen.push(...checks.map((c) => c.key)), memory.consume(checks)),
    }
    const engine = createEngine(
      policy([{ id: 'rl', type: 'rateLimit', limit: 2, window: '1m' }], {
        clientIp: { ipv6Subnet: 48 },
      }),
      { store: recording },
    )
    for (const remoteAddress of ['203.0.113.7', '198.51.100.1', '203.0.113.7', '2001:db8:1:2::1'])
      await engine.decide(req({ remoteAddress }))
    await engine.decide(req({ remoteAddress: '2001:db8:1:3::1' })) // same /48
    expect(seen).toEqual([
      'rl:0:ip:203.0.113.7',
      'rl:0:ip:198.51.100.1',
      'rl:0:ip:203.0.113.7',
      'rl:0:ip:2001:db8:1::/48',
      'rl:0:ip:2001:db8:1::/48',
    ])
    expect((await engine.decide(req())).status).toBe(429)

    // A store that writes into a check would change every later request's key: checks are
    // frozen, so it fails (closed, here) instead.
    const writer: Store = {
      consume: (checks) => {
        ;(checks[0] as { key: string }).key = 'shared'
        return memory.consume(checks)
      },
    }
    const strict = createEngine(policy([{ id: 'rl', type: 'rateLimit', limit: 5, window: '1m' }]), {
      store: writer,
    })
    expect((await strict.decide(req())).code).toBe('store.unavailable')
    expect((await strict.decide(req())).code).toBe('store.unavailable')
  })
})

describe('store faults (principle 5)', () => {
  const broken: Store = { consume: () => Promise.reject(new Error('ECONNREFUSED')) }
  const hanging: Store = { consume: () => new Promise(() => {}), timeoutMs: 50 }
  const throwing: Store = {
    consume: () => {
      throw new Error('boom')
    },
  }

  it('fails closed by default with 503 store.unavailable', async () => {
    for (const store of [broken, throwing]) {
      const engine = createEngine(
        policy([{ id: 'rl', type: 'rateLimit', limit: 5, window: '1m' }]),
        { store },
      )
      expect(await engine.decide(req())).toMatchObject({
        allowed: false,
        status: 503,
        code: 'store.unavailable',
        ruleId: 'rl',
      })
    }
  })

  it('fails open when the rule says so, and says so in the decision', async () => {
    const engine = createEngine(
      policy([{ id: 'rl', type: 'rateLimit', limit: 5, window: '1m', failMode: 'open' }]),
      { store: broken },
    )
    const d = await engine.decide(req())
    expect(d).toMatchObject({ allowed: true, status: 200, code: 'store.unavailable' })
    expect(d.results[0]).toMatchObject({ outcome: 'error', code: 'store.unavailable' })
  })

  it('gives up on a hanging store after its timeout', async () => {
    const engine = createEngine(policy([{ id: 'rl', type: 'rateLimit', limit: 5, window: '1m' }]), {
      store: hanging,
    })
    const started = Date.now()
    const d = await engine.decide(req())
    expect(d.code).toBe('store.unavailable')
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('treats a store that answers nonsense as down', async () => {
    const liar: Store = { consume: () => [] }
    const engine = createEngine(policy([{ id: 'rl', type: 'rateLimit', limit: 5, window: '1m' }]), {
      store: liar,
    })
    expect((await engine.decide(req())).code).toBe('store.unavailable')
  })

  it('times out each hanging call at its own deadline, beside calls that are answered', async () => {
    // Odd calls hang, even calls are answered at once; calls start 10 ms apart, so their
    // deadlines (50 ms each) overlap and share the engine's one timer.
    const memory = new MemoryStore()
    let n = 0
    const flaky: Store = {
      timeoutMs: 50,
      consume: (checks) =>
        n++ % 2 === 1 ? new Promise(() => {}) : Promise.resolve(memory.consume(checks)),
    }
    const engine = createEngine(
      policy([{ id: 'rl', type: 'rateLimit', limit: 100, window: '1m' }]),
      {
        store: flaky,
      },
    )
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
    const timed = async () => {
      const started = performance.now()
      const d = await engine.decide(req())
      return { code: d.code, ms: performance.now() - started }
    }
    const calls: Promise<{ code: string; ms: number }>[] = []
    for (let i = 0; i < 8; i++) {
      calls.push(timed())
      await sleep(10)
    }
    const answers = await Promise.all(calls)
    answers.forEach((a, i) => {
      if (i % 2 === 0) {
        expect(a.code).toBe('allowed')
        expect(a.ms).toBeLessThan(40)
      } else {
        expect(a.code).toBe('store.unavailable')
        expect(a.ms).toBeGreaterThanOrEqual(49) // never before its own deadline
        expect(a.ms).toBeLessThan(1000)
      }
    })
    // The queue is empty again: a later hanging call gets its full bound too.
    const late = await timed()
    expect(late.code).toBe('allowed')
    const hung = await timed()
    expect(hung).toMatchObject({ code: 'store.unavailable' })
    expect(hung.ms).toBeGreaterThanOrEqual(49)
  })

  it('turns a throw while reading a late answer into a 503, never a rejection', async () => {
    // An outcome whose getter throws makes reading the store's answer throw after the wait.
    const hostile = [
      {
        get allowed(): boolean {
          throw new Error('getter')
        },
        remaining: 0,
        resetMs: 0,
        retryAfterMs: 0,
      },
    ]
    for (const store of [
      { consume: () => Promise.resolve(hostile) },
      { consume: () => hostile },
    ] as Store[]) {
      const engine = createEngine(
        policy([{ id: 'rl', type: 'rateLimit', limit: 5, window: '1m' }]),
        { store },
      )
      expect(await engine.decide(req())).toMatchObject({ status: 503, code: 'rule.error' })
    }
  })

  it('rejects a store timeoutMs that is not a positive number', () => {
    for (const timeoutMs of [0, -1, Number.NaN, '50']) {
      const store = { consume: () => [], timeoutMs } as unknown as Store
      expect(() => createEngine(policy([]), { store })).toThrow(/timeoutMs/)
    }
  })
})

describe('custom rules', () => {
  const geo = defineRule<{ id: string; type: 'geo'; countries: string[] }>({
    validate: (rule) =>
      Array.isArray(rule.countries)
        ? []
        : [{ path: '/countries', message: 'must be a list of country codes' }],
    evaluate: (request, rule) =>
      rule.countries.includes(request.header('x-country') ?? '')
        ? {
            action: 'deny',
            code: 'geo.denied',
            status: 451,
            message: 'Not available in your region.',
          }
        : undefined,
  })

  it('are registered by type and named like built-ins', async () => {
    const engine = createEngine(
      { version: 1, rules: [{ id: 'geo', type: 'geo', countries: ['XX'] }] },
      { rules: { geo } },
    )
    expect(await engine.decide(req({ headers: { 'x-country': 'XX' } }))).toMatchObject({
      allowed: false,
      status: 451,
      code: 'geo.denied',
      ruleId: 'geo',
    })
    expect((await engine.decide(req({ headers: { 'x-country': 'FR' } }))).allowed).toBe(true)
  })

  it('may be async; a throw or rejection fails closed without escaping decide', async () => {
    const slow = defineRule({ evaluate: async () => ({ action: 'deny', code: 'slow.no' }) })
    const bad = defineRule({
      evaluate: () => {
        throw new Error('bug')
      },
    })
    const rejecting = defineRule({ evaluate: () => Promise.reject(new Error('bug')) })
    const engine = createEngine(
      {
        version: 1,
        rules: [
          { id: 's', type: 'slow', paths: ['/slow'] },
          { id: 'b', type: 'bad', paths: ['/bad'] },
          { id: 'r', type: 'rejecting', paths: ['/rej'] },
        ],
      },
      { rules: { slow, bad, rejecting } },
    )
    expect(await engine.decide(req({ url: '/slow' }))).toMatchObject({
      status: 403,
      code: 'slow.no',
    })
    expect(await engine.decide(req({ url: '/bad' }))).toMatchObject({
      status: 503,
      code: 'rule.error',
      ruleId: 'b',
    })
    expect(await engine.decide(req({ url: '/rej' }))).toMatchObject({
      status: 503,
      code: 'rule.error',
      ruleId: 'r',
    })
    expect((await engine.decide(req({ url: '/ok' }))).allowed).toBe(true)
  })

  it('fail closed when their verdict throws while the Decision is built, sync or async', async () => {
    const verdict = () => ({
      action: 'deny' as const,
      headers: Object.defineProperty({}, 'x-trap', {
        enumerable: true,
        get(): string {
          throw new Error('getter')
        },
      }) as Record<string, string>,
    })
    const engine = createEngine(
      {
        version: 1,
        rules: [
          { id: 'a', type: 'later', paths: ['/async'] },
          { id: 's', type: 'now', paths: ['/sync'] },
        ],
      },
      {
        rules: {
          later: defineRule({ evaluate: async () => verdict() }),
          now: defineRule({ evaluate: verdict }),
        },
      },
    )
    for (const url of ['/async', '/sync']) {
      expect(await engine.decide(req({ url }))).toMatchObject({ status: 503, code: 'rule.error' })
    }
  })

  it('report their validation problems with JSON paths', () => {
    expect(() =>
      createEngine(
        { version: 1, rules: [{ id: 'g', type: 'geo', countries: 'XX' }] },
        { rules: { geo } },
      ),
    ).toThrow(PolicyError)
    try {
      createEngine(
        { version: 1, rules: [{ id: 'g', type: 'geo', countries: 'XX' }] },
        { rules: { geo } },
      )
    } catch (error) {
      expect((error as PolicyError).errors).toEqual([
        { path: '/rules/0/countries', message: 'must be a list of country codes' },
      ])
    }
    expect(() => createEngine(policy([]), { rules: { ip: geo } })).toThrow(/shadow/)
  })
})

describe('logging', () => {
  it('respects log: denied and none, escapes control characters, never logs keys', async () => {
    const events: DecisionEvent[] = []
    const denied = createEngine(
      policy([{ id: 'p', type: 'path', action: 'deny', paths: ['/no'] }], { log: 'denied' }),
      {
        onDecision: (e) => events.push(e),
      },
    )
    await denied.decide(req({ url: '/yes' }))
    await denied.decide(
      req({
        url: '/no',
        headers: {
          'user-agent': 'evil\r\nX-Injected: 1',
          'x-api-key': 'supersecret',
          authorization: 'Bearer supersecret',
        },
      }),
    )
    expect(events).toHaveLength(1)
    expect(events[0]!.userAgent).toBe('evil\\x0d\\x0aX-Injected: 1')
    expect(JSON.stringify(events)).not.toContain('supersecret')
    const none = createEngine(policy([], { log: 'none' }), { onDecision: (e) => events.push(e) })
    await none.decide(req())
    expect(events).toHaveLength(1)
  })
  it('logs the path of a target it cannot read without its query (it may hold a key)', async () => {
    const events: DecisionEvent[] = []
    const engine = createEngine(policy([]), { onDecision: (e) => events.push(e) })
    const d = await engine.decide(req({ url: '/%zz?api_key=supersecret#frag' }))
    expect(d.code).toBe('request.invalid')
    expect(events.map((e) => e.path)).toEqual(['/%zz'])
  })
  it('counts a credential header by a digest: the store never sees the value', async () => {
    const keys: string[] = []
    const memory = new MemoryStore()
    const store: Store = {
      consume: (checks) => {
        keys.push(...checks.map((c) => `${c.key} ${c.scope ?? ''}`))
        return memory.consume(checks)
      },
    }
    const byHeader = (id: string, by: `header:${string}`) =>
      ({ id, type: 'rateLimit', by, limit: 2, window: '1m' }) as const
    const engine = createEngine(
      policy([
        {
          id: 'keys',
          type: 'apiKey',
          paths: ['/k'],
          header: 'x-key',
          keys: [{ id: 'a', sha256: 'a'.repeat(64) }],
        },
        byHeader('token', 'header:authorization'),
        byHeader('session', 'header:cookie'),
        byHeader('key', 'header:x-key'),
        byHeader('user', 'header:x-user'),
      ]),
      { store },
    )
    const headers = {
      authorization: 'Bearer supersecret-1',
      cookie: 'sid=supersecret-2',
      'x-key': 'supersecret-3',
      'x-user': 'alice',
    }
    await engine.decide(req({ headers }))
    await engine.decide(req({ headers }))
    expect(keys.join('\n')).not.toContain('supersecret')
    expect(keys[0]).toMatch(/^token:0:h:authorization=digest:[0-9a-f]{64} /)
    expect(keys).toContain('user:0:h:x-user=alice h:x-user=alice') // not a credential: readable
    // Still counted per value: the third request with the same token is over the limit of 2.
    expect((await engine.decide(req({ headers }))).code).toBe('rateLimit.exceeded')
  })
  it('a throwing sink does not change the decision', async () => {
    const engine = createEngine(policy([]), {
      onDecision: () => {
        throw new Error('sink down')
      },
    })
    expect((await engine.decide(req())).allowed).toBe(true)
  })
  it('shouldLog skips events per decision, sees the decision and the request', async () => {
    const events: DecisionEvent[] = []
    const asked: [string, unknown][] = []
    const engine = createEngine(
      policy([{ id: 'p', type: 'path', action: 'deny', paths: ['/no'] }]),
      {
        onDecision: (e) => events.push(e),
        shouldLog: (d, request) => {
          asked.push([d.code, request])
          return !d.allowed
        },
      },
    )
    const tag = { framework: 'request' }
    await engine.decide(req({ url: '/yes' }), tag)
    await engine.decide(req({ url: '/no' }), tag)
    expect(asked).toEqual([
      ['allowed', tag],
      ['path.denied', tag],
    ])
    expect(events.map((e) => e.code)).toEqual(['path.denied'])
  })
  it('a throwing shouldLog skips the event and keeps the decision', async () => {
    const events: DecisionEvent[] = []
    const engine = createEngine(policy([]), {
      onDecision: (e) => events.push(e),
      shouldLog: () => {
        throw new Error('level unknown')
      },
    })
    expect((await engine.decide(req())).allowed).toBe(true)
    expect(events).toEqual([])
  })
  it('calls onDecision before decide resolves', async () => {
    let seen = 0
    const engine = createEngine(policy([]), { onDecision: () => seen++ })
    await engine.decide(req())
    expect(seen).toBe(1)
  })
})

describe('evaluate', () => {
  it('answers synchronously with the memory store', () => {
    const engine = createEngine(policy([{ id: 'rl', type: 'rateLimit', limit: 1, window: '1m' }]))
    const d = engine.evaluate(req())
    expect(d).not.toBeInstanceOf(Promise)
    expect((d as { allowed: boolean }).allowed).toBe(true)
  })
})
