// A private redis-server on a free port, owned by one test: killed with SIGKILL mid-run and
// started again on the same port. Run in the foreground (never daemonized), so the test holds
// its pid and nothing outlives the run. (The same approach as @sec/redis's fault tests.)
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, createServer } from 'node:net'

export interface PrivateRedis {
  readonly port: number
  /** SIGKILLs the server (no shutdown, no goodbye to clients) and waits until it is gone. */
  kill(): Promise<void>
  /** Starts it again on the same port; resolves once it answers PING. */
  start(): Promise<void>
}

const live = new Set<ChildProcess>()

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** True when a server on `port` answers PING with PONG (inline command, no client library). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

export async function startRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined

  async function start(): Promise<void> {
    if (child) throw new Error('redis-server is already running')
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    )
    child = proc
    live.add(proc)
    proc.once('exit', () => {
      live.delete(proc)
      if (child === proc) child = undefined
    })
    const deadline = Date.now() + 15_000
    while (!(await ping(port))) {
      if (child !== proc) throw new Error(`redis-server on port ${port} exited during start`)
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`)
      await sleep(50)
    }
  }

  async function kill(): Promise<void> {
    const proc = child
    if (!proc) return
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    proc.kill('SIGKILL')
    await exited
  }

  await start()
  return { port, kill, start }
}

/** SIGKILLs every redis-server started here that still runs (afterAll). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all(
    [...live].map(
      (proc) =>
        new Promise<void>((resolve) => {
          proc.once('exit', () => resolve())
          proc.kill('SIGKILL')
        }),
    ),
  )
}
