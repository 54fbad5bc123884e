// The policies the attacks run against. Plain data, sent to the app child as JSON.
import { createHash } from 'node:crypto'

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** The route the load hits, and the low-limit route that proves counting after a fault. */
export const LOAD_PATH = '/load'
export const LIMITED_PATH = '/limited'
export const LIMITED_LIMIT = 5

/**
 * For faults under load: a few cheap rules in front, a rate limit on the load route high enough
 * never to deny (so every status under load is the store's doing), and a low limit per probe
 * header on another route.
 */
export const loadPolicy = {
  version: 1,
  log: 'all',
  rules: [
    { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot'] },
    { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
    {
      id: 'load',
      type: 'rateLimit',
      paths: [LOAD_PATH],
      limit: 1_000_000_000,
      window: '1m',
    },
    {
      id: 'limited',
      type: 'rateLimit',
      paths: [LIMITED_PATH],
      by: 'header:x-probe',
      limit: LIMITED_LIMIT,
      window: '1m',
    },
  ],
}

/** Rules whose ids start with this fail in the `echoing-failure` store (see protocol.ts). */
export const FAILING_RULE_PREFIX = 'failing-'

/**
 * For the secrets campaign: keys read from `x-api-key` and `Authorization: Bearer` on /api, from
 * a query parameter on /q (the opt-in the README warns about), rate limits keyed on the verified
 * key and on credential headers (a per-token or per-session limit), and on /fail the same
 * credential-keyed limits in front of a store that fails with the keys in its message.
 */
export function secretsPolicy(keys: { api: string; reports: string; query: string }) {
  const perHeader = (id: string, header: string, paths: string[]) => ({
    id,
    type: 'rateLimit',
    paths,
    by: `header:${header}`,
    limit: 1000,
    window: '1m',
    failMode: 'open',
  })
  return {
    version: 1,
    log: 'all',
    clientIp: { trustProxy: ['loopback'] },
    rules: [
      { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
      {
        id: 'keys',
        type: 'apiKey',
        paths: ['/api/**'],
        keys: [
          { id: 'svc-a', sha256: sha256(keys.api) },
          { id: 'reports', sha256: sha256(keys.reports), paths: ['/api/reports/**'] },
        ],
      },
      {
        id: 'query-keys',
        type: 'apiKey',
        paths: ['/q/**'],
        query: 'api_key',
        keys: [{ id: 'svc-q', sha256: sha256(keys.query) }],
      },
      {
        id: 'per-key',
        type: 'rateLimit',
        paths: ['/api/**'],
        by: 'apiKey',
        limit: 1000,
        window: '1m',
      },
      perHeader('per-token', 'authorization', ['/api/**']),
      perHeader(`${FAILING_RULE_PREFIX}per-token`, 'authorization', ['/fail/**']),
      perHeader(`${FAILING_RULE_PREFIX}per-session`, 'cookie', ['/fail/**']),
      perHeader(`${FAILING_RULE_PREFIX}per-key-header`, 'x-api-key', ['/fail/**']),
    ],
  }
}

/** The key the hostile-traffic policy accepts on /api. */
export const HOSTILE_KEY = 'hostile-suite-key'

/**
 * For hostile traffic: forwarding headers walked through trusted loopback hops, a blocklist
 * at the end of that walk, header caps on /capped, an API key on /api, a path deny, and a
 * rate limit on every client (high: it must not decide these tests).
 */
export const hostilePolicy = {
  version: 1,
  log: 'all',
  clientIp: { trustProxy: ['loopback'] },
  rules: [
    { id: 'blocklist', type: 'ip', action: 'deny', ips: ['198.51.100.0/24'] },
    {
      id: 'header-caps',
      type: 'header',
      paths: ['/capped/**'],
      maxCount: 100,
      maxTotalBytes: 8192,
      maxValueBytes: 4096,
    },
    { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot'] },
    { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
    {
      id: 'keys',
      type: 'apiKey',
      paths: ['/api/**'],
      keys: [{ id: 'svc', sha256: sha256(HOSTILE_KEY) }],
    },
    { id: 'per-client', type: 'rateLimit', limit: 1_000_000, window: '1m' },
  ],
}
