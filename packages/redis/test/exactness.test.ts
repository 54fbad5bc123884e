// Limits are exact across instances (DESIGN.md principle 6): separate Node processes, each with
// its own client (ioredis, node-redis, node-redis v4 in turn), hammer ONE key at once, and
// exactly `limit` requests are admitted. Windows are an hour long so that nothing rolls over or
// refills a whole token during the test (and the test waits out the last seconds of an hour).
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ioredis, REDIS_URL, uniquePrefix } from './clients.js'
import { unpackState } from './state.js'

const WORKER = fileURLToPath(new URL('./fixtures/exactness-worker.mjs', import.meta.url))
const CLIENTS = ['ioredis', 'node-redis', 'node-redis v4'] as const
const HOUR_MS = 3_600_000
const ALGORITHMS = ['fixedWindow', 'slidingWindow', 'tokenBucket'] as const

interface WorkerResult {
  allowed: boolean
  remaining?: number
  status?: number
  code?: string
  retryAfter?: string
}
interface Report {
  client: string
  pid: number
  results: WorkerResult[]
  errors: string[]
  startedAt: number
  endedAt: number
}

let admin: Redis
const children = new Set<ChildProcess>()
const prefixes: string[] = []

beforeAll(async () => {
  admin = await ioredis()
})
afterEach(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  children.clear()
})
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.del(...keys)
  }
  await admin.quit()
})

/** Waits until the current hour (on Redis's clock) has at least `ms` left. */
async function awayFromHourEnd(ms = 20_000): Promise<void> {
  const [sec, usec] = (await admin.time()) as [number | string, number | string]
  const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000)
  const left = HOUR_MS - (now % HOUR_MS)
  if (left < ms) await new Promise((resolve) => setTimeout(resolve, left + 100))
}

/** Forks one worker per config, starts them all at once, and collects their reports. */
async function runFleet(configs: Record<string, unknown>[]): Promise<Report[]> {
  const procs = configs.map((cfg) => {
    const child = fork(WORKER, [JSON.stringify({ url: REDIS_URL, ...cfg })], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    children.add(child)
    const message = (type: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const onMessage = (m: Record<string, unknown>) => {
          if (m?.type === type) {
            child.off('exit', onExit)
            child.off('message', onMessage)
            resolve(m)
          }
        }
        const onExit = (code: number | null) =>
          reject(new Error(`worker ${child.pid} exited (${code}) before '${type}'`))
        child.on('message', onMessage)
        child.once('exit', onExit)
      })
    return { child, cfg, ready: message('ready'), done: message('done') }
  })
  await Promise.all(procs.map((p) => p.ready))
  const at = Date.now() + 200
  for (const p of procs) p.child.send({ type: 'go', at })
  const reports = await Promise.all(
    procs.map(async (p) => {
      const m = await p.done
      return { client: String(p.cfg.client), pid: p.child.pid!, ...(m as object) } as Report
    }),
  )
  await Promise.all(
    procs.map((p) =>
      p.child.exitCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => p.child.once('exit', resolve)),
    ),
  )
  return reports
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/**
 * They really competed: every process was sending while another one was, and admissions went
 * to more than one process.
 */
function expectContention(reports: Report[]): void {
  for (const r of reports) {
    const overlaps = reports.some(
      (o) => o !== r && o.startedAt < r.endedAt && r.startedAt < o.endedAt,
    )
    expect(overlaps, `process ${r.pid} ran alone`).toBe(true)
  }
  const admittedIn = reports.filter((r) => r.results.some((x) => x.allowed)).length
  expect(admittedIn).toBeGreaterThanOrEqual(2)
}
const byNumber = (a: number, b: number) => a - b

describe.each(ALGORITHMS)('%s: processes hammering one key through RedisStore', (algorithm) => {
  it('admit exactly `limit`, each admission seeing its own count', async () => {
    const LIMIT = 100
    const PROCESSES = 6
    const REQUESTS = 90 // < LIMIT: no one process can take every admission
    const prefix = uniquePrefix(`exact-store-${algorithm}`)
    prefixes.push(prefix)
    await awayFromHourEnd()
    const reports = await runFleet(
      range(PROCESSES).map((i) => ({
        client: CLIENTS[i % CLIENTS.length],
        mode: 'store',
        prefix,
        key: 'shared',
        algorithm,
        limit: LIMIT,
        windowMs: HOUR_MS,
        requests: REQUESTS,
        concurrency: 8,
      })),
    )
    expect(reports.flatMap((r) => r.errors)).toEqual([])
    const all = reports.flatMap((r) => r.results)
    expect(all).toHaveLength(PROCESSES * REQUESTS)
    const admitted = all.filter((r) => r.allowed)
    expect(admitted).toHaveLength(LIMIT)
    // Atomic read-modify-write: the k-th admission anywhere saw exactly LIMIT - k left.
    expect(admitted.map((r) => r.remaining!).sort(byNumber)).toEqual(range(LIMIT))
    expect(new Set(reports.map((r) => r.client))).toEqual(new Set(CLIENTS))
    // The server agrees: the one key holds the whole count, and expires.
    const key = `${prefix}{shared}`
    const { fields } = unpackState((await admin.getBuffer(key))!)
    if (algorithm === 'fixedWindow') expect(fields[1]).toBe(LIMIT)
    if (algorithm === 'slidingWindow') expect(fields.slice(1)).toEqual([0, LIMIT])
    if (algorithm === 'tokenBucket') expect(fields[0]).toBeLessThan(HOUR_MS) // < 1 token
    expect(await admin.pttl(key)).toBeGreaterThan(0)
    expectContention(reports)
    const ms =
      Math.max(...reports.map((r) => r.endedAt)) - Math.min(...reports.map((r) => r.startedAt))
    const winners = reports.filter((r) => r.results.some((x) => x.allowed)).length
    console.info(
      `${algorithm}: ${PROCESSES} processes x ${REQUESTS} requests in ${ms.toFixed(0)} ms, ${winners} processes admitted`,
    )
  })
})

describe.each(ALGORITHMS)('%s: processes each running an engine on a RedisStore', (algorithm) => {
  it('share one limit: 4 processes x 50 requests against 60 admit exactly 60', async () => {
    const prefix = uniquePrefix(`exact-engine-${algorithm}`)
    prefixes.push(prefix)
    await awayFromHourEnd()
    const reports = await runFleet(
      range(4).map((i) => ({
        client: CLIENTS[i % CLIENTS.length],
        mode: 'engine',
        prefix,
        algorithm,
        limit: 60,
        window: '1h',
        ip: '203.0.113.50',
        requests: 50,
        concurrency: 5,
      })),
    )
    expect(reports.flatMap((r) => r.errors)).toEqual([])
    const all = reports.flatMap((r) => r.results)
    expect(all).toHaveLength(200)
    const admitted = all.filter((r) => r.allowed)
    expect(admitted.map((r) => [r.status, r.code])).toEqual(range(60).map(() => [200, 'allowed']))
    expect(admitted.map((r) => r.remaining!).sort(byNumber)).toEqual(range(60))
    const refused = all.filter((r) => !r.allowed)
    expect(refused).toHaveLength(140)
    for (const r of refused) {
      expect([r.status, r.code, r.remaining]).toEqual([429, 'rateLimit.exceeded', 0])
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1)
    }
    for (const r of reports) expect(r.results.length).toBe(50)
    expectContention(reports)
    expect(await admin.keys(`${prefix}*`)).toEqual([`${prefix}shared:0:{ip:203.0.113.50}`])
  })
})
