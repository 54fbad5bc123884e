// Express 5 bench servers: one app per variant, each with the same single route `GET /`.
// Middleware libraries are imported inside their variant so a server carries only what it
// measures (peak RSS is reported per contender).
import express from 'express'
import {
  BODY,
  LIMIT,
  WINDOW_MS,
  decisionLogger,
  handWrittenSeed,
  rateLimitPolicy,
  redisClient,
  redisPrefix,
  rlfHeaders,
  seedPolicy,
} from './common.mjs'

function app(...middleware) {
  const a = express()
  a.disable('x-powered-by') // the same header set for every variant
  for (const m of middleware) a.use(m)
  a.get('/', (_req, res) => res.json(BODY))
  return a
}

/** rate-limiter-flexible has no Express middleware of its own: the usual few lines. */
function rlfMiddleware(limiter) {
  return (req, res, next) => {
    limiter.consume(req.socket.remoteAddress).then(
      (r) => {
        res.set(rlfHeaders(r))
        next()
      },
      (r) => {
        if (r instanceof Error) return next(r)
        res.set(rlfHeaders(r)).status(429).json({ error: 'rateLimit.exceeded' })
      },
    )
  }
}

/** express-rate-limit with the IETF headers sec also sends (draft-8: RateLimit-Policy + RateLimit). */
async function erl(store) {
  const { rateLimit } = await import('express-rate-limit')
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: LIMIT,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    ...(store ? { store } : {}),
  })
}

export const variants = {
  bare: async () => app(),
  'sec-seed-log': async () => {
    const { sec } = await import('@sec/express')
    return app(sec({ policy: seedPolicy, onDecision: await decisionLogger() }))
  },
  'hand-seed-log': async () => {
    const check = await handWrittenSeed()
    return app((req, res, next) => {
      const ua = req.headers['user-agent']
      const r = check(req.method, req.url, ua, req.headers['x-api-key'], req.socket.remoteAddress)
      if (r.headers) res.set(r.headers)
      if (r.status === 200) return next()
      res.status(r.status).json({ error: r.error })
    })
  },
  'sec-rl-memory': async () => {
    const { sec } = await import('@sec/express')
    return app(sec({ policy: rateLimitPolicy }))
  },
  'express-rate-limit': async () => app(await erl()),
  'rlf-memory': async () => {
    const { RateLimiterMemory } = await import('rate-limiter-flexible')
    return app(rlfMiddleware(new RateLimiterMemory({ points: LIMIT, duration: WINDOW_MS / 1000 })))
  },
  'sec-rl-redis': async () => {
    const { sec } = await import('@sec/express')
    const { RedisStore } = await import('@sec/redis')
    const store = new RedisStore({ client: await redisClient(), prefix: redisPrefix() })
    return app(sec({ policy: rateLimitPolicy, store }))
  },
  'express-rate-limit-redis': async () => {
    const { RedisStore } = await import('rate-limit-redis')
    const client = await redisClient()
    const store = new RedisStore({
      sendCommand: (command, ...args) => client.call(command, ...args),
      prefix: redisPrefix(),
    })
    return app(await erl(store))
  },
  'rlf-redis': async () => {
    const { RateLimiterRedis } = await import('rate-limiter-flexible')
    const limiter = new RateLimiterRedis({
      storeClient: await redisClient(),
      keyPrefix: redisPrefix(),
      points: LIMIT,
      duration: WINDOW_MS / 1000,
    })
    return app(rlfMiddleware(limiter))
  },
}

/** Builds the variant and listens on 127.0.0.1 (port 0: the OS picks). Resolves to the port. */
export async function start(variant) {
  const a = await variants[variant]()
  return new Promise((resolve, reject) => {
    const server = a.listen(0, '127.0.0.1', (error) =>
      error ? reject(error) : resolve(server.address().port),
    )
  })
}
