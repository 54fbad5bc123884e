import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { createEngine, PolicyError } from '@sec/core'
import type { Decision } from '@sec/core'
import { afterAll, describe, expect, it } from 'vitest'
import { sec } from '../dist/index.js'
import type { SecFastifyOptions } from '../dist/index.js'
import { raw } from '@sec/test-kit/http'
import { frozenStore, listen, policy, portOf } from './helpers.js'

const apps: FastifyInstance[] = []
function track(app: FastifyInstance): FastifyInstance {
  apps.push(app)
  return app
}

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()))
})

describe('{ engine }', () => {
  it('one engine shared by two Fastify apps enforces one limit', async () => {
    const engine = createEngine(
      {
        version: 1,
        rules: [{ id: 'login', type: 'rateLimit', paths: ['/login'], limit: 3, window: '1m' }],
      },
      { store: frozenStore() },
    )
    const urls: string[] = []
    for (let i = 0; i < 2; i++) {
      const app = track(Fastify())
      await app.register(sec, { engine })
      app.get('/login', () => 'ok')
      urls.push(await listen(app))
    }
    const statuses = []
    for (const url of [urls[0], urls[1], urls[0], urls[1], urls[0]]) {
      statuses.push((await fetch(`${url}/login`)).status)
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429])
  })
})

describe('context', () => {
  it('feeds by: "context:userId"', async () => {
    const app = track(Fastify())
    await app.register(sec, {
      policy: {
        version: 1,
        rules: [
          { id: 'per-user', type: 'rateLimit', by: 'context:userId', limit: 1, window: '1m' },
        ],
      },
      store: frozenStore(),
      context: (request) => ({ userId: request.headers['x-user'] as string | undefined }),
    })
    app.get('/', () => 'ok')
    const url = await listen(app)
    const as = (user: string) => fetch(url, { headers: { 'x-user': user } })
    expect((await as('u1')).status).toBe(200)
    expect((await as('u1')).status).toBe(429)
    expect((await as('u2')).status).toBe(200) // same client address, another user
  })

  it('a context function that throws fails the request (500), never lets it through', async () => {
    let handled = 0
    const app = track(Fastify())
    await app.register(sec, {
      policy,
      context: () => {
        throw new Error('session store down')
      },
    })
    app.get('/', () => {
      handled++
      return 'ok'
    })
    const url = await listen(app)
    expect((await fetch(url)).status).toBe(500)
    expect(handled).toBe(0)
  })
})

describe('register-time validation', () => {
  const cases: [string, unknown, new (...args: never[]) => Error][] = [
    ['no options', {}, TypeError],
    ['both policy and engine', { policy, engine: createEngine(policy) }, TypeError],
    ['store next to engine', { engine: createEngine(policy), store: {} }, TypeError],
    ['context not a function', { policy, context: 'userId' }, TypeError],
    [
      'an invalid policy',
      { policy: { version: 1, rules: [{ id: 'x', type: 'nope' }] } },
      PolicyError,
    ],
    ['policy JSON that does not parse', { policy: '{ nope' }, PolicyError],
  ]
  it.each(cases)('rejects %s', async (_name, options, ErrorType) => {
    const app = Fastify()
    await expect(app.register(sec, options as SecFastifyOptions).ready()).rejects.toBeInstanceOf(
      ErrorType,
    )
    await app.close().catch(() => undefined)
  })

  it('names the adapter in the message', async () => {
    const app = Fastify()
    await expect(app.register(sec, {} as SecFastifyOptions).ready()).rejects.toThrow(
      /@sec\/fastify/,
    )
    await app.close().catch(() => undefined)
  })
})

describe('encapsulation', () => {
  it('registered in a child context, sec guards that context only', async () => {
    const app = track(Fastify())
    await app.register(async (child) => {
      await child.register(sec, { policy })
      child.get('/admin', () => 'child admin')
    })
    await app.register(
      async (other) => {
        other.get('/admin', (request) => ({ sec: request.sec }))
      },
      { prefix: '/other' },
    )
    const url = await listen(app)
    expect((await fetch(`${url}/admin`)).status).toBe(403)
    const res = await fetch(`${url}/other/admin`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({}) // not even decorated in a sibling context
  })

  it('nested registrations both run; the inner Decision is the one on request.sec', async () => {
    const app = track(Fastify())
    await app.register(sec, { policy })
    await app.register(async (child) => {
      await child.register(sec, {
        policy: {
          version: 1,
          rules: [{ id: 'strict', type: 'path', action: 'deny', paths: ['/strict/**'] }],
        },
      })
      child.get('/strict/x', () => 'never')
      child.get('/fine', (request) => ({ code: request.sec?.code }))
    })
    const url = await listen(app)
    expect((await fetch(`${url}/strict/x`)).status).toBe(403)
    expect((await fetch(`${url}/admin`)).status).toBe(403) // outer policy still applies
    expect(await (await fetch(`${url}/fine`)).json()).toEqual({ code: 'allowed' })
  })
})

describe('request-target', () => {
  it('with rewriteUrl, the policy judges the rewritten target (the one that picks the handler)', async () => {
    const app = track(
      Fastify({ rewriteUrl: (req) => (req.url === '/legacy/admin' ? '/admin' : (req.url ?? '/')) }),
    )
    await app.register(sec, { policy })
    app.get('/admin', () => 'admin')
    const url = await listen(app)
    expect((await fetch(`${url}/legacy/admin`)).status).toBe(403)
  })

  // (Fastify's types omit routerOptions.useSemicolonDelimiter, which it does honour.)
  it.each<[string, FastifyServerOptions]>([
    ['routerOptions', { routerOptions: { useSemicolonDelimiter: true } } as FastifyServerOptions],
    ['the top-level option', { useSemicolonDelimiter: true }],
  ])('with useSemicolonDelimiter (%s), /admin;x is judged as /admin', async (_name, options) => {
    const app = track(Fastify(options))
    await app.register(sec, { policy })
    let handled = 0
    app.get('/admin', () => {
      handled++
      return 'admin'
    })
    app.get('/hello', (request) => request.query)
    await listen(app)
    const port = portOf(app)
    for (const target of [
      '/admin;x',
      '/admin;',
      '/%61dmin;x=1',
      'http://h/admin;x',
      '/ADMIN;a?b',
    ]) {
      expect((await raw(port, target)).status).toBe(403)
    }
    expect(handled).toBe(0)
    const hello = await raw(port, '/hello;a=1')
    expect(hello.status).toBe(200)
    expect(JSON.parse(hello.body)).toEqual({ a: '1' })
  })

  it('without useSemicolonDelimiter (the default) /admin;x is still denied: sec denies broadly', async () => {
    const app = track(Fastify())
    await app.register(sec, { policy })
    app.get('/admin', () => 'admin')
    await listen(app)
    // Fastify itself would 404 here; sec cannot know how the router is configured, so a deny
    // covers the path cut at the `;` either way.
    expect((await raw(portOf(app), '/admin;x')).status).toBe(403)
  })

  it('answers synchronously: no promise hop between sec and the next hook', async () => {
    const app = track(Fastify())
    let hopped = false
    let sawHop: boolean | undefined
    app.addHook('onRequest', (_request, _reply, done) => {
      hopped = false
      queueMicrotask(() => {
        hopped = true
      })
      done()
    })
    await app.register(sec, { policy })
    app.addHook('onRequest', (request, _reply, done) => {
      sawHop = hopped
      expect(request.sec).not.toBeNull()
      done()
    })
    app.get('/', (request) => (request.sec as Decision).code)
    const url = await listen(app)
    expect(await (await fetch(url)).text()).toBe('allowed')
    expect(sawHop).toBe(false)
  })
})
