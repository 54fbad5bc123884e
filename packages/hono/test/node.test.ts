// @sec/hono over real HTTP: @hono/node-server on 127.0.0.1, the built package, raw sockets for
// request-targets and header lines that fetch() would normalise.
import { createEngine, defineRule, MemoryStore, sha256Hex } from '@sec/core'
import type { Store } from '@sec/core'
import { Hono } from 'hono'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sec, type SecEnv } from '../dist/index.js'
import { raw } from '@sec/test-kit/http'
import { listen, type Served } from './helpers.js'

const KEY = 'secure-key-123'
const policy = {
  version: 1,
  rules: [
    { id: 'bad-ua', type: 'userAgent', action: 'deny', exact: ['EvilBot/1.0'] },
    { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
    { id: 'internal', type: 'ip', action: 'deny', paths: ['/internal/**'], unless: ['loopback'] },
    {
      id: 'keys',
      type: 'apiKey',
      paths: ['/api/**'],
      keys: [{ id: 'svc-a', sha256: sha256Hex(KEY) }],
    },
    { id: 'limit', type: 'rateLimit', paths: ['/limited'], limit: 2, window: '1m' },
    { id: 'page', type: 'rateLimit', paths: ['/page/**'], limit: 100, window: '1m' },
  ],
}

/** A store on a fixed clock: no window ends between two requests of a test. */
const fixedStore = () => new MemoryStore({ now: () => 1_700_000_000_000 })

const servers: Served[] = []
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled)
})
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  await Promise.all(servers.map((s) => s.close()))
})
afterEach(() => {
  expect(unhandled).toEqual([])
})

async function start(app: Hono<SecEnv>): Promise<Served> {
  const served = await listen(app as unknown as Hono<never>)
  servers.push(served)
  return served
}

/** An app where every handler records that it ran. */
function protectedApp(options: Parameters<typeof sec>[0]) {
  const ran: string[] = []
  const app = new Hono<SecEnv>()
  app.use(sec(options))
  app.get('/hello', (c) => {
    ran.push('hello')
    return c.json({ code: c.get('sec').code, clientIp: c.get('sec').clientIp })
  })
  app.get('/page/raw', () => {
    ran.push('raw')
    return new Response('raw body', { headers: { 'x-handler': 'raw' } })
  })
  app.get('/page/redirect', () => {
    ran.push('redirect')
    return Response.redirect('http://127.0.0.1/elsewhere', 302) // immutable headers
  })
  app.get('/page/own', (c) => {
    ran.push('own')
    c.header('RateLimit', 'own value')
    return c.text('own')
  })
  app.all('*', (c) => {
    ran.push(c.req.path)
    return c.json({ sec: c.get('sec').code })
  })
  return { app, ran }
}

describe('on Node (@hono/node-server)', () => {
  let served: Served
  let ran: string[]
  beforeAll(async () => {
    const built = protectedApp({ policy, store: fixedStore() })
    ran = built.ran
    served = await start(built.app)
  })
  afterEach(() => {
    ran.length = 0
  })

  it('lets an allowed request through with the Decision at c.get("sec")', async () => {
    const res = await fetch(`${served.url}/hello`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ code: 'allowed', clientIp: '127.0.0.1' })
    expect(ran).toEqual(['hello'])
  })

  it('adds RateLimit headers, then answers 429 with Retry-After and JSON', async () => {
    const first = await fetch(`${served.url}/limited`)
    expect(first.status).toBe(200)
    expect(first.headers.get('ratelimit-policy')).toBe('"limit";q=2;w=60')
    expect(first.headers.get('ratelimit')).toMatch(/^"limit";r=1;t=\d+$/)
    expect((await fetch(`${served.url}/limited`)).status).toBe(200)
    ran.length = 0
    const denied = await fetch(`${served.url}/limited`)
    expect(denied.status).toBe(429)
    expect(denied.headers.get('content-type')).toMatch(/^application\/json/)
    expect(Number(denied.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(denied.headers.get('ratelimit')).toMatch(/^"limit";r=0;t=\d+$/)
    expect(await denied.json()).toEqual({
      error: 'rateLimit.exceeded',
      message: 'Too many requests. Try again later.',
    })
    expect(ran).toEqual([])
  })

  it('keeps the headers when the handler returns a raw Response', async () => {
    const res = await fetch(`${served.url}/page/raw`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('raw body')
    expect(res.headers.get('x-handler')).toBe('raw')
    expect(res.headers.get('ratelimit-policy')).toBe('"page";q=100;w=60')
    expect(res.headers.get('ratelimit')).toMatch(/^"page";r=\d+;t=\d+$/)
  })

  it('keeps the headers on a Response with immutable headers', async () => {
    const res = await fetch(`${served.url}/page/redirect`, { redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('http://127.0.0.1/elsewhere')
    expect(res.headers.get('ratelimit-policy')).toBe('"page";q=100;w=60')
    expect(ran).toEqual(['redirect'])
  })

  it("lets a handler override a header's value", async () => {
    const res = await fetch(`${served.url}/page/own`)
    expect(res.headers.get('ratelimit')).toBe('own value')
    expect(res.headers.get('ratelimit-policy')).toBe('"page";q=100;w=60')
  })

  it('keeps the headers on HEAD and on 404', async () => {
    const head = await fetch(`${served.url}/page/raw`, { method: 'HEAD' })
    expect(head.headers.get('ratelimit-policy')).toBe('"page";q=100;w=60')
    const app = new Hono<SecEnv>().use(sec({ policy }))
    const { url } = await start(app)
    const missing = await fetch(`${url}/page/none`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get('ratelimit-policy')).toBe('"page";q=100;w=60')
  })

  it('denies with status, JSON { error, message } and WWW-Authenticate on 401', async () => {
    const res = await fetch(`${served.url}/api/orders`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/)
    expect(await res.json()).toMatchObject({ error: 'apiKey.missing' })
    const bad = await fetch(`${served.url}/api/orders`, { headers: { 'x-api-key': 'nope' } })
    expect(bad.status).toBe(401)
    expect(((await bad.json()) as { error: string }).error).toBe('apiKey.invalid')
    expect(ran).toEqual([])
    const ok = await fetch(`${served.url}/api/orders`, { headers: { 'x-api-key': KEY } })
    expect(ok.status).toBe(200)
    expect(ran).toEqual(['/api/orders'])
  })

  it('uses the socket peer: loopback reaches /internal', async () => {
    expect((await fetch(`${served.url}/internal/x`)).status).toBe(200)
  })

  it.each([
    '/admin',
    '/%61dmin',
    '//admin',
    '/admin/',
    '/ADMIN',
    '/admin/..', // Hono sees "/" (URL resolves it); the raw target is under /admin
    '/admin/%2e%2e',
    '/a/../admin',
    '/%5cadmin',
    '/%2fadmin',
    '/x/..%2f..%2fadmin',
    'http://evil.example/admin',
  ])('judges the raw target %s: 403, handler never runs', async (target) => {
    const res = await raw(served.port, target)
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body)).toEqual({
      error: 'path.denied',
      message: expect.any(String) as string,
    })
    expect(ran).toEqual([])
  })

  it.each([
    // @hono/node-server refuses these before any middleware runs (400, no body we write)
    ['\\admin', 400],
    ['/\\admin', 400],
    ['HTTP://evil.example/admin', 400],
    // core refuses these: 400 request.invalid
    ['/%zz', 400],
    ['/admin%', 400],
  ])('refuses the target %s', async (target, status) => {
    const res = await raw(served.port, target)
    expect(res.status).toBe(status)
    expect(ran).toEqual([])
  })

  it('refuses asterisk form (OPTIONS *)', async () => {
    expect((await raw(served.port, '*', [], 'OPTIONS')).status).toBe(400)
    expect(ran).toEqual([])
  })

  it('answers request.invalid for a malformed escape', async () => {
    const res = await raw(served.port, '/%zz')
    expect(JSON.parse(res.body)).toMatchObject({ error: 'request.invalid' })
  })

  it('reads every header line (rawHeaders): a second User-Agent still denies', async () => {
    // Node's req.headers keeps the first User-Agent, a Web Headers joins them ("a, b"): only
    // rawHeaders shows EvilBot/1.0 as a value of its own.
    const res = await raw(served.port, '/hello', [
      ['User-Agent', 'Mozilla/5.0'],
      ['User-Agent', 'EvilBot/1.0'],
    ])
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'userAgent.denied' })
    expect(ran).toEqual([])
  })

  it('treats two x-api-key lines as invalid, even with the right key', async () => {
    const once = await raw(served.port, '/api/x', [['x-api-key', KEY]])
    expect(once.status).toBe(200)
    const twice = await raw(served.port, '/api/x', [
      ['x-api-key', KEY],
      ['X-Api-Key', KEY],
    ])
    expect(twice.status).toBe(401)
    expect(twice.headers['www-authenticate']).toMatch(/^Bearer/)
    expect(JSON.parse(twice.body)).toMatchObject({ error: 'apiKey.invalid' })
  })
})

describe('a request Hono rewrote (app.mount)', () => {
  it('judges the URL the mounted app routes, with the socket peer', async () => {
    const child = protectedApp({ policy })
    const parent = new Hono()
    parent.mount('/legacy', child.app.fetch)
    const { url, port } = await start(parent as unknown as Hono<SecEnv>)
    // The child routes /admin: the raw target /legacy/admin must not slip past /admin/**.
    const res = await fetch(`${url}/legacy/admin`)
    expect(res.status).toBe(403)
    expect(child.ran).toEqual([])
    const ok = await fetch(`${url}/legacy/hello`)
    expect(await ok.json()).toEqual({ code: 'allowed', clientIp: '127.0.0.1' })
    expect((await raw(port, '/legacy/%61dmin')).status).toBe(403)
    expect(child.ran).toEqual(['hello'])
  })
})

describe('options', () => {
  it('shares one { engine } between two apps (one store, one limit)', async () => {
    const engine = createEngine(
      {
        version: 1,
        rules: [{ id: 'shared', type: 'rateLimit', limit: 2, window: '1m' }],
      },
      { store: fixedStore() },
    )
    const a = await start(protectedApp({ engine }).app)
    const b = await start(protectedApp({ engine }).app)
    expect((await fetch(`${a.url}/hello`)).status).toBe(200)
    expect((await fetch(`${b.url}/hello`)).status).toBe(200)
    expect((await fetch(`${a.url}/hello`)).status).toBe(429)
    expect((await fetch(`${b.url}/hello`)).status).toBe(429)
  })

  it('passes context(c) to the policy (by: "context:userId")', async () => {
    const { app } = protectedApp({
      policy: {
        version: 1,
        rules: [
          { id: 'per-user', type: 'rateLimit', by: 'context:userId', limit: 1, window: '1m' },
        ],
      },
      store: fixedStore(),
      context: (c) => ({ userId: c.req.header('x-user') }),
    })
    const { url } = await start(app)
    const as = (user: string) => fetch(`${url}/hello`, { headers: { 'x-user': user } })
    expect((await as('alice')).status).toBe(200)
    expect((await as('alice')).status).toBe(429)
    expect((await as('bob')).status).toBe(200)
  })

  it('calls onDecision with the Hono context', async () => {
    const seen: string[] = []
    const { app } = protectedApp({
      policy,
      onDecision: (event, c) =>
        seen.push(`${event.code} ${(c as { req: { path: string } }).req.path}`),
    })
    const { url } = await start(app)
    await fetch(`${url}/hello`)
    await fetch(`${url}/admin`)
    expect(seen).toEqual(['allowed /hello', 'path.denied /admin'])
  })

  it('answers 503 when a custom rule throws, and keeps serving', async () => {
    const boom = defineRule({
      evaluate: (req) => {
        if (req.path === '/sync') throw new Error('boom')
        if (req.path === '/async') return Promise.reject(new Error('async boom'))
        return undefined
      },
    })
    const { app, ran } = protectedApp({
      policy: { version: 1, rules: [{ id: 'boom', type: 'boom' }] },
      rules: { boom },
    })
    const { url } = await start(app)
    for (const path of ['/sync', '/async']) {
      const res = await fetch(url + path)
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({ error: 'rule.error' })
    }
    expect(ran).toEqual([])
    expect((await fetch(`${url}/hello`)).status).toBe(200)
  })

  it('fails closed (503) or open (200) when the store rejects, with no unhandled rejection', async () => {
    const failing = (failMode: 'open' | 'closed'): Store => ({
      failMode,
      consume: () => Promise.reject(new Error('store down')),
    })
    const limited = { version: 1, rules: [{ id: 'rl', type: 'rateLimit', limit: 5, window: '1m' }] }
    const closed = protectedApp({ policy: limited, store: failing('closed') })
    const open = protectedApp({ policy: limited, store: failing('open') })
    const c = await start(closed.app)
    const o = await start(open.app)
    const denied = await fetch(`${c.url}/hello`)
    expect(denied.status).toBe(503)
    expect(await denied.json()).toMatchObject({ error: 'store.unavailable' })
    expect(closed.ran).toEqual([])
    const allowed = await fetch(`${o.url}/hello`)
    expect(allowed.status).toBe(200)
    expect(await allowed.json()).toEqual({ code: 'store.unavailable', clientIp: '127.0.0.1' })
    // A store that throws synchronously is a fault like any other.
    const throwing = protectedApp({
      policy: limited,
      store: {
        consume: () => {
          throw new Error('sync fault')
        },
      },
    })
    const t = await start(throwing.app)
    expect((await fetch(`${t.url}/hello`)).status).toBe(503)
    expect((await fetch(`${c.url}/hello`)).status).toBe(503) // still serving
    await new Promise((resolve) => setTimeout(resolve, 20)) // let any stray rejection surface
  })

  it('throws at sec() time for options that cannot work', () => {
    const engine = createEngine(policy)
    const bad: unknown[] = [
      undefined,
      {},
      { policy, engine },
      { engine, store: { consume: () => [] } },
      { engine: {} },
      { policy, context: 'userId' },
      { policy, getConnInfo: 'remote' },
    ]
    for (const options of bad) {
      expect(() => sec(options as Parameters<typeof sec>[0]), JSON.stringify(options)).toThrow(
        TypeError,
      )
    }
    expect(() => sec({ policy: { version: 1, rules: [{ id: 'x', type: 'nope' }] } })).toThrow(
      /nope|type/,
    )
    expect(() => sec({ policy: '{ not json' })).toThrow()
  })
})
