// Test helpers: real @hono/node-server servers on loopback, and raw HTTP over a socket.
import { serve, type ServerType } from '@hono/node-server'
import type { Hono } from 'hono'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface Served {
  url: string
  port: number
  close(): Promise<void>
}

/** Serves a Hono app on 127.0.0.1 on a free port. */
export async function listen(app: Hono<never>): Promise<Served> {
  const server: ServerType = await new Promise((resolve) => {
    const s: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s),
    )
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if ('closeAllConnections' in server) server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends one HTTP/1.1 request exactly as written: the request-target and header lines go on the
 * wire untouched (no client normalises `/a/../b` or merges repeated headers).
 */
export function rawRequest(
  port: number,
  target: string,
  headerLines: string[] = [],
  method = 'GET',
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      const head = text.slice(0, split).split('\r\n')
      const status = Number(head[0]?.split(' ')[1])
      const headers: Record<string, string> = {}
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      let body = text.slice(split + 4)
      if (headers['transfer-encoding'] === 'chunked') body = unchunk(body)
      resolve({ status, headers, body })
    })
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close']
    socket.end([...lines, ...headerLines, '', ''].join('\r\n'))
  })
}

function unchunk(body: string): string {
  let out = ''
  let rest = body
  for (;;) {
    const eol = rest.indexOf('\r\n')
    const size = parseInt(rest.slice(0, eol), 16)
    if (!size) return out
    out += rest.slice(eol + 2, eol + 2 + size)
    rest = rest.slice(eol + 2 + size + 2)
  }
}
