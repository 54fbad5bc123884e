// A private redis-server for a test that must own its server: kill it with SIGKILL mid-run,
// start it again on the same port, give it options of its own (`--maxmemory`…), read its INFO
// without other traffic. Started in the foreground (never daemonized) so the test holds its pid
// and nothing outlives the run. Used by @sec/redis's tests and @sec/attack-suite; `redis-server`
// must be on PATH (no redis-cli needed: PING is sent over a plain socket).
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, createServer } from 'node:net'

export interface PrivateRedis {
  readonly port: number
  /**
   * SIGKILLs the server (no shutdown, no goodbye to clients) and resolves once it has exited.
   * Does nothing while it is stopped. Also the way to stop it for good (afterAll).
   */
  kill(): Promise<void>
  /** Starts it again on the same port, with the same arguments; resolves once it answers PING. */
  start(): Promise<void>
}

export interface PrivateRedisOptions {
  /** Extra `redis-server` arguments, after the port and persistence ones. */
  readonly args?: readonly string[]
  /** How long start() waits for PONG before it fails (default 15 s). */
  readonly startTimeoutMs?: number
}

const live = new Set<ChildProcess>()

/** A TCP port nothing listens on right now. */
function freePort(): Promise<number> {
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

/**
 * Starts `redis-server --port <free port> --bind 127.0.0.1 --save '' --appendonly no <args>` and
 * resolves once it answers PING. Kill it in afterAll (kill(), or stopAllRedis()).
 */
export async function startRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort()
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    ...(options.args ?? []),
  ]
  const startTimeoutMs = options.startTimeoutMs ?? 15_000
  let child: ChildProcess | undefined

  async function start(): Promise<void> {
    if (child) throw new Error(`redis-server on port ${port} is already running`)
    const proc = spawn('redis-server', args, { stdio: 'ignore' })
    let spawnError: Error | undefined
    child = proc
    live.add(proc)
    const gone = () => {
      live.delete(proc)
      if (child === proc) child = undefined
    }
    proc.once('exit', gone)
    // Not found on PATH, not executable: 'error' (no pid) and no 'exit'.
    proc.on('error', (error) => {
      spawnError = error
      if (proc.pid === undefined) gone()
    })
    const deadline = Date.now() + startTimeoutMs
    while (!(await ping(port))) {
      if (child !== proc) {
        const why = spawnError ? `: ${spawnError.message}` : ''
        throw new Error(`redis-server on port ${port} exited during start${why}`)
      }
      if (Date.now() > deadline) {
        await kill()
        throw new Error(`redis-server on port ${port} did not answer PING`)
      }
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

/** SIGKILLs every redis-server started here that still runs, and waits for them (afterAll). */
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

/** Parses `INFO commandstats`: command name -> calls. */
export function commandCalls(info: string): Record<string, number> {
  const calls: Record<string, number> = {}
  for (const line of info.split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line)
    if (m) calls[m[1]!] = Number(m[2])
  }
  return calls
}
