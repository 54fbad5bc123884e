// Fastify 5 bench servers: one app per variant, each with the same single route `GET /`.
// Fastify's own logger stays off everywhere: the seed variant logs through the same pino
// /dev/null sink as the other frameworks, one line per request, and nothing else.
import Fastify from 'fastify'
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

async function app(register) {
  const a = Fastify({ logger: false })
  if (register) await register(a)
  a.get('/', async () => BODY)
  return a
}

/** @fastify/rate-limit with its defaults (x-ratelimit-* headers, key = request.ip = socket peer). */
async function fastifyRateLimit(a, redis) {
  const { default: rateLimit } = await import('@fastify/rate-limit')
  await a.register(rateLimit, {
    max: LIMIT,
    timeWindow: WINDOW_MS,
    ...(redis ? { redis, nameSpace: redisPrefix() } : {}),
  })
}

export const variants = {
  bare: () => app(),
  'sec-seed-log': async () => {
    const { sec } = await import('@sec/fastify')
    const onDecision = await decisionLogger()
    return app((a) => a.register(sec, { policy: seedPolicy, onDecision }))
  },
  'hand-seed-log': async () => {
    const check = await handWrittenSeed()
    return app((a) =>
      a.addHook('onRequest', (req, reply, done) => {
        const { headers } = req
        const r = check(
          req.method,
          req.raw.url,
          headers['user-agent'],
          headers['x-api-key'],
          req.socket.remoteAddress,
        )
        if (r.headers) reply.headers(r.headers)
        if (r.status === 200) return done()
        void reply.code(r.status).send({ error: r.error })
      }),
    )
  },
  'sec-rl-memory': async () => {
    const { sec } = await import('@sec/fastify')
    return app((a) => a.register(sec, { policy: rateLimitPolicy }))
  },
  'fastify-rate-limit': () => app((a) => fastifyRateLimit(a)),
  'sec-rl-redis': async () => {
    const { sec } = await import('@sec/fastify')
    const { RedisStore } = await import('@sec/redis')
    const store = new RedisStore({ client: await redisClient(), prefix: redisPrefix() })
    return app((a) => a.register(sec, { policy: rateLimitPolicy, store }))
  },
  'fastify-rate-limit-redis': async () => {
    const redis = await redisClient()
    return app((a) => fastifyRateLimit(a, redis))
  },
}

export async function start(variant) {
  const a = await variants[variant]()
  await a.listen({ port: 0, host: '127.0.0.1' })
  return a.server.address().port
}
