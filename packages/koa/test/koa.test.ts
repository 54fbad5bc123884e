// @sec/koa on Koa 3 and Koa 2: real servers on 127.0.0.1, real HTTP, the built package.
// The scenarios every adapter shares come from @sec/test-kit/scenarios; the Koa-only ones
// (the ctx.state.sec type, a rewritten ctx.path) are here.
import { createRequire } from 'node:module'
import { definePolicy, type Decision, type SecOptions } from '@sec/core'
import Koa3, { type Context } from 'koa'
import Koa2 from 'koa2'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { sec, type SecState } from '../dist/index.js'
import { limitPolicy } from '@sec/test-kit/fixtures'
import { closeAll, listening, raw } from '@sec/test-kit/http'
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
  ['koa 3', Koa3, require('koa/package.json') as { version: string }],
  ['koa 2', Koa2, require('koa2/package.json') as { version: string }],
] as const

describe.each(versions)('%s', (name, Koa, pkg) => {
  /** An app with sec in front of a catch-all handler that counts its calls. */
  async function start(options: SecOptions<Context>, setup?: (app: Koa3) => void) {
    const app = new Koa()
    setup?.(app)
    let handled = 0
    app.use(sec(options)).use((ctx) => {
      handled++
      const decision = ctx.state.sec
      ctx.body = {
        handled: true,
        code: decision.code,
        allowed: decision.allowed,
        apiKeyId: decision.apiKeyId ?? null,
        clientIp: decision.clientIp,
        ip: ctx.ip,
      }
    })
    const port = await listening(app.listen(0, '127.0.0.1'))
    return { port, handled: () => handled }
  }

  it('runs on the intended major version', () => {
    expect(pkg.version.split('.')[0]).toBe(name.endsWith('3') ? '3' : '2')
  })

  it('types ctx.state.sec after app.use(sec(...))', () => {
    new Koa().use(sec({ policy: limitPolicy })).use((ctx) => {
      expectTypeOf(ctx.state.sec).toEqualTypeOf<Decision>()
    })
    const app = new Koa3<SecState>()
    app.use(sec({ policy: limitPolicy }))
    app.use((ctx) => {
      expectTypeOf(ctx.state.sec).toEqualTypeOf<Decision>()
    })
  })

  adapterScenarios({
    start,
    sec,
    userContext: (ctx) => ({ userId: ctx.get('x-user') || undefined }),
    trustProxy: (app) => {
      app.proxy = true
    },
    quietErrors: (app) => {
      app.silent = true
    },
    unhandled,
    names: { decision: 'ctx.state.sec', ip: "Koa's ctx.ip" },
  })

  it('judges the URL as received when an earlier middleware rewrote ctx.path (a mount)', async () => {
    const mounted = definePolicy({
      version: 1,
      log: 'none',
      rules: [{ id: 'v1-admin', type: 'path', action: 'deny', paths: ['/v1/admin/**'] }],
    })
    // What koa-mount does: strip the prefix from ctx.path (and so from ctx.req.url).
    const app = await start({ policy: mounted }, (app) =>
      app.use(async (ctx, next) => {
        if (ctx.path.startsWith('/v1/')) ctx.path = ctx.path.slice(3)
        await next()
      }),
    )
    expect((await raw(app.port, '/v1/admin/users')).status).toBe(403)
    expect((await raw(app.port, '/v1/%61dmin')).status).toBe(403)
    expect(app.handled()).toBe(0)
    expect((await raw(app.port, '/v1/users')).status).toBe(200)
  })

  it('a throwing context function: a rejection (never a throw), a 500, the handler never runs', async () => {
    const options = {
      policy: limitPolicy,
      context: (): Record<string, string> => {
        throw new Error('context bug')
      },
    }
    // Called by hand, the middleware answers with a rejected promise, as an async one would.
    let answer: Promise<unknown> | undefined
    const next = () => Promise.resolve()
    expect(() => (answer = Promise.resolve(sec(options)({} as never, next)))).not.toThrow()
    await expect(answer).rejects.toThrow('context bug')
    const app = await start(options, (app) => {
      app.silent = true
    })
    expect((await raw(app.port, '/')).status).toBe(500)
    expect(app.handled()).toBe(0)
  })
})
