// Store faults (DESIGN.md principle 5) against a redis-server this file owns: it is killed with
// SIGKILL mid-run, paused, restarted on the same port and has its script cache flushed, while
// engines on an ioredis and a node-redis client keep deciding. Both clients use their default
// options, and neither gets an 'error' listener from the test: RedisStore must attach one.
import { createEngine, type Decision, type Engine } from '@sec/core'
import { commandCalls, startRedis, type PrivateRedis } from '@sec/test-kit/redis-server'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../dist/index.js'

const TIMEOUT_MS = 200
/** What a decision may take beyond the store's timeoutMs (timer and event-loop slack). */
const MARGIN_MS = 75
const LIMIT = 5

const faults: { kind: string; error: unknown }[] = []
const onRejection = (error: unknown) => faults.push({ kind: 'unhandledRejection', error })
const onException = (error: unknown) => faults.push({ kind: 'uncaughtException', error })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let server: PrivateRedis
let admin: Redis
let io: Redis
let nr: ReturnType<typeof createClient>
const stores: Record<string, RedisStore> = {}
const listenersBefore: Record<string, number> = {}

type Mode = 'closed' | 'open' | 'rule-open' | 'rule-closed' | 'mixed'
interface Setup {
  client: 'ioredis' | 'node-redis'
  mode: Mode
  engine: Engine
}
const setups: Setup[] = []

/** The policy for a mode: what the store says, and what each rule says. */
function engineFor(client: 'ioredis' | 'node-redis', mode: Mode, prefix: string): Engine {
  const c = client === 'ioredis' ? io : nr
  const storeFailMode = mode === 'open' || mode === 'rule-closed' ? 'open' : 'closed'
  const store = new RedisStore({
    client: c,
    prefix,
    timeoutMs: TIMEOUT_MS,
    failMode: storeFailMode,
  })
  stores[`${client}/${mode}`] = store
  const rl = { type: 'rateLimit', limit: LIMIT, window: '1m' } as const
  const rules =
    mode === 'rule-open'
      ? [{ id: 'rl', ...rl, failMode: 'open' }]
      : mode === 'rule-closed'
        ? [{ id: 'rl', ...rl, failMode: 'closed' }]
        : mode === 'mixed'
          ? // The store is closed: 'soft' fails open by its own choice, 'hard' inherits closed.
            [
              { id: 'soft', ...rl, failMode: 'open' },
              { id: 'hard', ...rl, by: 'header:x-user' },
            ]
          : [{ id: 'rl', ...rl }]
  return createEngine({ version: 1, rules }, { store })
}

const req = (ip: string) => ({ method: 'GET', url: '/', headers: {}, remoteAddress: ip })

/** What a decision must look like while the store is unreachable, per mode. */
function expectUnavailable(setup: Setup, d: Decision): void {
  const where = `${setup.client}/${setup.mode}`
  const closed = setup.mode === 'closed' || setup.mode === 'rule-closed' || setup.mode === 'mixed'
  expect(d.code, where).toBe('store.unavailable')
  expect(d.status, where).toBe(closed ? 503 : 200)
  expect(d.allowed, where).toBe(!closed)
  const errors = d.results.filter((r) => r.outcome === 'error')
  if (setup.mode === 'mixed') {
    expect(d.ruleId, where).toBe('hard')
    expect(d.results.map((r) => [r.ruleId, r.code, r.message?.includes('failed open')])).toEqual([
      ['soft', 'store.unavailable', true],
      ['hard', 'store.unavailable', false],
    ])
    expect(d.results[1]!.message).toContain('failed closed')
  } else {
    expect(errors, where).toHaveLength(1)
    expect(errors[0]!.code, where).toBe('store.unavailable')
    expect(errors[0]!.message, where).toContain(closed ? 'failed closed' : 'failed open')
  }
  expect(d.headers.RateLimit, where).toBeUndefined()
}

interface Sample {
  setup: Setup
  startedAt: number
  ms: number
  decision: Decision
}

/** Every setup decides in a loop (one request in flight each) until `stop()`. */
function hammer(ip: string) {
  const samples: Sample[] = []
  let running = true
  const loops = setups.map(async (setup) => {
    while (running) {
      const startedAt = performance.now()
      const decision = await setup.engine.decide(req(ip))
      samples.push({ setup, startedAt, ms: performance.now() - startedAt, decision })
      await sleep(2)
    }
  })
  return {
    samples,
    async stop() {
      running = false
      await Promise.all(loops)
    },
  }
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return `n=${sorted.length} min=${at(0).toFixed(1)} p50=${at(0.5).toFixed(1)} p99=${at(0.99).toFixed(1)} max=${sorted[sorted.length - 1]!.toFixed(1)} ms`
}

beforeAll(async () => {
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  server = await startRedis()
  admin = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 })
  admin.on('error', () => {})
  await admin.connect()
  // Default options, no 'error' listener: what an app that forgot one has.
  io = new Redis(server.port, '127.0.0.1', { lazyConnect: true })
  nr = createClient({ socket: { host: '127.0.0.1', port: server.port } })
  await io.connect()
  await nr.connect()
  listenersBefore.ioredis = io.listenerCount('error')
  listenersBefore['node-redis'] = nr.listenerCount('error')
  const modes: Mode[] = ['closed', 'open', 'rule-open', 'rule-closed', 'mixed']
  for (const client of ['ioredis', 'node-redis'] as const) {
    for (const mode of modes) {
      setups.push({
        client,
        mode,
        engine: engineFor(client, mode, `sec-faults:${client}:${mode}:`),
      })
    }
  }
}, 30_000)

afterAll(async () => {
  io?.disconnect()
  nr?.destroy()
  admin?.disconnect()
  await server?.kill()
  process.off('unhandledRejection', onRejection)
  process.off('uncaughtException', onException)
})

describe('client error events', () => {
  it('RedisStore attaches the one error listener an app without one needs', () => {
    expect(listenersBefore).toEqual({ ioredis: 0, 'node-redis': 0 })
    // Five stores per client, one listener: attached once, only when there was none.
    expect(io.listenerCount('error')).toBe(1)
    expect(nr.listenerCount('error')).toBe(1)
  })

  it('node-redis throws on an unlistened error; behind a RedisStore it does not', () => {
    const bare = createClient({ socket: { host: '127.0.0.1', port: server.port } })
    const boom = new Error('boom')
    expect(() => bare.emit('error', boom)).toThrow('boom')
    const store = new RedisStore({ client: bare, prefix: 'sec-faults:bare:' })
    expect(() => bare.emit('error', boom)).not.toThrow()
    expect(store.lastError).toBe(boom)
  })

  it('leaves an app that listens alone', () => {
    const own = createClient({ socket: { host: '127.0.0.1', port: server.port } })
    const seen: unknown[] = []
    own.on('error', (e) => seen.push(e))
    const store = new RedisStore({ client: own, prefix: 'sec-faults:own:' })
    own.emit('error', new Error('mine'))
    expect(own.listenerCount('error')).toBe(1)
    expect(seen).toHaveLength(1)
    expect(store.lastError).toBeUndefined()
  })
})

describe('a client whose evalsha throws instead of rejecting', () => {
  it('consume rejects (it never throws) and the engine answers with its fail mode', async () => {
    // The real client behind a wrapper with a bug: its script call throws synchronously.
    const buggy = new Proxy(io, {
      get(target, name, receiver) {
        if (name === 'evalsha') {
          return () => {
            throw new Error('wrapper bug')
          }
        }
        const value: unknown = Reflect.get(target, name, receiver)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const store = new RedisStore({ client: buggy, prefix: 'sec-faults:buggy:' })
    const check = {
      key: 'k',
      algorithm: 'fixedWindow',
      limit: 5,
      windowMs: 60_000,
      cost: 1,
    } as const
    let answer: Promise<unknown> | undefined
    expect(() => (answer = store.consume([check]))).not.toThrow()
    await expect(answer).rejects.toThrow('wrapper bug')
    const engine = createEngine(
      { version: 1, rules: [{ id: 'rl', type: 'rateLimit', limit: LIMIT, window: '1m' }] },
      { store },
    )
    expect(await engine.decide(req('198.51.100.9'))).toMatchObject({
      status: 503,
      code: 'store.unavailable',
    })
  })
})

describe('a killed, paused and restarted server', () => {
  it('decides normally while Redis is up', async () => {
    for (const setup of setups) {
      const d = await setup.engine.decide(req('198.51.100.1'))
      expect([setup.client, setup.mode, d.status, d.code]).toEqual([
        setup.client,
        setup.mode,
        200,
        'allowed',
      ])
      expect(d.headers.RateLimit).toMatch(/;r=4;t=\d+$/)
    }
  })

  it('a slow (paused) server: every decision comes back after timeoutMs, as the fail mode says', async () => {
    const run = hammer('198.51.100.2')
    await sleep(100)
    // Scripts are write commands: they wait, while the admin connection keeps working.
    await admin.call('CLIENT', 'PAUSE', '1200', 'WRITE')
    const pausedAt = performance.now()
    await sleep(800)
    await run.stop()
    const during = run.samples.filter((s) => s.startedAt > pausedAt + 5)
    expect(during.length).toBeGreaterThanOrEqual(setups.length * 2)
    for (const s of during) {
      expectUnavailable(s.setup, s.decision)
      expect(s.decision.results.find((r) => r.outcome === 'error')!.message).toContain(
        `did not answer within ${TIMEOUT_MS} ms`,
      )
      expect(s.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1)
      expect(s.ms).toBeLessThanOrEqual(TIMEOUT_MS + MARGIN_MS)
    }
    console.info(`paused server, decision time: ${summary(during.map((s) => s.ms))}`)
    await sleep(600) // the pause ends
    for (const setup of setups) {
      const d = await setup.engine.decide(req('198.51.100.3'))
      expect([setup.client, setup.mode, d.code]).toEqual([setup.client, setup.mode, 'allowed'])
    }
  })

  it('SIGKILL mid-run: decisions keep coming, bounded, failing open or closed as configured', async () => {
    const run = hammer('198.51.100.4')
    await sleep(150)
    const before = run.samples.length
    await server.kill()
    const killedAt = performance.now()
    await sleep(1500)
    await run.stop()
    expect(before).toBeGreaterThan(0)
    for (const s of run.samples.slice(0, before)) {
      expect(['allowed', 'rateLimit.exceeded']).toContain(s.decision.code)
    }
    // In flight when the server died, or sent after: either way bounded by timeoutMs.
    const affected = run.samples.filter((s) => s.startedAt + s.ms > killedAt)
    for (const s of affected) expect(s.ms).toBeLessThanOrEqual(TIMEOUT_MS + MARGIN_MS)
    const after = run.samples.filter((s) => s.startedAt > killedAt)
    for (const setup of setups) {
      // Decisions keep coming for every engine (one at a time, each bounded by the timeout).
      const mine = after.filter((s) => s.setup === setup)
      expect(mine.length, `${setup.client}/${setup.mode}`).toBeGreaterThanOrEqual(
        Math.floor(1500 / (TIMEOUT_MS + MARGIN_MS)),
      )
      // Once the client knows its connection is gone, the store does not queue into it (the
      // command would run when Redis returns): it answers at once instead of after timeoutMs.
      const settled = mine.filter((s) => s.startedAt > killedAt + 2 * TIMEOUT_MS)
      expect(settled.length).toBeGreaterThan(0)
      for (const s of settled) expect(s.ms).toBeLessThan(TIMEOUT_MS / 2)
    }
    for (const s of after) expectUnavailable(s.setup, s.decision)
    console.info(`killed server, decision time: ${summary(affected.map((s) => s.ms))}`)
    for (const client of ['ioredis', 'node-redis']) {
      const ms = after.filter((s) => s.setup.client === client).map((s) => s.ms)
      console.info(`  ${client}: ${summary(ms)}`)
    }
    // The errors the clients emitted went to RedisStore's listener, not to a crash.
    expect(stores['node-redis/closed']!.lastError).toBeInstanceOf(Error)
    expect(stores['ioredis/closed']!.lastError).toBeInstanceOf(Error)
  })

  it('restarted on the same port: limits resume by themselves, with nothing counted during the outage', async () => {
    await server.start()
    const deadline = Date.now() + 20_000
    for (const setup of setups) {
      const where = `${setup.client}/${setup.mode}`
      const x = { 'x-user': 'u1' }
      const decide = () => setup.engine.decide({ ...req('198.51.100.1'), headers: x })
      // Unavailable until this client has reconnected (it does so by itself).
      let d = await decide()
      while (d.code === 'store.unavailable' && Date.now() < deadline) {
        await sleep(50)
        d = await decide()
      }
      // The key was used before the kill and hammered during the outage: the new server
      // starts empty, and requests refused while it was down must not have been counted.
      expect([where, d.status, d.code]).toEqual([where, 200, 'allowed'])
      const first = LIMIT - 1
      expect(d.headers.RateLimit, where).toMatch(new RegExp(`;r=${first};t=\\d+$`))
      for (let n = first - 1; n >= 0; n--) {
        const next = await decide()
        expect([where, next.code]).toEqual([where, 'allowed'])
        expect(next.headers.RateLimit, where).toMatch(new RegExp(`;r=${n};t=\\d+$`))
      }
      const over = await decide()
      expect([where, over.status, over.code]).toEqual([where, 429, 'rateLimit.exceeded'])
    }
  }, 30_000)

  it('SCRIPT FLUSH mid-run: the store reloads its script (NOSCRIPT -> EVAL) and no decision fails', async () => {
    const info = async () => commandCalls(String(await admin.info('commandstats')))
    const cached = async () =>
      Number(/number_of_cached_scripts:(\d+)/.exec(String(await admin.info('memory')))![1])
    expect(await cached()).toBe(1)
    const evalBefore = (await info()).eval ?? 0
    // The limit's one-minute window is aligned to the clock: a run that crosses a minute
    // boundary rightly admits LIMIT more. Start well clear of the next boundary.
    const intoMinute = Date.now() % 60_000
    if (intoMinute > 55_000) await sleep(60_000 - intoMinute + 200)
    const run = hammer('198.51.100.9')
    await sleep(150)
    await admin.script('FLUSH')
    const flushedAt = performance.now()
    await sleep(300)
    await run.stop()
    const after = await info()
    expect(run.samples.filter((s) => s.startedAt > flushedAt).length).toBeGreaterThan(setups.length)
    expect(after.eval! - evalBefore).toBeGreaterThanOrEqual(1)
    expect(await cached()).toBe(1)
    // Counting went on across the flush: per engine, exactly LIMIT admitted, then 429.
    for (const setup of setups) {
      const mine = run.samples.filter((s) => s.setup === setup).map((s) => s.decision)
      const where = `${setup.client}/${setup.mode}`
      expect(
        mine.filter((d) => d.code === 'store.unavailable'),
        where,
      ).toEqual([])
      const expected = mine.map((_, i) => (i < LIMIT ? 'allowed' : 'rateLimit.exceeded'))
      expect(
        mine.map((d) => d.code),
        where,
      ).toEqual(expected)
      const remaining = mine.slice(0, LIMIT).map((d) => /;r=(\d+);/.exec(d.headers.RateLimit!)![1])
      expect(remaining, where).toEqual(['4', '3', '2', '1', '0'])
    }
  })

  it('no unhandled rejection and no uncaught exception, from start to end', async () => {
    // Late rejections (ioredis gives up on queued commands after its retries) land here too.
    await sleep(100)
    expect(faults).toEqual([])
  })
})
