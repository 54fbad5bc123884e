// Real HTTP on loopback: fetch for ordinary requests, a raw socket when the request-target or
// repeated headers must reach the server exactly as written (fetch normalises both). One raw
// client for every adapter's tests and the conformance suite: raw() for the common case,
// sendRaw() with a local address or timeout, rawHead() for a head written out in full.
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

/** A request sent byte for byte by sendRaw. */
export interface RawRequest {
  method?: string
  /** The request-target exactly as written: `/a/../b`, `%61dmin`, `*`, absolute form. */
  target: string
  /** Header lines as [name, value]; repeat a name to send it twice. */
  headers?: readonly (readonly [string, string])[]
  /** Local address to connect from (e.g. 127.0.0.2 to be an untrusted peer). */
  from?: string
}

/** The parsed answer to a raw request; a header sent more than once is joined with ", ". */
export type RawResponse = Reply

export interface RawOptions {
  /** Local address to connect from. */
  from?: string
  /** Fails the request when no full answer came within this many ms (default 5000). */
  timeoutMs?: number
}

/**
 * Sends `method target` with a `Host: 127.0.0.1` line, the given header lines and
 * `Connection: close`, byte for byte over a fresh socket (fetch would normalise the target and
 * merge repeated headers).
 */
export function raw(
  port: number,
  target: string,
  headers: readonly (readonly [string, string])[] = [],
  method = 'GET',
): Promise<Reply> {
  return sendRaw(port, { method, target, headers })
}

/** raw() with every option: a local address to connect from, a timeout. */
export function sendRaw(port: number, req: RawRequest, timeoutMs?: number): Promise<Reply> {
  const lines = [`${req.method ?? 'GET'} ${req.target} HTTP/1.1`, 'Host: 127.0.0.1']
  for (const [name, value] of req.headers ?? []) lines.push(`${name}: ${value}`)
  lines.push('Connection: close', '', '')
  return rawHead(port, lines.join('\r\n'), {
    ...(req.from ? { from: req.from } : {}),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  })
}

/**
 * Writes `head` (request line, headers, blank line) exactly as given and parses the answer, which
 * ends when the server closes: the head must ask for `Connection: close`.
 */
export function rawHead(port: number, head: string, options: RawOptions = {}): Promise<Reply> {
  const { from, timeoutMs = 5000 } = options
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', ...(from ? { localAddress: from } : {}) })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      const requestLine = head.slice(0, head.indexOf('\r\n'))
      socket.destroy(new Error(`no answer within ${timeoutMs} ms for ${requestLine}`))
    }, timeoutMs)
    socket.on('connect', () => socket.write(head, 'latin1'))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      try {
        resolve(parseResponse(Buffer.concat(chunks)))
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)))
      }
    })
  })
}

/** Parses an HTTP/1.x response: status, headers (names lower-cased), body (de-chunked, UTF-8). */
export function parseResponse(bytes: Buffer): Reply {
  // latin1 keeps one character per byte, so chunk sizes count characters.
  const text = bytes.toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) throw new Error(`incomplete response: ${JSON.stringify(text.slice(0, 200))}`)
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1])
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  let body = text.slice(end + 4)
  if (headers['transfer-encoding']?.includes('chunked')) body = unchunk(body)
  return { status, headers, body: Buffer.from(body, 'latin1').toString('utf8') }
}

function unchunk(body: string): string {
  let out = ''
  let rest = body
  for (;;) {
    const lineEnd = rest.indexOf('\r\n')
    if (lineEnd < 0) return out
    const size = parseInt(rest.slice(0, lineEnd), 16)
    if (!size) return out
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size)
    rest = rest.slice(lineEnd + 2 + size + 2)
  }
}
