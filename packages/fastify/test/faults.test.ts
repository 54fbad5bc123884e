import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { defineRule } from '@sec/core'
import type { RateLimitCheck, Store } from '@sec/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sec } from '../dist/index.js'
import type { SecFastifyOptions } from '../dist/index.js'
import { frozenStore, listen } from './helpers.js'

const rejections: unknown[] = []
const onRejection = (reason: unknown) => rejections.push(reason)
const apps: FastifyInstance[] = []

beforeAll(() => {
  process.on('unhandledRejection', onRejection)
})

afterEach(async () => {
  // Give any stray rejection a chance to surface before checking.
  await new Promise((resolve) => setTimeout(resolve, 20))
  expect(rejections).toEqual([])
})

afterAll(async () => {
  process.off('unhandledRejection', onRejection)
  await Promise.all(apps.map((app) => app.close()))
})

const limited = (failMode?: 'open' | 'closed') => ({
  version: 1,
  rules: [
    {
      id: 'limit',
      type: 'rateLimit',
      paths: ['/limited'],
      limit: 2,
      window: '1m',
      ...(failMode ? { failMode } : {}),
    },
  ],
})

/** An app with `/limited` and `/free`, counting handler calls. */
async function start(options: SecFastifyOptions) {
  const app = Fastify()
  apps.push(app)
  await app.register(sec, options)
  const handled = { count: 0 }
  const handler = () => {
    handled.count++
    return 'ok'
  }
  app.get('/limited', handler)
  app.get('/free', handler)
  app.get('/custom', handler)
  return { url: await listen(app), handled }
}

describe('custom rules', () => {
  const boom = defineRule({
    evaluate: (req) => {
      if (req.path === '/custom') throw new Error('rule bug')
    },
  })
  const slowBoom = defineRule({
    evaluate: async (req) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (req.path === '/custom') throw new Error('async rule bug')
    },
  })

  it.each([
    ['sync', boom],
    ['async', slowBoom],
  ])('a %s rule that throws gives 503 and the server keeps serving', async (_kind, rule) => {
    const { url, handled } = await start({
      policy: { version: 1, rules: [{ id: 'boom', type: 'boom' }] },
      rules: { boom: rule },
    })
    const res = await fetch(`${url}/custom`)
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      error: 'rule.error',
      message: expect.any(String) as unknown,
    })
    expect(handled.count).toBe(0)
    expect((await fetch(`${url}/free`)).status).toBe(200)
    expect(handled.count).toBe(1)
  })

  it('a custom deny applies its own status, code and headers', async () => {
    const geo = defineRule({
      evaluate: (req) =>
        req.header('x-country') === 'XX'
          ? {
              action: 'deny',
              status: 451,
              code: 'geo.denied',
              message: 'Not here.',
              headers: { 'x-geo': 'XX' },
            }
          : undefined,
    })
    const { url, handled } = await start({
      policy: { version: 1, rules: [{ id: 'geo', type: 'geo' }] },
      rules: { geo },
    })
    const res = await fetch(`${url}/free`, { headers: { 'x-country': 'XX' } })
    expect(res.status).toBe(451)
    expect(res.headers.get('x-geo')).toBe('XX')
    expect(await res.json()).toEqual({ error: 'geo.denied', message: 'Not here.' })
    expect(handled.count).toBe(0)
  })
})

describe('stores', () => {
  const rejecting = (failMode: 'open' | 'closed'): Store => ({
    failMode,
    consume: () => Promise.reject(new Error('store down')),
  })

  it('a rejecting store, closed: 503 store.unavailable, no unhandled rejection', async () => {
    const { url, handled } = await start({ policy: limited(), store: rejecting('closed') })
    const res = await fetch(`${url}/limited`)
    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({ error: 'store.unavailable' })
    expect(handled.count).toBe(0)
    expect((await fetch(`${url}/free`)).status).toBe(200)
  })

  it('a rejecting store, open: 200 and the Decision says so', async () => {
    const app = Fastify()
    apps.push(app)
    await app.register(sec, { policy: limited(), store: rejecting('open') })
    app.get('/limited', (request) => ({ code: request.sec?.code, allowed: request.sec?.allowed }))
    const url = await listen(app)
    const res = await fetch(`${url}/limited`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ code: 'store.unavailable', allowed: true })
  })

  it('a store that throws synchronously is a fault like any other', async () => {
    const store: Store = {
      consume: () => {
        throw new Error('sync store bug')
      },
    }
    const { url } = await start({ policy: limited('closed'), store })
    expect((await fetch(`${url}/limited`)).status).toBe(503)
  })

  it('a store that never answers fails closed after its timeout', async () => {
    const store: Store = { timeoutMs: 50, consume: () => new Promise(() => undefined) }
    const { url, handled } = await start({ policy: limited(), store })
    const res = await fetch(`${url}/limited`)
    expect(res.status).toBe(503)
    expect(handled.count).toBe(0)
  })

  it('an async but healthy store still enforces the limit', async () => {
    const memory = frozenStore()
    const store: Store = {
      consume: async (checks: readonly RateLimitCheck[]) => {
        await new Promise((resolve) => setTimeout(resolve, 2))
        return memory.consume(checks)
      },
    }
    const { url, handled } = await start({ policy: limited(), store })
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/limited`)).status)
    expect(statuses).toEqual([200, 200, 429, 429])
    expect(handled.count).toBe(2)
    const res = await fetch(`${url}/limited`)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
  })
})
