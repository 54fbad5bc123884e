import { connect } from 'node:net'
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

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends bytes exactly as written (raw request-target, duplicated headers) over a plain TCP
 * socket and parses the response. The request must ask for `Connection: close`.
 */
export function rawRequest(port: number, head: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' })
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const split = text.indexOf('\r\n\r\n')
      const lines = text.slice(0, split).split('\r\n')
      const status = Number(lines[0]?.split(' ')[1])
      const headers: Record<string, string> = {}
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      let body = text.slice(split + 4)
      if (headers['transfer-encoding'] === 'chunked') body = dechunk(body)
      resolve({ status, headers, body })
    })
    socket.write(head)
  })
}

function dechunk(text: string): string {
  let out = ''
  let rest = text
  for (;;) {
    const eol = rest.indexOf('\r\n')
    const size = parseInt(rest.slice(0, eol), 16)
    if (!size) return out
    out += rest.slice(eol + 2, eol + 2 + size)
    rest = rest.slice(eol + 4 + size)
  }
}

/** `GET <target>` with the given extra header lines, as raw bytes. */
export function rawGet(port: number, target: string, extra: string[] = []): Promise<RawResponse> {
  const head = [`GET ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...extra, 'Connection: close', '', '']
  return rawRequest(port, head.join('\r\n'))
}
