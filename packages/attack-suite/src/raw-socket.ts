// Raw TCP clients for requests no HTTP client would send: oversized or countless header lines,
// bytes outside ASCII in the request-target, a head dripped byte by byte, many requests in one
// write, and connections that never finish their head (slowloris). @sec/test-kit's raw client
// fails when the server resets the socket; a server refusing a 64 KiB header answers 431 and
// resets while the client is still writing, so these clients keep whatever answer came first.
import { connect, type Socket } from 'node:net'

export interface RawAnswer {
  /** Status of the first response, or undefined when the server closed without answering. */
  status: number | undefined
  /** Every status line received, in order (several when requests were pipelined). */
  statuses: number[]
  /** The bytes received, as latin1 text. */
  text: string
  /** How the connection ended: the server closed it, reset it, or our timeout fired. */
  ended: 'close' | 'reset' | 'timeout'
}

const STATUS_LINE = /HTTP\/1\.[01] (\d{3}) /g

function answer(chunks: Buffer[], ended: RawAnswer['ended']): RawAnswer {
  const text = Buffer.concat(chunks).toString('latin1')
  const statuses = [...text.matchAll(STATUS_LINE)].map((m) => Number(m[1]))
  return { status: statuses[0], statuses, text, ended }
}

/** Latin1 text is one byte per character: how a test writes bytes that are not ASCII. */
export const bytes = (text: string): Buffer => Buffer.from(text, 'latin1')

/**
 * Writes `data` (whole, or one piece at a time with `gapMs` between pieces) and collects
 * everything until the server closes or resets the connection, or `timeoutMs` passes.
 */
export function sendRaw(
  port: number,
  data: Buffer | readonly Buffer[],
  { timeoutMs = 10_000, gapMs = 0 }: { timeoutMs?: number; gapMs?: number } = {},
): Promise<RawAnswer> {
  const pieces = Buffer.isBuffer(data) ? [data] : data
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let settled = false
    const socket = connect({ port, host: '127.0.0.1' })
    const finish = (ended: RawAnswer['ended']) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(answer(chunks, ended))
    }
    const timer = setTimeout(() => finish('timeout'), timeoutMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => finish('reset'))
    socket.on('close', () => finish('close'))
    socket.on('connect', () => {
      void writePieces(socket, pieces, gapMs)
    })
  })
}

async function writePieces(socket: Socket, pieces: readonly Buffer[], gapMs: number) {
  for (const piece of pieces) {
    if (socket.destroyed) return
    socket.write(piece)
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs))
  }
}

/** A request head with `Host` and `Connection: close`, and the given header lines, as bytes. */
export function head(
  target: string,
  headers: readonly (readonly [string, string])[] = [],
  method = 'GET',
): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1']
  for (const [name, value] of headers) lines.push(`${name}: ${value}`)
  lines.push('Connection: close', '', '')
  return bytes(lines.join('\r\n'))
}

/** `data` cut into pieces of `size` bytes: for a drip. */
export function pieces(data: Buffer, size = 1): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size))
  return out
}

export interface Slowloris {
  /** Connections the server has closed so far. */
  closed(): number
  /** What each closed connection received before it closed. */
  answers(): RawAnswer[]
  /** Destroys every connection still open. */
  stop(): void
}

/**
 * Opens `count` connections that each send the start of a request head and then one more
 * header byte every `everyMs`, never finishing it: a slowloris. The server must keep serving
 * others meanwhile, and may close these only by its own timeouts.
 */
export async function slowloris(port: number, count: number, everyMs: number): Promise<Slowloris> {
  const sockets: Socket[] = []
  const results: RawAnswer[] = []
  const timers: NodeJS.Timeout[] = []
  let stopped = false
  await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<void>((resolve) => {
          const chunks: Buffer[] = []
          const socket = connect({ port, host: '127.0.0.1' }, () => {
            socket.write(bytes(`GET /slow/${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: `))
            // Drip only once connected: with many connects queued, a byte written before the
            // request line would make a malformed request (and a fair 400).
            timers.push(
              setInterval(() => {
                if (!socket.destroyed) socket.write('a')
              }, everyMs),
            )
            resolve()
          })
          sockets.push(socket)
          let done = false
          const end = (ended: RawAnswer['ended']) => {
            // Only the server's doing counts: not the connections stop() destroys.
            if (done || stopped) return
            done = true
            results.push(answer(chunks, ended))
          }
          socket.on('data', (chunk: Buffer) => chunks.push(chunk))
          socket.on('error', () => end('reset'))
          socket.on('close', () => end('close'))
        }),
    ),
  )
  return {
    closed: () => results.length,
    answers: () => [...results],
    stop: () => {
      stopped = true
      for (const timer of timers) clearInterval(timer)
      for (const socket of sockets) socket.destroy()
    },
  }
}
