// Policies, rules and stores shared by the tests.
import { createHash } from 'node:crypto'
import { defineRule, definePolicy, MemoryStore, type Store } from '@sec/core'

export const KEY = 'secure-key-123'
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** apiKey + rateLimit on /api, a path deny on /admin, a throwing and an async custom rule. */
export const policy = definePolicy<
  { id: string; type: 'explode'; paths?: string[] } | { id: string; type: 'geo'; paths?: string[] }
>({
  version: 1,
  log: 'none',
  rules: [
    { id: 'blocklist', type: 'ip', action: 'deny', ips: ['198.51.100.0/24'] },
    { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
    {
      id: 'keys',
      type: 'apiKey',
      paths: ['/api/**'],
      keys: [{ id: 'svc-a', sha256: sha256(KEY) }],
    },
    {
      id: 'api-limit',
      type: 'rateLimit',
      paths: ['/api/**'],
      by: 'apiKey',
      limit: 3,
      window: '1m',
    },
    { id: 'explode', type: 'explode', paths: ['/boom'] },
    { id: 'geo', type: 'geo', paths: ['/geo'] },
  ],
})

export const rules = {
  explode: defineRule({
    evaluate: () => {
      throw new Error('a bug in a custom rule')
    },
  }),
  // Async on purpose: the engine answers with a promise, the adapter's async path applies it.
  geo: defineRule({
    evaluate: async (req) =>
      req.header('x-country') === 'XX'
        ? { action: 'deny', status: 451, code: 'geo.denied', message: 'Not available here.' }
        : undefined,
  }),
}

/** One limit of 3 per client on every path. */
export const limitPolicy = definePolicy({
  version: 1,
  log: 'none',
  rules: [{ id: 'all', type: 'rateLimit', limit: 3, window: '1m' }],
})

/** 2 requests per signed-in user, keyed on the adapter's `context` option. */
export const perUserPolicy = definePolicy({
  version: 1,
  log: 'none',
  rules: [{ id: 'per-user', type: 'rateLimit', by: 'context:userId', limit: 2, window: '1m' }],
})

/** Two rate limits that disagree on what a dead store means. */
export const failModePolicy = definePolicy({
  version: 1,
  log: 'none',
  rules: [
    {
      id: 'closed',
      type: 'rateLimit',
      paths: ['/closed'],
      limit: 10,
      window: '1m',
      failMode: 'closed',
    },
    { id: 'open', type: 'rateLimit', paths: ['/open'], limit: 10, window: '1m', failMode: 'open' },
  ],
})

/** A store that is down: every call rejects, like a dead Redis. */
export const deadStore = (): Store => ({
  consume: () => Promise.reject(new Error('ECONNREFUSED (simulated)')),
})

/** A store that never answers; the engine gives up after timeoutMs. */
export const hangingStore = (): Store => ({
  timeoutMs: 50,
  consume: () => new Promise(() => {}),
})

/** A healthy store that answers asynchronously (like a remote one). */
export const asyncStore = (): Store => {
  const memory = new MemoryStore()
  return { consume: (checks) => Promise.resolve(memory.consume(checks)) }
}
