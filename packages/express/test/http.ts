// Real HTTP on loopback: fetch for ordinary requests, a raw socket when the request-target or
// repeated headers must reach the server exactly as written (fetch normalises both).
import type { Server } from 'node:http'
import net, { type AddressInfo } from 'node:net'

export interface Reply {
  status: number
  headers: Record<string, string>
  body: string
}

const servers: Server[] = []

/** Waits until the server listens; remembers it for closeAll(). Returns its port. */
export function listening(server: Server): Promise<number> {
  servers.push(server)
  return new Promise((resolve, reject) => {
    const done = () => resolve((server.address() as AddressInfo).port)
    if (server.listening) done()
    else {
      server.once('listening', done)
      server.once('error', reject)
    }
  })
}

export async function closeAll(): Promise<void> {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    ),
  )
}

export async function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers })
  const replyHeaders: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    replyHeaders[name] = value
  })
  return { status: response.status, headers: replyHeaders, body: await response.text() }
}

/** Sends the request byte for byte over a fresh socket (Connection: close). */
export function raw(
  port: number,
  target: string,
  headers: readonly (readonly [string, string])[] = [],
  method = 'GET',
): Promise<Reply> {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1']
  for (const [name, value] of headers) lines.push(`${name}: ${value}`)
  lines.push('Connection: close', '', '')
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    const chunks: Buffer[] = []
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer for ${target}`)))
    socket.on('connect', () => socket.write(lines.join('\r\n'), 'latin1'))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      try {
        resolve(parse(Buffer.concat(chunks).toString('latin1')))
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)))
      }
    })
  })
}

function parse(text: string): Reply {
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) throw new Error(`incomplete response: ${JSON.stringify(text.slice(0, 200))}`)
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = text.slice(end + 4)
  if (headers['transfer-encoding']?.includes('chunked')) {
    let out = ''
    for (;;) {
      const lineEnd = body.indexOf('\r\n')
      const size = lineEnd < 0 ? 0 : parseInt(body.slice(0, lineEnd), 16)
      if (!size) break
      out += body.slice(lineEnd + 2, lineEnd + 2 + size)
      body = body.slice(lineEnd + 4 + size)
    }
    body = out
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body }
}
