// Faults under load (DESIGN.md principle 5): each adapter runs in its own process on a
// RedisStore backed by a private redis-server. While autocannon floods it, the redis-server is
// killed with SIGKILL and started again 1.5 s later. The app must not crash or leak, no request
// may hang past the store's timeout, every answer must be the policy's (200, or 503 when failing
// closed), and once Redis is back the limits must count again.
import { startRedis, stopAllRedis, type PrivateRedis } from '@sec/test-kit/redis-server'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { startChildApp, stopAllChildren, type ChildApp } from '../src/child-app.js'
import { latencySummary, runLoad, type LoadResult } from '../src/load.js'
import { LIMITED_LIMIT, LIMITED_PATH, LOAD_PATH, loadPolicy } from '../src/policies.js'
import { ADAPTERS, type AdapterName } from '../src/protocol.js'
import { pick } from '../src/settings.js'

/** The store's bound on one decision. */
const STORE_TIMEOUT_MS = 200
/**
 * What a response may take beyond the store timeout on a loaded 2-core machine (queueing behind
 * 30 other connections, GC, a neighbour's test). A hang is seconds, or autocannon's timeout.
 */
const HANG_MARGIN_MS = 1000
const CONNECTIONS = pick(32, 50)
const DURATION_S = pick(6, 20)
/** When Redis dies, in ms after the load starts (long mode: twice); it is back 1.5 s later. */
const KILLS_AT_MS = pick([1500], [5000, 12_000])
const DOWN_FOR_MS = 1500
/** The run's last stretch, after Redis is back and the client has reconnected: all 200. */
const CLEAN_TAIL_MS = pick(1000, 5000)
/**
 * heapUsed after the load may exceed the baseline by at most this (both after full GCs). The
 * noise measured across adapters is under 0.5 MiB; a leak of a few hundred bytes per request
 * over a run's 25,000-100,000 requests is well over it.
 */
const HEAP_MARGIN_BYTES = 10 * 1024 * 1024
/** autocannon gives up on a request after this: the "hang" it reports as a timeout. */
const REQUEST_TIMEOUT_S = 10

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

afterEach(async () => {
  await stopAllChildren()
  await stopAllRedis()
})
afterAll(async () => {
  await stopAllChildren()
  await stopAllRedis()
})

async function getJson(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; code: string | undefined; rateLimit: string | null }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(5000) })
  const text = await response.text()
  let code: string | undefined
  try {
    const parsed = JSON.parse(text) as { sec?: { code?: string }; error?: string }
    code = parsed.sec?.code ?? parsed.error
  } catch {
    code = undefined
  }
  return { status: response.status, code, rateLimit: response.headers.get('ratelimit') }
}

/** Polls until the route answers 200 `allowed` (the client has reconnected), or fails. */
async function waitAllowed(url: string, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  let last = { status: 0, code: undefined as string | undefined }
  while (Date.now() < deadline) {
    last = await getJson(url)
    if (last.status === 200 && last.code === 'allowed') return
    await sleep(50)
  }
  throw new Error(`${url} still answers ${last.status} ${last.code} after ${deadlineMs} ms`)
}

/** A short burst before the baseline, so JIT, lazy allocations and pools are already there. */
async function warmUp(app: ChildApp): Promise<void> {
  await runLoad({
    url: app.url + LOAD_PATH,
    connections: CONNECTIONS,
    durationSeconds: 1,
    timeoutSeconds: REQUEST_TIMEOUT_S,
  })
}

interface Outage {
  killedAt: number
  backAt: number
}

/** Runs the load; kills Redis at each of KILLS_AT_MS and starts it again DOWN_FOR_MS later. */
async function loadWithOutages(
  app: ChildApp,
  redis: PrivateRedis,
): Promise<{ load: LoadResult; outages: Outage[] }> {
  let faults: Promise<Outage[]> | undefined
  const load = await runLoad({
    url: app.url + LOAD_PATH,
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    timeoutSeconds: REQUEST_TIMEOUT_S,
    onStart: (startedAt) => {
      faults = (async () => {
        const outages: Outage[] = []
        for (const at of KILLS_AT_MS) {
          await sleep(at - (performance.now() - startedAt))
          await redis.kill()
          const killedAt = performance.now() - startedAt
          await sleep(DOWN_FOR_MS)
          await redis.start()
          outages.push({ killedAt, backAt: performance.now() - startedAt })
        }
        return outages
      })()
    },
  })
  if (!faults) throw new Error('autocannon never started')
  return { load, outages: await faults }
}

const RUNS = ADAPTERS.flatMap((adapter) => [
  { adapter, failMode: 'closed' as const },
  { adapter, failMode: 'open' as const },
])

describe.each(RUNS)('$adapter, Redis SIGKILLed under load, failMode $failMode', (run) => {
  it('stays up, answers within the store timeout, fails as configured, recovers, leaks nothing', async () => {
    const redis = await startRedis()
    const app = await startChildApp({
      adapter: run.adapter as AdapterName,
      policy: loadPolicy,
      store: {
        kind: 'redis',
        port: redis.port,
        prefix: `attack:${run.adapter}:${run.failMode}:`,
        timeoutMs: STORE_TIMEOUT_MS,
        // 'closed' is RedisStore's default: say nothing, so the default is what is tested.
        ...(run.failMode === 'open' ? { failMode: 'open' as const } : {}),
      },
      log: 'count',
    })
    await waitAllowed(app.url + LOAD_PATH)
    await warmUp(app)
    const heapBefore = await app.heapUsed()

    const { load, outages } = await loadWithOutages(app, redis)
    const where = `${run.adapter}/${run.failMode}`
    const down = outages.map((o) => `${o.killedAt.toFixed(0)}-${o.backAt.toFixed(0)}`).join(', ')
    console.info(
      `${where}: ${load.sent} requests in ${load.durationSeconds} s, statuses ${JSON.stringify(load.statuses)}, ` +
        `Redis down ${down} ms, ${latencySummary(load.samples)}`,
    )

    // No hang and no dropped connection: every request got an answer, in bounded time.
    expect(load.timeouts, `${where}: requests unanswered after ${REQUEST_TIMEOUT_S} s`).toBe(0)
    expect(load.errors, `${where}: connection errors`).toBe(0)
    expect(load.maxLatencyMs, `${where}: slowest response`).toBeLessThan(
      STORE_TIMEOUT_MS + HANG_MARGIN_MS,
    )

    // Only the policy's answers: 200, and 503 only when failing closed.
    const allowedStatuses = run.failMode === 'closed' ? ['200', '503'] : ['200']
    for (const status of Object.keys(load.statuses))
      expect(allowedStatuses, where).toContain(status)
    // Before the kill Redis was healthy: all 200.
    const before = load.samples.filter((s) => s.at < outages[0]!.killedAt)
    expect(before.length, where).toBeGreaterThan(0)
    expect(
      before.filter((s) => s.status !== 200),
      where,
    ).toEqual([])
    // The outage was felt (the fault path ran), as a 503 or as an admission the store missed.
    const codes = await app.decisionCodes()
    expect(
      codes['store.unavailable'] ?? 0,
      `${where}: decisions while Redis was down`,
    ).toBeGreaterThan(0)
    if (run.failMode === 'closed') expect(load.statuses[503] ?? 0, where).toBeGreaterThan(0)
    // Redis came back and the client reconnected by itself: the last stretch is all 200.
    const tailFrom = load.durationSeconds * 1000 - CLEAN_TAIL_MS
    expect(tailFrom, where).toBeGreaterThan(outages[outages.length - 1]!.backAt)
    const tail = load.samples.filter((s) => s.at >= tailFrom)
    expect(tail.length, where).toBeGreaterThan(0)
    expect(
      tail.filter((s) => s.status !== 200),
      where,
    ).toEqual([])

    // Still up, still counting: a fresh low-limit key admits exactly LIMITED_LIMIT, then 429.
    await waitAllowed(app.url + LOAD_PATH)
    const probe = { 'x-probe': `probe-${run.adapter}-${run.failMode}` }
    const answers: string[] = []
    for (let i = 0; i <= LIMITED_LIMIT; i++) {
      const r = await getJson(app.url + LIMITED_PATH, probe)
      answers.push(`${r.status} ${r.code} ${r.rateLimit ?? ''}`)
    }
    const expected = Array.from({ length: LIMITED_LIMIT }, (_, i) =>
      expect.stringMatching(
        new RegExp(`^200 allowed "limited";r=${LIMITED_LIMIT - 1 - i};t=\\d+$`),
      ),
    )
    expect(answers, where).toEqual([
      ...expected,
      expect.stringMatching(/^429 rateLimit\.exceeded "limited";r=0;t=\d+$/),
    ])

    // Memory back to its baseline, and nothing went wrong out of sight.
    const heapAfter = await app.heapUsed()
    console.info(
      `${where}: heapUsed ${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB`,
    )
    expect(heapAfter - heapBefore, `${where}: heap growth (bytes)`).toBeLessThan(HEAP_MARGIN_BYTES)
    expect(app.faults, where).toEqual([])
    expect(app.exited(), `${where}: the app process ended`).toBeUndefined()
    expect(app.stderr(), `${where}: stderr`).toBe('')
  })
})
