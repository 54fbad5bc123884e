// One policy that exercises every rule type, shared by every adapter under test.
import { createHash } from 'node:crypto'
import { defineRule, definePolicy, MemoryStore, type RateLimitCheck, type Store } from '@sec/core'

export const sha256 = (key: string): string => createHash('sha256').update(key).digest('hex')

export const KEYS = { svc: 'secure-key-123', reports: 'reports-key-456' } as const

export const policy = definePolicy<
  | { id: string; type: 'geo'; paths?: string[]; countries: string[] }
  | { id: string; type: 'explode'; paths?: string[] }
>({
  version: 1,
  // The suite's client connects from 127.0.0.1 (a trusted proxy, so X-Forwarded-For names the
  // client) or from 127.0.0.2 (an untrusted peer, whose forwarding headers must be ignored).
  clientIp: { trustProxy: ['127.0.0.1'] },
  log: 'none',
  rules: [
    { id: 'blocklist', type: 'ip', action: 'deny', ips: ['198.51.100.0/24', '2001:db8:bad::/48'] },
    { id: 'office', type: 'ip', action: 'allow', ips: ['203.0.113.0/24'] },
    { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot', 'ScraperBot'] },
    { id: 'crawlers', type: 'userAgent', action: 'deny', bots: ['ai', 'search'] },
    { id: 'watch-curl', type: 'userAgent', action: 'deny', contains: ['curl/'], mode: 'monitor' },
    { id: 'health', type: 'path', action: 'allow', paths: ['/health'] },
    { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
    {
      id: 'internal',
      type: 'ip',
      action: 'deny',
      paths: ['/internal/**'],
      unless: ['192.168.10.0/24'],
    },
    { id: 'headers', type: 'header', forbid: ['x-debug'], maxValueBytes: 4096 },
    {
      id: 'keys',
      type: 'apiKey',
      paths: ['/api/**'],
      keys: [
        { id: 'svc-a', sha256: sha256(KEYS.svc) },
        { id: 'reports', sha256: sha256(KEYS.reports), paths: ['/api/reports/**'] },
      ],
    },
    { id: 'login', type: 'rateLimit', paths: ['/login'], limit: 3, window: '1m' },
    {
      id: 'api-limit',
      type: 'rateLimit',
      paths: ['/api/**'],
      by: 'apiKey',
      limit: 5,
      window: '1m',
    },
    { id: 'geo', type: 'geo', countries: ['XX'] },
    { id: 'explode', type: 'explode', paths: ['/boom'] },
    {
      id: 'flaky-closed',
      type: 'rateLimit',
      paths: ['/flaky/closed'],
      limit: 100,
      window: '1m',
      failMode: 'closed',
    },
    {
      id: 'flaky-open',
      type: 'rateLimit',
      paths: ['/flaky/open'],
      limit: 100,
      window: '1m',
      failMode: 'open',
    },
  ],
})

export const rules = {
  geo: defineRule<{ id: string; type: 'geo'; countries: string[] }>({
    validate: (rule) => (Array.isArray(rule.countries) ? [] : ['countries must be a list']),
    evaluate: (req, rule) =>
      rule.countries.includes(req.header('x-country') ?? '')
        ? {
            action: 'deny',
            status: 451,
            code: 'geo.denied',
            message: 'Not available in your region.',
          }
        : undefined,
  }),
  explode: defineRule({
    evaluate: () => {
      throw new Error('a bug in a custom rule')
    },
  }),
}

/** A memory store that is down for the `flaky-*` rules: its calls reject, like a dead Redis. */
export function flakyStore(): Store {
  const memory = new MemoryStore()
  return {
    consume(checks: readonly RateLimitCheck[]) {
      if (checks.some((c) => c.key.startsWith('flaky-'))) {
        return Promise.reject(new Error('ECONNREFUSED (simulated)'))
      }
      return memory.consume(checks)
    },
  }
}
