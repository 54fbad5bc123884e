// @sec/express on Express 5 and Express 4: real servers on 127.0.0.1, real HTTP, the built package.
// The scenarios every adapter shares come from @sec/test-kit/scenarios; the Express-only ones
// (a mounted router, a response sent by another middleware) are here.
import http from 'node:http'
import { createRequire } from 'node:module'
import { definePolicy, type SecOptions } from '@sec/core'
import express5, { type Request, type Response } from 'express'
import express4 from 'express4'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sec } from '../dist/index.js'
import { KEY, failModePolicy, hangingStore, policy, rules } from '@sec/test-kit/fixtures'
import { closeAll, get, listening, raw } from '@sec/test-kit/http'
import { adapterScenarios } from '@sec/test-kit/scenarios'

const require = createRequire(import.meta.url)

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled)
})
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  await closeAll()
})

const versions = [
  ['express 5', express5, require('express/package.json') as { version: string }],
  ['express 4', express4, require('express4/package.json') as { version: string }],
] as const

describe.each(versions)('%s', (_name, express, pkg) => {
  /** An app with sec in front of a catch-all handler that counts its calls. */
  async function start(options: SecOptions<Request>, setup?: (app: express5.Express) => void) {
    const app = express()
    setup?.(app)
    app.use(sec(options))
    let handled = 0
    app.use((req, res) => {
      handled++
      res.json({
        handled: true,
        code: req.sec?.code ?? null,
        allowed: req.sec?.allowed ?? null,
        apiKeyId: req.sec?.apiKeyId ?? null,
        clientIp: req.sec?.clientIp ?? null,
        ip: req.ip,
      })
    })
    const port = await listening(app.listen(0, '127.0.0.1'))
    return { port, handled: () => handled }
  }

  it('runs on the intended major version', () => {
    expect(pkg.version.split('.')[0]).toBe(_name.endsWith('5') ? '5' : '4')
  })

  adapterScenarios({
    start,
    sec,
    userContext: (req) => ({ userId: req.get('x-user') }),
    trustProxy: (app) => app.set('trust proxy', true),
    unhandled,
    names: { decision: 'req.sec', ip: "Express's req.ip" },
  })

  it('judges the full URL under a mount path (req.originalUrl, not req.url)', async () => {
    const app = express()
    const router = express.Router()
    const mounted = definePolicy({
      version: 1,
      log: 'none',
      rules: [{ id: 'v1-admin', type: 'path', action: 'deny', paths: ['/v1/admin/**'] }],
    })
    let handled = 0
    router.use(sec({ policy: mounted }))
    router.use((_req, res) => {
      handled++
      res.send('ok')
    })
    app.use('/v1', router)
    const port = await listening(app.listen(0, '127.0.0.1'))
    expect((await raw(port, '/v1/admin/users')).status).toBe(403)
    expect((await raw(port, '/v1/%61dmin')).status).toBe(403)
    expect(handled).toBe(0)
    expect((await raw(port, '/v1/users')).status).toBe(200)
  })

  it('shows req.sec in mounted sub-apps and routers; a handler may replace it', async () => {
    const app = express()
    const sub = express()
    const router = express.Router()
    const seen = (req: Request) => ({ code: req.sec?.code ?? null, key: req.sec?.apiKeyId ?? null })
    sub.get('/orders', (req, res) => res.json(seen(req)))
    router.get('/orders', (req, res) => res.json(seen(req)))
    app.use(sec({ policy, rules }))
    app.use('/api/sub', sub)
    app.use('/api/router', router)
    app.use('/api/replaced', (req, _res, next) => {
      req.sec = { ...req.sec!, code: 'replaced' }
      next()
    })
    app.get('/api/replaced', (req, res) => res.json(seen(req)))
    const port = await listening(app.listen(0, '127.0.0.1'))
    const withKey = { 'x-api-key': KEY }
    for (const path of ['/api/sub/orders', '/api/router/orders']) {
      const res = await get(port, path, withKey)
      expect(res.status).toBe(200)
      expect(JSON.parse(res.body)).toEqual({ code: 'allowed', key: 'svc-a' })
    }
    const replaced = await get(port, '/api/replaced', withKey)
    expect(JSON.parse(replaced.body)).toEqual({ code: 'replaced', key: 'svc-a' })
  })

  it('survives a response sent by another middleware while the store was slow', async () => {
    const app = await start({ policy: failModePolicy, store: hangingStore() }, (app) => {
      // A request timeout answers before the store does (timeoutMs 50 in hangingStore).
      app.use((_req, res, next) => {
        setTimeout(() => {
          if (!res.headersSent) res.status(504).send('timeout')
        }, 10)
        next()
      })
    })
    const res = await get(app.port, '/closed')
    expect(res.status).toBe(504)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(app.handled()).toBe(0)
    expect(unhandled).toEqual([])
    expect((await get(app.port, '/other')).status).toBe(200)
  })
})

describe('outside an Express app', () => {
  it('sets req.sec on a plain Node request as its own property', async () => {
    const middleware = sec({ policy, rules })
    const server = http.createServer((req, res) => {
      middleware(req as Request, res as unknown as Response, () => {
        const decided = (req as Request).sec
        res.end(JSON.stringify({ own: Object.hasOwn(req, 'sec'), key: decided?.apiKeyId ?? null }))
      })
    })
    const port = await listening(server.listen(0, '127.0.0.1'))
    const res = await get(port, '/api/orders', { 'x-api-key': KEY })
    expect(JSON.parse(res.body)).toEqual({ own: true, key: 'svc-a' })
  })
})
