// What every bench server shares: the policies, the limit, the log sink and the Redis client.
// Kept in one place so the contenders of one framework differ only in the middleware under test.
import { createHash } from 'node:crypto'

/** High enough that no contender ever denies during a run: we time the check, not the 429. */
export const LIMIT = 1_000_000_000
/** One fixed window of one minute for every limiter (sec's default algorithm is fixedWindow). */
export const WINDOW_MS = 60_000

/** The body every route answers: small JSON, the same for every framework. */
export const BODY = { hello: 'world' }

const sha256 = (text) => createHash('sha256').update(text).digest('hex')

/**
 * The seed policy of the product (userAgent deny + apiKey on /secure-endpoint + rate limit),
 * with two changes for a load test: the limit is LIMIT instead of 10/min (the bench must not
 * measure 429s), and it applies to every path, so the benched `GET /` pays for a store hit and
 * carries RateLimit headers like a protected route would. `/` needs no key (it is allowed).
 */
export const seedPolicy = {
  version: 1,
  log: 'all',
  rules: [
    { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot', 'ScraperBot'] },
    {
      id: 'keys',
      type: 'apiKey',
      paths: ['/secure-endpoint'],
      keys: [{ id: 'svc-a', sha256: sha256('secure-key-123') }],
    },
    { id: 'limit', type: 'rateLimit', by: 'ip', limit: LIMIT, window: '1m' },
  ],
}

/** One rate limit and nothing else: the same job the peer limiters do. No log line (peers log none). */
export const rateLimitPolicy = {
  version: 1,
  log: 'none',
  rules: [{ id: 'limit', type: 'rateLimit', by: 'ip', limit: LIMIT, window: '1m' }],
}

/**
 * The decision log: one JSON line per request into /dev/null, so we pay for building and
 * writing the line but not for a terminal. The line is core's `formatDecisionEvent` (no
 * general-purpose serializer), written through pino's buffered destination (sonic-boom,
 * flushed every 4 KiB), as a production service would log. Loaded lazily: a bare server must
 * not carry pino.
 */
export async function decisionLogger() {
  const { default: pino } = await import('pino')
  const { formatDecisionEvent } = await import('@sec/core')
  const dest = pino.destination({ dest: '/dev/null', minLength: 4096, sync: true })
  return (event) => dest.write(formatDecisionEvent(event) + '\n')
}

/**
 * One ioredis client per server, defaults only (no auto-pipelining) for every Redis contender,
 * so each request's commands go out as their own socket write and round trips can be counted
 * on the client (`redisWrites`). Key prefix: BENCH_REDIS_PREFIX, unique per run and contender,
 * removed by the runner at the end.
 */
export const redisStats = { writes: 0 }
export async function redisClient() {
  const { Redis } = await import('ioredis')
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  // Count socket writes: one write is one request/reply exchange (a script, a MULTI/EXEC
  // pipeline or a single command) when auto-pipelining is off.
  const stream = client.stream
  const write = stream.write
  stream.write = function (...args) {
    redisStats.writes++
    return write.apply(this, args)
  }
  return client
}
export const redisPrefix = () => process.env.BENCH_REDIS_PREFIX ?? `secbench:${process.pid}:`

/** rate-limiter-flexible has no framework middleware: this is the small one its docs suggest. */
export function rlfHeaders(res) {
  const resetS = Math.ceil(res.msBeforeNext / 1000)
  return {
    'RateLimit-Policy': `"limit";q=${LIMIT};w=${WINDOW_MS / 1000}`,
    RateLimit: `"limit";r=${res.remainingPoints};t=${resetS}`,
  }
}

/**
 * The seed policy's checks written by hand, as a careful team would without a library: the
 * bad-bot user agents, an API key (SHA-256, constant-time compare) on /secure-endpoint, a
 * fixed-window counter per socket peer with the same RateLimit headers, and one JSON line per
 * request through the same buffered sink. No path canonicalisation, no duplicate-header or
 * proxy handling: this is the floor a library is compared to, not a safe substitute.
 * Returns `check(method, url, userAgent, apiKey, ip)` → { status, headers, error? }.
 */
export async function handWrittenSeed() {
  const { timingSafeEqual } = await import('node:crypto')
  const { default: pino } = await import('pino')
  const dest = pino.destination({ dest: '/dev/null', minLength: 4096, sync: true })
  const badBot = /BadBot|ScraperBot/
  const keyHash = createHash('sha256').update('secure-key-123').digest()
  const counters = new Map()
  const policyHeader = `"limit";q=${LIMIT};w=${WINDOW_MS / 1000}`
  return (method, url, userAgent, apiKey, ip) => {
    let status = 200
    let error
    let headers
    if (badBot.test(userAgent ?? '')) {
      status = 403
      error = 'userAgent.denied'
    } else if (url === '/secure-endpoint' || url.startsWith('/secure-endpoint/')) {
      const given = createHash('sha256')
        .update(apiKey ?? '')
        .digest()
      if (!timingSafeEqual(given, keyHash)) {
        status = 401
        error = 'apiKey.invalid'
      }
    }
    if (status === 200) {
      const now = Date.now()
      const windowStart = now - (now % WINDOW_MS)
      let entry = counters.get(ip)
      if (entry === undefined || entry.windowStart !== windowStart) {
        entry = { windowStart, count: 0 }
        counters.set(ip, entry)
      }
      entry.count++
      const resetS = Math.ceil((windowStart + WINDOW_MS - now) / 1000)
      headers = {
        'RateLimit-Policy': policyHeader,
        RateLimit: `"limit";r=${Math.max(0, LIMIT - entry.count)};t=${resetS}`,
      }
      if (entry.count > LIMIT) {
        status = 429
        error = 'rateLimit.exceeded'
        headers['Retry-After'] = String(resetS)
      }
    }
    dest.write(
      JSON.stringify({ time: Date.now(), method, path: url, ip, userAgent, status }) + '\n',
    )
    return { status, headers, error }
  }
}
