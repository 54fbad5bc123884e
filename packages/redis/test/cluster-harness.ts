// A throwaway 3-master Redis Cluster made of local `redis-server` processes, for tests.
// startCluster() either returns a cluster whose every node reports cluster_state:ok, or cleans
// up whatever it started and throws. stop() kills every process and removes the temp dir; it
// is idempotent, and a process 'exit' hook kills any server still running if a run dies
// without reaching afterAll.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface LocalCluster {
  /** Client ports of the three masters. */
  readonly ports: readonly number[]
  readonly dir: string
  /** Runs redis-cli against one node and returns its stdout (trimmed). */
  cli(port: number, ...args: string[]): string
  /** The port of the master serving a slot (from CLUSTER NODES). */
  slotOwner(slot: number): number
  stop(): Promise<void>
}

/** Is this TCP port free on 127.0.0.1 right now? */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A port P with P and its cluster bus port P + 10000 both free. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000)
    if (taken.has(port) || taken.has(port + 10_000)) continue
    if ((await portFree(port)) && (await portFree(port + 10_000))) {
      taken.add(port)
      taken.add(port + 10_000)
      return port
    }
  }
  throw new Error('cluster harness: no free port pair found')
}

function runCli(
  args: string[],
  timeoutMs = 10_000,
): { status: number | null; out: string; err: string } {
  const r = spawnSync('redis-cli', args, { encoding: 'utf8', timeout: timeoutMs })
  if (r.error) throw r.error
  return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() }
}

const live = new Set<ChildProcess>()
let exitHook = false
function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
}

async function waitFor(
  what: string,
  ms: number,
  test: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await test()) return
    if (Date.now() > deadline) throw new Error(`cluster harness: timed out waiting for ${what}`)
    await sleep(50)
  }
}

export async function startCluster(): Promise<LocalCluster> {
  if (!exitHook) {
    exitHook = true
    process.once('exit', killAllSync)
  }
  const dir = mkdtempSync(join(tmpdir(), 'sec-redis-cluster-'))
  const children: ChildProcess[] = []
  let stopped = false

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) {
              live.delete(child)
              resolve()
              return
            }
            const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
            child.once('exit', () => {
              clearTimeout(timer)
              live.delete(child)
              resolve()
            })
            child.kill('SIGTERM')
          }),
      ),
    )
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    const taken = new Set<number>()
    const ports: number[] = []
    for (let i = 0; i < 3; i++) ports.push(await freeClusterPort(taken))
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--logfile',
          join(dir, `redis-${port}.log`),
        ],
        { stdio: 'ignore' },
      )
      children.push(child)
      live.add(child)
      child.once('exit', () => live.delete(child))
    }
    for (const [i, port] of ports.entries()) {
      await waitFor(`redis-server on ${port} to answer PING`, 10_000, () => {
        const child = children[i]!
        if (child.exitCode !== null) {
          let log = ''
          try {
            log = readFileSync(join(dir, `redis-${port}.log`), 'utf8')
          } catch {
            // no log yet
          }
          throw new Error(
            `cluster harness: redis-server on ${port} exited (${child.exitCode}):\n${log}`,
          )
        }
        return runCli(['-p', String(port), 'ping'], 2000).out === 'PONG'
      })
    }
    const create = runCli(
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      60_000,
    )
    if (create.status !== 0) {
      throw new Error(
        `cluster harness: redis-cli --cluster create failed:\n${create.out}\n${create.err}`,
      )
    }
    const cli = (port: number, ...args: string[]): string =>
      runCli(['-p', String(port), ...args]).out
    await waitFor('cluster_state:ok on every node', 30_000, () =>
      ports.every((p) => /cluster_state:ok/.test(cli(p, 'cluster', 'info'))),
    )
    // Every node must also agree on who serves each slot before clients look it up.
    await waitFor('every node to know all 3 masters', 30_000, () =>
      ports.every((p) => (cli(p, 'cluster', 'nodes').match(/master/g) ?? []).length === 3),
    )

    // CLUSTER NODES: `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slots…>`.
    const ranges: { from: number; to: number; port: number }[] = []
    const nodes = cli(ports[0]!, 'cluster', 'nodes')
    for (const line of nodes.split('\n')) {
      const fields = line.trim().split(/\s+/)
      const port = Number(/:(\d+)@/.exec(fields[1] ?? '')?.[1])
      for (const range of fields.slice(8)) {
        const [from, to = from] = range.split('-').map(Number)
        ranges.push({ from: from!, to: to!, port })
      }
    }
    if (ranges.reduce((n, r) => n + r.to - r.from + 1, 0) !== 16384) {
      throw new Error(`cluster harness: CLUSTER NODES does not cover 16384 slots:\n${nodes}`)
    }
    return {
      ports,
      dir,
      cli,
      slotOwner(slot) {
        const range = ranges.find((r) => slot >= r.from && slot <= r.to)
        if (!range) throw new Error(`cluster harness: no owner for slot ${slot}`)
        return range.port
      },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
