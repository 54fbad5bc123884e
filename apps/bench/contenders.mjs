// Every server the HTTP bench starts, in one list, so the runner and the smoke test agree.
// section: which results table the row belongs to; quick: part of `--quick`; redis: needs Redis.
// `sec: true` rows must answer with RateLimit headers; `rlHeader` is the rate-limit header
// a peer sends (the smoke test checks it, so a misconfigured limiter cannot pass as "fast").

export const FRAMEWORKS = ['express', 'fastify', 'koa', 'hono']

export const SECTIONS = {
  bare: 'Bare frameworks',
  seed: 'sec, seed policy + one JSON log line per request (memory store)',
  memory: 'One rate limit, memory store: sec vs the best-known limiter of each framework',
  redis: 'One rate limit on Redis: sec RedisStore vs peers on the same Redis',
}

/**
 * @typedef {{ id: string, framework: string, variant: string, section: string, label: string,
 *   quick: boolean, redis: boolean, sec: boolean, rlHeader?: string }} Contender
 */

/** @returns {Contender} */
const c = (framework, variant, section, label, extra = {}) => ({
  id: `${framework}/${variant}`,
  framework,
  variant,
  section,
  label,
  quick: section !== 'redis',
  redis: section === 'redis',
  sec: variant.startsWith('sec-'),
  ...extra,
})

export const CONTENDERS = [
  c('express', 'bare', 'bare', 'bare express'),
  c('express', 'sec-seed-log', 'seed', 'sec seed + JSON log line'),
  c('express', 'hand-seed-log', 'seed', 'hand-written seed checks + JSON log line', {
    rlHeader: 'ratelimit',
  }),
  c('express', 'sec-rl-memory', 'memory', 'sec (MemoryStore)'),
  c('express', 'express-rate-limit', 'memory', 'express-rate-limit', { rlHeader: 'ratelimit' }),
  c('express', 'rlf-memory', 'memory', 'rate-limiter-flexible (RateLimiterMemory)', {
    rlHeader: 'ratelimit',
  }),
  c('express', 'sec-rl-redis', 'redis', 'sec (RedisStore)'),
  c('express', 'express-rate-limit-redis', 'redis', 'express-rate-limit + rate-limit-redis', {
    rlHeader: 'ratelimit',
  }),
  c('express', 'rlf-redis', 'redis', 'rate-limiter-flexible (RateLimiterRedis)', {
    rlHeader: 'ratelimit',
  }),

  c('fastify', 'bare', 'bare', 'bare fastify'),
  c('fastify', 'sec-seed-log', 'seed', 'sec seed + JSON log line'),
  c('fastify', 'hand-seed-log', 'seed', 'hand-written seed checks + JSON log line', {
    rlHeader: 'ratelimit',
  }),
  c('fastify', 'sec-rl-memory', 'memory', 'sec (MemoryStore)'),
  c('fastify', 'fastify-rate-limit', 'memory', '@fastify/rate-limit', {
    rlHeader: 'x-ratelimit-remaining',
  }),
  c('fastify', 'sec-rl-redis', 'redis', 'sec (RedisStore)'),
  c('fastify', 'fastify-rate-limit-redis', 'redis', '@fastify/rate-limit (redis)', {
    rlHeader: 'x-ratelimit-remaining',
  }),

  c('koa', 'bare', 'bare', 'bare koa'),
  c('koa', 'sec-seed-log', 'seed', 'sec seed + JSON log line'),
  c('koa', 'hand-seed-log', 'seed', 'hand-written seed checks + JSON log line', {
    rlHeader: 'ratelimit',
  }),
  c('koa', 'sec-rl-memory', 'memory', 'sec (MemoryStore)'),
  c('koa', 'koa-ratelimit', 'memory', 'koa-ratelimit (memory)', {
    rlHeader: 'x-ratelimit-remaining',
  }),
  c('koa', 'sec-rl-redis', 'redis', 'sec (RedisStore)'),
  c('koa', 'koa-ratelimit-redis', 'redis', 'koa-ratelimit (redis, ioredis)', {
    rlHeader: 'x-ratelimit-remaining',
  }),

  c('hono', 'bare', 'bare', 'bare hono (node-server)'),
  c('hono', 'sec-seed-log', 'seed', 'sec seed + JSON log line'),
  c('hono', 'hand-seed-log', 'seed', 'hand-written seed checks + JSON log line', {
    rlHeader: 'ratelimit',
  }),
  c('hono', 'sec-rl-memory', 'memory', 'sec (MemoryStore)'),
  c('hono', 'hono-rate-limiter', 'memory', 'hono-rate-limiter', { rlHeader: 'ratelimit' }),
  c('hono', 'sec-rl-redis', 'redis', 'sec (RedisStore)'),
]

/** The request every contender gets: `GET /` from a browser. Identical for all of them. */
export const REQUEST_PATH = '/'
export const REQUEST_HEADERS = {
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  accept: 'application/json',
}
