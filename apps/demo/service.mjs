// One demo service: `node service.mjs <express|fastify|koa|hono> <port>`. Every service reads
// the same policy.json; with REDIS_URL set they all share one RedisStore.
import { readFileSync } from 'node:fs'
import { createEngine, MemoryStore } from '@sec/core'
import pino from 'pino'
import { countryBlock } from './country-block.mjs'

const [framework, portText] = process.argv.slice(2)
const port = Number(portText)
const service = `${framework}-service`
const log = pino({ base: { service } })
const policy = readFileSync(new URL('./policy.json', import.meta.url), 'utf8')

let redis
let store = new MemoryStore()
if (process.env.REDIS_URL) {
  const { Redis } = await import('ioredis')
  const { RedisStore } = await import('@sec/redis')
  redis = new Redis(process.env.REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 1 })
  redis.on('error', (error) => log.warn({ err: error.message }, 'redis error'))
  store = new RedisStore({
    client: redis,
    prefix: process.env.SEC_REDIS_PREFIX ?? 'sec-demo:',
    failMode: 'closed',
    timeoutMs: 500,
  })
}

// One line per decision, as JSON, tagged with the service name.
const engine = createEngine(policy, {
  store,
  rules: { countryBlock },
  onDecision: (event) => log.info({ decision: event }, event.allowed ? 'allowed' : 'denied'),
})

const routes = {
  home: () => ({ service, hello: 'world' }),
  orders: (decision) => ({ service, orders: [{ id: 1 }], key: decision.apiKeyId }),
  reports: (decision) => ({ service, reports: [], key: decision.apiKeyId }),
  login: () => ({ service, token: 'demo-session' }),
  health: () => ({ service, ok: true }),
}

async function start() {
  if (framework === 'express') {
    const { default: express } = await import('express')
    const { sec } = await import('@sec/express')
    const app = express()
    app.use(sec({ engine }))
    app.get('/', (req, res) => res.json(routes.home()))
    app.get('/health', (req, res) => res.json(routes.health()))
    app.get('/api/orders', (req, res) => res.json(routes.orders(req.sec)))
    app.get('/api/reports', (req, res) => res.json(routes.reports(req.sec)))
    app.post('/login', (req, res) => res.json(routes.login()))
    const server = app.listen(port, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    return () => new Promise((resolve) => server.close(resolve))
  }
  if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const { sec } = await import('@sec/fastify')
    const app = Fastify()
    await app.register(sec, { engine })
    app.get('/', async () => routes.home())
    app.get('/health', async () => routes.health())
    app.get('/api/orders', async (request) => routes.orders(request.sec))
    app.get('/api/reports', async (request) => routes.reports(request.sec))
    app.post('/login', async () => routes.login())
    await app.listen({ port, host: '127.0.0.1' })
    return () => app.close()
  }
  if (framework === 'koa') {
    const { default: Koa } = await import('koa')
    const { sec } = await import('@sec/koa')
    const app = new Koa()
    app.use(sec({ engine }))
    app.use((ctx) => {
      const route = `${ctx.method} ${ctx.path}`
      if (route === 'GET /') ctx.body = routes.home()
      else if (route === 'GET /health') ctx.body = routes.health()
      else if (route === 'GET /api/orders') ctx.body = routes.orders(ctx.state.sec)
      else if (route === 'GET /api/reports') ctx.body = routes.reports(ctx.state.sec)
      else if (route === 'POST /login') ctx.body = routes.login()
    })
    const server = app.listen(port, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    return () => new Promise((resolve) => server.close(resolve))
  }
  if (framework === 'hono') {
    const { Hono } = await import('hono')
    const { serve } = await import('@hono/node-server')
    const { sec } = await import('@sec/hono')
    const app = new Hono()
    app.use(sec({ engine }))
    app.get('/', (c) => c.json(routes.home()))
    app.get('/health', (c) => c.json(routes.health()))
    app.get('/api/orders', (c) => c.json(routes.orders(c.get('sec'))))
    app.get('/api/reports', (c) => c.json(routes.reports(c.get('sec'))))
    app.post('/login', (c) => c.json(routes.login()))
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' })
    await new Promise((resolve) =>
      server.listening ? resolve() : server.once('listening', resolve),
    )
    return () => new Promise((resolve) => server.close(resolve))
  }
  throw new Error(`unknown framework ${framework}`)
}

const stop = await start()
log.info({ port, store: redis ? 'redis' : 'memory' }, 'listening')
process.send?.({ ready: true, service, port })

let stopping = false
async function shutdown() {
  if (stopping) return
  stopping = true
  await stop()
  await redis?.quit().catch(() => {})
  process.exit(0)
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
process.on('disconnect', shutdown)
