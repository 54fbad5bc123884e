// Hono 4 bench servers on @hono/node-server: one app per variant, the same single route `GET /`.
// hono-rate-limiter has no Redis store in this workspace (it lives in a separate package), so
// Hono's Redis row is sec alone.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
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
  const a = new Hono()
  for (const m of middleware) a.use(m)
  a.get('/', (c) => c.json(BODY))
  return a
}

export const variants = {
  bare: async () => app(),
  'sec-seed-log': async () => {
    const { sec } = await import('@sec/hono')
    return app(sec({ policy: seedPolicy, onDecision: await decisionLogger() }))
  },
  'hand-seed-log': async () => {
    const check = await handWrittenSeed()
    return app(async (c, next) => {
      const incoming = c.env.incoming
      const r = check(
        c.req.method,
        incoming.url,
        c.req.header('user-agent'),
        c.req.header('x-api-key'),
        incoming.socket.remoteAddress,
      )
      if (r.status !== 200) return c.json({ error: r.error }, r.status, r.headers)
      for (const name in r.headers) c.header(name, r.headers[name])
      await next()
    })
  },
  'sec-rl-memory': async () => {
    const { sec } = await import('@sec/hono')
    return app(sec({ policy: rateLimitPolicy }))
  },
  'hono-rate-limiter': async () => {
    const { rateLimiter } = await import('hono-rate-limiter')
    return app(
      rateLimiter({
        windowMs: WINDOW_MS,
        limit: LIMIT,
        standardHeaders: 'draft-7', // its closest to sec's RateLimit + RateLimit-Policy
        // The socket peer, as sec sees it on Node (hono-rate-limiter needs a key function).
        keyGenerator: (c) => c.env.incoming.socket.remoteAddress ?? '',
      }),
    )
  },
  'sec-rl-redis': async () => {
    const { sec } = await import('@sec/hono')
    const { RedisStore } = await import('@sec/redis')
    const store = new RedisStore({ client: await redisClient(), prefix: redisPrefix() })
    return app(sec({ policy: rateLimitPolicy, store }))
  },
}

export async function start(variant) {
  const a = await variants[variant]()
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: a.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(info.port),
    )
    server.once('error', reject)
  })
}
