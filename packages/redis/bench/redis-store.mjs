// Decisions per second against one Redis, side by side in one run, interleaved rounds:
//   sec engine      createEngine (one rateLimit rule) + RedisStore, engine.decide(request)
//   sec store       RedisStore.consume([check]) alone (what the engine adds is the difference)
//   rlf             rate-limiter-flexible RateLimiterRedis.consume(ip)
// each with an ioredis client, with and without `enableAutoPipelining`. Load: CONCURRENCY
// requests in flight, keys spread over IPS client addresses, limits never reached.
// Round trips: INFO commandstats deltas per round: scripts (EVALSHA/EVAL) per decision, and all
// commands per decision, which includes the commands a script runs (TIME/GET/SET for sec,
// SET/INCRBY/PTTL for rlf); anything else using the same Redis at the time shows up too.
// Plus socket writes per decision, counted on the client: autopipelining packs many commands
// into one write.
//
//   node bench/redis-store.mjs            (needs `pnpm --filter @sec/redis build` first)
//   ROUNDS=3 SECONDS=5 CONCURRENCY=50 IPS=1000 REDIS_URL=redis://127.0.0.1:6379
//   ONLY=sec-engine,rlf PIPELINE=off     (subsets, e.g. under node --cpu-prof)
import { readFileSync } from 'node:fs'
import { createEngine } from '@sec/core'
import { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import { RedisStore } from '../dist/index.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const SECONDS = Number(process.env.SECONDS ?? 5)
const WARMUP_SECONDS = Number(process.env.WARMUP_SECONDS ?? 1)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50)
const IPS = Number(process.env.IPS ?? 1000)
const ONLY = process.env.ONLY?.split(',')
const PIPELINE = process.env.PIPELINE ?? 'both' // off | on | both
const LIMIT = 1_000_000_000
const RUN = `secbench:${process.pid}:${Date.now()}`

const ips = Array.from(
  { length: IPS },
  (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
)

/** An ioredis client whose socket writes are counted. */
async function client(autoPipelining) {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, enableAutoPipelining: autoPipelining })
  await redis.connect()
  const counter = { writes: 0 }
  const stream = redis.stream
  const write = stream.write
  stream.write = function (...args) {
    counter.writes++
    return write.apply(this, args)
  }
  return { redis, counter }
}

const contenders = []
async function setUp() {
  for (const pipelined of PIPELINE === 'both' ? [false, true] : [PIPELINE === 'on']) {
    const tag = pipelined ? 'on' : 'off'
    if (!ONLY || ONLY.includes('sec-engine')) {
      const { redis, counter } = await client(pipelined)
      const engine = createEngine(
        { version: 1, rules: [{ id: 'api', type: 'rateLimit', limit: LIMIT, window: '1m' }] },
        { store: new RedisStore({ client: redis, prefix: `${RUN}:sec-engine-${tag}:` }) },
      )
      const requests = ips.map((ip) => ({
        method: 'GET',
        url: '/api/items?page=2',
        headers: { host: 'api.example', 'user-agent': 'bench/1.0', accept: 'application/json' },
        remoteAddress: ip,
      }))
      contenders.push({
        name: 'sec engine + RedisStore',
        pipelined,
        redis,
        counter,
        call: async (i) => (await engine.decide(requests[i % IPS])).allowed,
      })
    }
    if (!ONLY || ONLY.includes('sec-store')) {
      const { redis, counter } = await client(pipelined)
      const store = new RedisStore({ client: redis, prefix: `${RUN}:sec-store-${tag}:` })
      const checks = ips.map((ip) => [
        {
          key: `api:0:ip:${ip}`,
          algorithm: 'fixedWindow',
          limit: LIMIT,
          windowMs: 60_000,
          cost: 1,
          scope: `ip:${ip}`,
        },
      ])
      contenders.push({
        name: 'sec RedisStore.consume',
        pipelined,
        redis,
        counter,
        call: async (i) => (await store.consume(checks[i % IPS]))[0].allowed,
      })
    }
    if (!ONLY || ONLY.includes('rlf')) {
      const { redis, counter } = await client(pipelined)
      const limiter = new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${RUN}:rlf-${tag}`,
        points: LIMIT,
        duration: 60,
      })
      contenders.push({
        name: 'rlf RateLimiterRedis',
        pipelined,
        redis,
        counter,
        call: async (i) => {
          await limiter.consume(ips[i % IPS]) // rejects when over the limit
          return true
        },
      })
    }
  }
}

/** { calls, usec } per command name from INFO commandstats. */
async function commandStats(stats) {
  const out = new Map()
  for (const line of (await stats.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)(?:.*?rejected_calls=(\d+))?/.exec(
      line.trim(),
    )
    if (m) out.set(m[1], { calls: Number(m[2]) + Number(m[4] ?? 0), usec: Number(m[3]) })
  }
  return out
}
const SCRIPT_COMMANDS = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro'])

/** CPU µs used so far by the Redis process, when it runs on this machine (Linux /proc). */
let redisPid
function redisCpuUs() {
  if (redisPid === undefined) return undefined
  try {
    const fields = readFileSync(`/proc/${redisPid}/stat`, 'utf8').split(') ')[1].split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100 // utime + stime, USER_HZ 100
  } catch {
    return undefined
  }
}

async function runFor(contender, seconds) {
  const end = performance.now() + seconds * 1000
  let next = Math.floor(Math.random() * IPS)
  let done = 0
  let denied = 0
  let errors = 0
  let firstError
  const worker = async () => {
    while (performance.now() < end) {
      try {
        if (await contender.call(next++)) done++
        else denied++
      } catch (error) {
        errors++
        firstError ??= error
      }
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const elapsed = (performance.now() - start) / 1000
  if (errors > 0) console.error(`${contender.name}: ${errors} errors, first:`, firstError)
  return { decisions: done + denied, denied, errors, elapsed }
}

async function measuredRound(contender, stats) {
  const before = await commandStats(stats)
  const writes0 = contender.counter.writes
  const cpu0 = process.cpuUsage()
  const redisCpu0 = redisCpuUs()
  const r = await runFor(contender, SECONDS)
  const cpu = process.cpuUsage(cpu0)
  const redisCpu = redisCpu0 === undefined ? undefined : redisCpuUs() - redisCpu0
  const after = await commandStats(stats)
  let scripts = 0
  let scriptUsec = 0
  let total = 0
  for (const [name, now] of after) {
    if (name === 'info') continue
    const then = before.get(name) ?? { calls: 0, usec: 0 }
    total += now.calls - then.calls
    if (SCRIPT_COMMANDS.has(name)) {
      scripts += now.calls - then.calls
      scriptUsec += now.usec - then.usec
    }
  }
  return {
    perSecond: r.decisions / r.elapsed,
    scriptsPerDecision: scripts / r.decisions,
    commandsPerDecision: total / r.decisions,
    writesPerDecision: (contender.counter.writes - writes0) / r.decisions,
    // Redis time inside the script per call (commandstats usec), and this process's CPU.
    serverUsPerScript: scripts > 0 ? scriptUsec / scripts : 0,
    clientUsPerDecision: (cpu.user + cpu.system) / r.decisions,
    redisCpuUsPerDecision: redisCpu === undefined ? NaN : redisCpu / r.decisions,
    denied: r.denied,
    errors: r.errors,
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function cleanUp(stats) {
  let cursor = '0'
  let removed = 0
  do {
    const [next, keys] = await stats.scan(cursor, 'MATCH', `${RUN}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) removed += await stats.unlink(...keys)
  } while (cursor !== '0')
  return removed
}

async function main() {
  const stats = new Redis(REDIS_URL)
  try {
    await setUp()
    const server = await stats.info('server')
    const version = /redis_version:(\S+)/.exec(server)?.[1]
    if (/^redis:\/\/(127\.0\.0\.1|localhost)[:/]/.test(REDIS_URL)) {
      redisPid = /process_id:(\d+)/.exec(server)?.[1]
    }
    console.log(
      `Redis ${version} at ${REDIS_URL}; node ${process.version}; ${CONCURRENCY} in flight; ` +
        `${IPS} client IPs; ${ROUNDS} rounds x ${SECONDS}s per contender, interleaved`,
    )
    for (const c of contenders) await runFor(c, WARMUP_SECONDS)
    const results = new Map(contenders.map((c) => [c, []]))
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? contenders : [...contenders].reverse()
      for (const c of order) {
        const r = await measuredRound(c, stats)
        results.get(c).push(r)
        console.log(
          `  round ${round + 1}  ${c.name.padEnd(24)} pipelining ${c.pipelined ? 'on ' : 'off'}  ` +
            `${Math.round(r.perSecond).toLocaleString('en-US').padStart(8)} /s`,
        )
      }
    }
    console.log()
    const rows = contenders.map((c) => {
      const rs = results.get(c)
      return {
        contender: c.name,
        autopipelining: c.pipelined ? 'on' : 'off',
        'median /s': Math.round(median(rs.map((r) => r.perSecond))).toLocaleString('en-US'),
        rounds: rs.map((r) => Math.round(r.perSecond).toLocaleString('en-US')).join(' | '),
        'scripts/dec': median(rs.map((r) => r.scriptsPerDecision)).toFixed(3),
        'cmds/dec (+in Lua)': median(rs.map((r) => r.commandsPerDecision)).toFixed(3),
        'writes/dec': median(rs.map((r) => r.writesPerDecision)).toFixed(3),
        'Redis µs/script': median(rs.map((r) => r.serverUsPerScript)).toFixed(2),
        'node CPU µs/dec': median(rs.map((r) => r.clientUsPerDecision)).toFixed(2),
        'Redis CPU µs/dec': median(rs.map((r) => r.redisCpuUsPerDecision)).toFixed(2),
        'denied+errors': rs.reduce((n, r) => n + r.denied + r.errors, 0),
      }
    })
    console.table(rows)
  } finally {
    const removed = await cleanUp(stats).catch(() => 0)
    console.log(`removed ${removed} bench keys`)
    for (const c of contenders) c.redis.disconnect()
    stats.disconnect()
  }
}

await main()
