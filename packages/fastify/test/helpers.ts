import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { MemoryStore, sha256Hex } from '@sec/core'

export const API_KEY = 'fastify-test-key-0123456789'

/** The policy most tests run: bots, admin, API keys, two rate limits. */
export const policy = {
  version: 1,
  rules: [
    { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot'] },
    { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
    {
      id: 'keys',
      type: 'apiKey',
      paths: ['/api/**'],
      keys: [{ id: 'svc-a', sha256: sha256Hex(API_KEY) }],
    },
    { id: 'login', type: 'rateLimit', paths: ['/login'], by: 'ip', limit: 2, window: '1m' },
    {
      id: 'api-limit',
      type: 'rateLimit',
      paths: ['/api/**'],
      by: 'apiKey',
      limit: 100,
      window: '1m',
    },
  ],
}

/**
 * A memory store on a frozen clock: windows are aligned to the clock, so a test that counts to
 * a limit must not straddle a window boundary.
 */
export function frozenStore(): MemoryStore {
  return new MemoryStore({ now: () => 1_000_000 })
}

/** Listens on an ephemeral loopback port; returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

export function portOf(app: FastifyInstance): number {
  return (app.server.address() as AddressInfo).port
}
