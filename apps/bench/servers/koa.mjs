// Koa 3 bench servers: one app per variant; the last middleware answers `GET /` (Koa has no
// router of its own, and a router would be one more thing to measure).
import Koa from 'koa'
import {
  BODY,
  LIMIT,
  WINDOW_MS,
  decisionLogger,
  handWrittenSeed,
  rateLimitPolicy,
  redisClient,
  redisPrefix,
  seedPolicy,
} from './common.mjs'

function app(...middleware) {
  const a = new Koa()
  for (const m of middleware) a.use(m)
  a.use((ctx) => {
    if (ctx.method === 'GET' && ctx.path === '/') ctx.body = BODY
    else ctx.status = 404
  })
  return a
}

/** koa-ratelimit with its defaults (X-RateLimit-* headers, id = ctx.ip = socket peer). */
async function koaRateLimit(options) {
  const { default: ratelimit } = await import('koa-ratelimit')
  return ratelimit({ duration: WINDOW_MS, max: LIMIT, ...options })
}

export const variants = {
  bare: async () => app(),
  'sec-seed-log': async () => {
    const { sec } = await import('@sec/koa')
    return app(sec({ policy: seedPolicy, onDecision: await decisionLogger() }))
  },
  'hand-seed-log': async () => {
    const check = await handWrittenSeed()
    return app(async (ctx, next) => {
      const { headers } = ctx.req
      const r = check(
        ctx.method,
        ctx.req.url,
        headers['user-agent'],
        headers['x-api-key'],
        ctx.req.socket.remoteAddress,
      )
      if (r.headers) ctx.set(r.headers)
      if (r.status === 200) return next()
      ctx.status = r.status
      ctx.body = { error: r.error }
    })
  },
  'sec-rl-memory': async () => {
    const { sec } = await import('@sec/koa')
    return app(sec({ policy: rateLimitPolicy }))
  },
  'koa-ratelimit': async () => app(await koaRateLimit({ driver: 'memory', db: new Map() })),
  'sec-rl-redis': async () => {
    const { sec } = await import('@sec/koa')
    const { RedisStore } = await import('@sec/redis')
    const store = new RedisStore({ client: await redisClient(), prefix: redisPrefix() })
    return app(sec({ policy: rateLimitPolicy, store }))
  },
  'koa-ratelimit-redis': async () =>
    app(
      await koaRateLimit({
        driver: 'redis',
        db: await redisClient(),
        namespace: redisPrefix().replace(/:$/, ''),
      }),
    ),
}

export async function start(variant) {
  const a = await variants[variant]()
  return new Promise((resolve, reject) => {
    const server = a.listen(0, '127.0.0.1')
    server.once('listening', () => resolve(server.address().port))
    server.once('error', reject)
  })
}
