// Sends a request byte for byte: the request-target reaches the framework exactly as an
// attacker writes it (fetch and http.request would normalise paths and merge headers).
import net from 'node:net'

export interface RawRequest {
  method?: string
  target: string
  /** Header lines as [name, value]; repeat a name to send it twice. */
  headers?: readonly (readonly [string, string])[]
  /** Local address to connect from (e.g. 127.0.0.2 to be an untrusted peer). */
  from?: string
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

export function sendRaw(port: number, req: RawRequest, timeoutMs = 5000): Promise<RawResponse> {
  const lines = [`${req.method ?? 'GET'} ${req.target} HTTP/1.1`, 'Host: 127.0.0.1']
  for (const [name, value] of req.headers ?? []) lines.push(`${name}: ${value}`)
  lines.push('Connection: close', '', '')
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      port,
      host: '127.0.0.1',
      ...(req.from ? { localAddress: req.from } : {}),
    })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(
        new Error(`no response within ${timeoutMs} ms for ${req.method ?? 'GET'} ${req.target}`),
      )
    }, timeoutMs)
    socket.on('connect', () => socket.write(lines.join('\r\n'), 'latin1'))
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      try {
        resolve(parseResponse(Buffer.concat(chunks).toString('latin1')))
      } catch (error) {
        reject(error)
      }
    })
  })
}

function parseResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) throw new Error(`incomplete response: ${JSON.stringify(text.slice(0, 200))}`)
  const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1])
  const headers: Record<string, string> = {}
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  let body = text.slice(end + 4)
  if (headers['transfer-encoding']?.includes('chunked')) body = unchunk(body)
  return { status, headers, body }
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
