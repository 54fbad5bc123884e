import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sec } from '../dist/index.js'
// `rawGet`: the routing tests keep a local named `raw`.
import { raw as rawGet, rawHead } from '@sec/test-kit/http'
import { API_KEY, frozenStore, listen, policy, portOf } from './helpers.js'

const calls: Record<string, number> = {}
const count = (name: string) => {
  calls[name] = (calls[name] ?? 0) + 1
}

let app: FastifyInstance
let base: string
let port: number

beforeAll(async () => {
  // trustProxy on Fastify's side only: request.ip follows X-Forwarded-For, the policy must not.
  app = Fastify({ trustProxy: true })
  await app.register(sec, { policy, store: frozenStore() })
  app.get('/login', (request) => {
    count('login')
    return { sec: request.sec, ip: request.ip }
  })
  app.get('/admin', () => {
    count('admin')
    return 'admin'
  })
  app.get('/admin/*', () => {
    count('admin')
    return 'admin'
  })
  app.get('/api/orders', (request) => {
    count('api')
    return { apiKeyId: request.sec?.apiKeyId }
  })
  app.get('/hello', () => {
    count('hello')
    return 'hello'
  })
  app.setNotFoundHandler((request, reply) => {
    count('notFound')
    return reply.code(404).send({ notFound: true, sec: request.sec?.code })
  })
  base = await listen(app)
  port = portOf(app)
})

afterAll(async () => {
  await app.close()
})

describe('allowed requests', () => {
  it('reach the handler with request.sec and the RateLimit headers', async () => {
    const res = await fetch(`${base}/login`)
    expect(res.status).toBe(200)
    expect(res.headers.get('ratelimit-policy')).toBe('"login";q=2;w=60')
    expect(res.headers.get('ratelimit')).toMatch(/^"login";r=1;t=\d+$/)
    const body = (await res.json()) as { sec: { allowed: boolean; code: string; clientIp: string } }
    expect(body.sec).toMatchObject({ allowed: true, code: 'allowed', clientIp: '127.0.0.1' })
    expect(calls.login).toBe(1)
  })

  it('judge the socket peer, never request.ip (X-Forwarded-For without trustProxy)', async () => {
    const res = await fetch(`${base}/login`, { headers: { 'x-forwarded-for': '203.0.113.9' } })
    const body = (await res.json()) as { sec: { clientIp: string }; ip: string }
    expect(body.ip).toBe('203.0.113.9')
    expect(body.sec.clientIp).toBe('127.0.0.1')
  })

  it('carry a verified API key id, never the key', async () => {
    const res = await fetch(`${base}/api/orders`, { headers: { 'x-api-key': API_KEY } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ apiKeyId: 'svc-a' })
    const bearer = await fetch(`${base}/api/orders`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    })
    expect(bearer.status).toBe(200)
    expect(calls.api).toBe(2)
  })
})

describe('denied requests', () => {
  it('429 with Retry-After, JSON body, and the handler never runs', async () => {
    const before = calls.login
    const res = await fetch(`${base}/login`) // third request: limit is 2
    expect(res.status).toBe(429)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await res.json()).toEqual({
      error: 'rateLimit.exceeded',
      message: 'Too many requests. Try again later.',
    })
    expect(calls.login).toBe(before)
  })

  it('403 on a denied path', async () => {
    const res = await fetch(`${base}/admin`)
    expect(res.status).toBe(403)
    const body = (await res.json()) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['error', 'message'])
    expect(body.error).toBe('path.denied')
    expect(calls.admin).toBeUndefined()
  })

  it('401 with WWW-Authenticate when the API key is missing or wrong', async () => {
    const missing = await fetch(`${base}/api/orders`)
    expect(missing.status).toBe(401)
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(((await missing.json()) as { error: string }).error).toBe('apiKey.missing')
    const wrong = await fetch(`${base}/api/orders`, { headers: { 'x-api-key': 'nope' } })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(((await wrong.json()) as { error: string }).error).toBe('apiKey.invalid')
  })

  it('an API key sent twice is invalid (rawHeaders keep both)', async () => {
    const before = calls.api
    const res = await rawGet(port, '/api/orders', [
      ['X-Api-Key', API_KEY],
      ['X-Api-Key', API_KEY],
    ])
    expect(res.status).toBe(401)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'apiKey.invalid' })
    expect(calls.api).toBe(before)
  })

  it('a duplicated User-Agent is denied when any value matches', async () => {
    const res = await rawGet(port, '/hello', [
      ['User-Agent', 'curl/8.0'],
      ['User-Agent', 'BadBot/1.0'],
    ])
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'userAgent.denied' })
    expect(calls.hello).toBeUndefined()
  })

  it.each([
    '/%61dmin',
    '/%2561dmin',
    '//admin',
    '/admin/..',
    '/admin/%2e%2e',
    '/ADMIN',
    '/admin/',
    '/%5cadmin',
    '/hello/../admin',
    '/hello/%2e%2e/admin',
    '/admin/x%2f..%2f..',
    'http://127.0.0.1/admin',
    'HTTP://example.com/admin/x',
  ])('raw target %s is denied before any handler', async (target) => {
    const res = await rawGet(port, target)
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body)).toEqual({
      error: 'path.denied',
      message: expect.any(String) as unknown,
    })
    expect(calls.admin).toBeUndefined()
  })
})

describe('routing', () => {
  it('unknown routes still pass through the hook: a denied path with no route is 403', async () => {
    const res = await fetch(`${base}/admin-nothing/../admin/no/such/route`)
    expect(res.status).toBe(403)
    const raw = await rawGet(port, '/ADMIN/no/such/route')
    expect(raw.status).toBe(403)
    expect(calls.notFound).toBeUndefined()
  })

  it('an allowed unknown route reaches the 404 handler with request.sec set', async () => {
    const res = await fetch(`${base}/nothing-here`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ notFound: true, sec: 'allowed' })
    expect(calls.notFound).toBe(1)
  })

  it('targets the policy cannot canonicalise get 400 (from sec or from Fastify itself)', async () => {
    // Asterisk form reaches the hook: sec answers request.invalid.
    const star = await rawHead(port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(star.status).toBe(400)
    expect(JSON.parse(star.body)).toMatchObject({ error: 'request.invalid' })
    // Fastify's router (and its 404 router) refuses a malformed escape or invalid UTF-8
    // before any hook runs: the same status, Fastify's own body.
    for (const method of ['GET', 'DELETE']) {
      for (const target of ['/%zz', '/%', '/admin%', '/%c0', '/%E0%A4%A']) {
        const head = `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`
        const res = await rawHead(port, head)
        expect(res.status).toBe(400)
        expect(JSON.parse(res.body)).toMatchObject({ code: 'FST_ERR_BAD_URL' })
      }
    }
    // Node's HTTP parser refuses targets that are neither origin nor absolute form.
    for (const target of ['example.com:80', '\\admin']) {
      expect((await rawGet(port, target)).status).toBe(400)
    }
    expect(calls.notFound).toBe(1)
  })
})
