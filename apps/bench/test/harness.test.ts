// Smoke test of the bench harness, so CI catches a broken bench server without running long
// loads: every contender starts in its own child, answers `GET /` with 200 (and the rate-limit
// headers it is supposed to send), survives ~0.3 s of autocannon, and reports its stats.
// Never asserts speed. Redis contenders need Redis at REDIS_URL (CI provides it; never skipped).
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Redis } from 'ioredis'
import { CONTENDERS, REQUEST_HEADERS, REQUEST_PATH } from '../contenders.mjs'
import { parseWrk, runLoad } from '../load.mjs'
import { killAll, startServer } from '../processes.mjs'
import { commandDelta, commandStats, connectRedis, removeKeys } from '../redis.mjs'
import { pairedRatio, renderReport, summarise } from '../report.mjs'
import { roundOrder } from '../rounds.mjs'

const PREFIX = `secbench:test:${process.pid}:`
let redis: Redis | undefined

beforeAll(async () => {
  redis = await connectRedis()
})
afterAll(async () => {
  killAll()
  if (redis) {
    await removeKeys(redis, PREFIX)
    redis.disconnect()
  }
})

describe.each(CONTENDERS.map((c) => [c.id, c] as const))('%s', (_id, contender) => {
  it('answers 200 with its rate-limit headers, under a short load', async () => {
    if (contender.redis) expect(redis, `Redis must be reachable at REDIS_URL`).toBeDefined()
    const server = await startServer(contender.framework, contender.variant, {
      env: { BENCH_REDIS_PREFIX: `${PREFIX}${contender.framework}-${contender.variant}:` },
    })
    try {
      const res = await fetch(server.url + REQUEST_PATH, { headers: REQUEST_HEADERS })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ hello: 'world' })
      if (contender.sec) {
        expect(res.headers.get('ratelimit')).toMatch(/^"limit";r=\d+;t=\d+$/)
        expect(res.headers.get('ratelimit-policy')).toMatch(/q=1000000000/)
      }
      if (contender.rlHeader) expect(res.headers.get(contender.rlHeader)).toBeTruthy()
      if (contender.section === 'seed') {
        // The checks are really in force: the seed's bot rule denies.
        const bot = await fetch(server.url + REQUEST_PATH, {
          headers: { 'user-agent': 'BadBot/1.0' },
        })
        expect(bot.status).toBe(403)
      }

      const before = redis && contender.redis ? await commandStats(redis) : undefined
      const cpuBefore = (await server.stats()).cpuMicros
      const load = await runLoad({
        url: server.url + REQUEST_PATH,
        seconds: 0.3,
        connections: 10,
        headers: REQUEST_HEADERS,
      })
      expect(load.requests).toBeGreaterThan(0)
      expect(load.non2xx).toBe(0)
      expect(load.errors).toBe(0)
      expect(load.p99Ms).toBeGreaterThan(0)

      const stats = await server.stats()
      expect(stats.peakRssBytes).toBeGreaterThan(0)
      // The server's own CPU grew while it served the load: the per-request CPU column.
      expect(stats.cpuMicros).toBeGreaterThan(cpuBefore)
      if (contender.redis && redis && before) {
        expect(stats.redisWrites).toBeGreaterThan(0)
        expect(commandDelta(before, await commandStats(redis)).total).toBeGreaterThan(0)
      } else {
        expect(stats.redisWrites).toBe(0)
      }
    } finally {
      await server.stop()
    }
  })
})

describe('harness pieces', () => {
  it('parses wrk --latency output', () => {
    const out = `Running 2s test @ http://127.0.0.1:3000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us  100.00us   5.00ms   90.00%
  Latency Distribution
     50%  612.00us
     75%  700.00us
     90%  800.00us
     99%    1.50ms
  40000 requests in 2.00s, 5.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  19990.50
Transfer/sec:      2.50MB
`
    expect(parseWrk(out)).toEqual({
      requests: 40000,
      seconds: 2,
      rps: 19990.5,
      p50Ms: 0.612,
      p99Ms: 1.5,
      non2xx: 7,
      errors: 3,
    })
  })

  it.skipIf(spawnSync('wrk', ['-v']).error !== undefined)(
    'drives a server with wrk (--wrk)',
    async () => {
      const server = await startServer('hono', 'bare')
      try {
        const r = await runLoad({
          url: server.url + '/',
          seconds: 1,
          connections: 10,
          headers: REQUEST_HEADERS,
          generator: 'wrk',
        })
        expect(r.requests).toBeGreaterThan(0)
        expect(r.non2xx).toBe(0)
      } finally {
        await server.stop()
      }
    },
  )

  it('rotates the order of contenders from round to round', () => {
    const list = ['a', 'b', 'c', 'd', 'e', 'f']
    const orders = [0, 1, 2].map((r) => roundOrder(list, r, 3).join(''))
    expect(orders).toEqual(['abcdef', 'cdefab', 'efabcd'])
  })

  /** One measured run of a contender: req/s and server CPU per request are what vary here. */
  const result = (rps: number, cpu = 20) => ({
    rps,
    serverCpuUsPerRequest: cpu,
    requests: rps,
    p50Ms: 1,
    p99Ms: 2,
    non2xx: 0,
    errors: 0,
    loadCpuPercent: 50,
    peakRssMb: 80,
  })
  type Contender = (typeof CONTENDERS)[number]
  type Entry = Parameters<typeof summarise>[1][number]
  const report = (contenders: Contender[], entries: Entry[]) =>
    renderReport({
      meta: {
        title: 't',
        command: 'pnpm bench',
        date: 'd',
        node: 'v',
        cpu: 'c',
        cores: 2,
        generator: 'g',
        connections: 50,
        seconds: 1,
        warmupSeconds: 1,
        rounds: 2,
        redis: 'r',
        loadBefore: '0',
        loadAfter: '0',
        elapsedSeconds: 1,
        notes: [],
      },
      core: undefined,
      contenders,
      entries,
    })
  const find = (id: string) => CONTENDERS.find((c) => c.id === id)!

  it("renders a report with ratios to the same round's bare server", () => {
    const bare = find('koa/bare')
    const sec = find('koa/sec-rl-memory')
    const entries = [
      { round: 0, position: 0, contender: bare, result: result(100) },
      { round: 0, position: 1, contender: sec, result: result(90, 24) },
      { round: 1, position: 0, contender: sec, result: result(40, 26) },
      { round: 1, position: 1, contender: bare, result: result(50) },
    ]
    const rows = summarise([bare, sec], entries)
    expect(rows[1]!.ratio).toBeCloseTo(0.85) // median of 0.9 and 0.8
    expect(rows[1]!.serverCpuUs).toBe(25)
    const md = report([bare, sec], entries)
    expect(md).toContain('| koa | **sec (MemoryStore)** | 65 | 0.85× | 25.0 |')
    expect(md).not.toContain('NaN')
  })

  it('compares sec with the fastest alternative round by round, with CPU per request', () => {
    const bare = find('koa/bare')
    const sec = find('koa/sec-rl-memory')
    const peer = find('koa/koa-ratelimit')
    // A slow second round: medians of req/s alone would put sec at 60 / 55, but round by round
    // sec is ahead 1.2× and 1.1×.
    const entries = [
      { round: 0, position: 0, contender: bare, result: result(100, 20) },
      { round: 0, position: 1, contender: sec, result: result(60, 30) },
      { round: 0, position: 2, contender: peer, result: result(50, 32) },
      { round: 1, position: 0, contender: peer, result: result(60, 31) },
      { round: 1, position: 1, contender: sec, result: result(66, 29) },
      { round: 1, position: 2, contender: bare, result: result(90, 21) },
      // a round the peer failed: not paired
      { round: 2, position: 0, contender: sec, result: result(1, 29) },
      { round: 2, position: 1, contender: peer, error: 'crashed' },
    ]
    expect(pairedRatio(entries, sec, peer)).toBeCloseTo(1.15)
    expect(report([bare, sec, peer], entries)).toContain(
      '| koa | memory | 60 | koa-ratelimit (memory) 55 | 1.15× | 29.0 / 31.5 |',
    )
  })
})

describe('run.mjs --out', () => {
  it('is relative to where the command was typed (INIT_CWD), checked before measuring', () => {
    const run = new URL('../run.mjs', import.meta.url).pathname
    const typedIn = '/tmp/sec-bench-typed-here'
    const result = spawnSync(process.execPath, [run, '--out', 'missing/report.md'], {
      env: { ...process.env, INIT_CWD: typedIn },
      encoding: 'utf8',
      timeout: 10_000,
    })
    expect(result.status).toBe(2)
    expect(result.stderr).toContain(`the folder ${typedIn}/missing does not exist`)
  })
})
