// Core micro-benchmarks (mitata): what one decision costs without any framework or socket.
//   node core.mjs [--quick] [--json]      (the runner uses --json; progress goes to stderr)
// The memory part runs in its own child with --expose-gc, so the heap it reports holds the
// store and nothing the other benchmarks left behind.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createEngine, MemoryStore } from '@sec/core'
import { do_not_optimize, measure } from 'mitata'
import { decisionLogger } from './servers/common.mjs'

const args = new Set(process.argv.slice(2))
const QUICK = args.has('--quick')
const sha256 = (k) => createHash('sha256').update(k).digest('hex')
const log = (...a) => console.error(...a)

const BROWSER =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'

/** The seed policy, with a limit the bench never reaches (we time the check, not the 429). */
const seedPolicy = (log) => ({
  version: 1,
  log,
  rules: [
    { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot', 'ScraperBot'] },
    {
      id: 'keys',
      type: 'apiKey',
      paths: ['/secure-endpoint'],
      keys: [{ id: 'svc-a', sha256: sha256('secure-key-123') }],
    },
    {
      id: 'secure-limit',
      type: 'rateLimit',
      paths: ['/secure-endpoint'],
      by: 'ip',
      limit: 1e9,
      window: '1m',
    },
  ],
})

const seedInput = (remoteAddress) => ({
  method: 'GET',
  url: '/secure-endpoint?page=2',
  headers: {
    host: 'api.example.com',
    'user-agent': BROWSER,
    'x-api-key': 'secure-key-123',
    accept: 'application/json',
  },
  remoteAddress,
})

const ip4 = (i) => `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`

/** Each case: name, what it shows, and fn (sync or async) that makes one decision. */
async function cases() {
  const list = []
  const expectAllowed = async (engine, input, label) => {
    const d = await engine.decide(input)
    if (d.status !== 200) throw new Error(`${label}: expected 200, got ${d.status} ${d.code}`)
  }

  // Seed policy, one client: a valid key on the protected path (every rule does its work).
  const seed = createEngine(seedPolicy('none'))
  const one = seedInput('203.0.113.7')
  await expectAllowed(seed, one, 'seed')
  list.push({
    name: 'decide: seed policy, 1 client (await decide)',
    fn: async () => do_not_optimize(await seed.decide(one)),
  })
  list.push({
    name: 'decide: seed policy, 1 client (evaluate, sync path)',
    fn: () => do_not_optimize(seed.evaluate(one)),
  })

  // The same over 10,000 client addresses: the store holds 10,000 counters, lookups miss caches.
  const many = Array.from({ length: 10_000 }, (_, i) => seedInput(ip4(i)))
  for (const input of many) await seed.decide(input)
  let k = 0
  list.push({
    name: 'decide: seed policy, 10,000 clients (await decide)',
    fn: async () => do_not_optimize(await seed.decide(many[k++ % 10_000])),
  })

  // Seed policy with its JSON log line, as the HTTP servers log it (servers/common.mjs).
  const logged = createEngine(seedPolicy('all'), { onDecision: await decisionLogger() })
  list.push({
    name: 'decide: seed policy + JSON log line (/dev/null)',
    fn: async () => do_not_optimize(await logged.decide(one)),
  })
  // The same with pino's own serializer and per-line write, for comparison.
  const { default: pino } = await import('pino')
  const logger = pino(pino.destination('/dev/null'))
  const pinoLogged = createEngine(seedPolicy('all'), { onDecision: (e) => logger.info(e) })
  list.push({
    name: 'decide: seed policy + pino.info line (/dev/null)',
    fn: async () => do_not_optimize(await pinoLogged.decide(one)),
  })

  // An ip rule with 100,000 CIDRs (merged into sorted ranges, binary search), 1,024 clients.
  const cidrs = []
  for (let i = 0; i < 100_000; i++)
    cidrs.push(`${((i >> 8) & 255) | 1}.${i & 255}.${(i * 7) & 255}.0/24`)
  const t0 = performance.now()
  const ipEngine = createEngine({
    version: 1,
    log: 'none',
    rules: [{ id: 'block', type: 'ip', action: 'deny', ips: cidrs }],
  })
  const compileMs = performance.now() - t0
  const clients = Array.from({ length: 1024 }, (_, i) => ({
    method: 'GET',
    url: '/',
    headers: { 'user-agent': BROWSER },
    remoteAddress: `${(i * 37) & 255}.${(i * 11) & 255}.${i & 255}.${(i * 3) & 255}`,
  }))
  let j = 0
  list.push({
    name: `decide: ip rule, 100,000 CIDRs (compiled in ${Math.round(compileMs)} ms)`,
    fn: async () => do_not_optimize(await ipEngine.decide(clients[j++ & 1023])),
  })

  // Path canonicalisation: no rules (the request model alone), then one path deny rule, which
  // must match every form a router could route (decode, dot segments, //, case, trailing /).
  const plain = {
    method: 'GET',
    url: '/api/orders/123?page=2',
    headers: { 'user-agent': BROWSER },
    remoteAddress: '203.0.113.7',
  }
  const encoded = { ...plain, url: '/%61pi//Orders/./x/%2e%2e/123/?page=2' }
  const empty = createEngine({ version: 1, log: 'none', rules: [] })
  const pathRule = createEngine({
    version: 1,
    log: 'none',
    rules: [{ id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] }],
  })
  await expectAllowed(pathRule, encoded, 'path rule, encoded')
  list.push({
    name: 'decide: no rules, plain path',
    fn: async () => do_not_optimize(await empty.decide(plain)),
  })
  list.push({
    name: 'decide: no rules, encoded path',
    fn: async () => do_not_optimize(await empty.decide(encoded)),
  })
  list.push({
    name: 'decide: one path rule, plain path',
    fn: async () => do_not_optimize(await pathRule.decide(plain)),
  })
  list.push({
    name: 'decide: one path rule, encoded path',
    fn: async () => do_not_optimize(await pathRule.decide(encoded)),
  })
  return list
}

/** Child part: 1,000,000 distinct clients through a rate-limit rule on a MemoryStore. */
async function memoryChild() {
  const gc = globalThis.gc
  if (typeof gc !== 'function') throw new Error('run with node --expose-gc')
  const N = 1_000_000
  // Inputs are made per iteration and dropped, so the heap after GC holds the store only.
  gc()
  const before = process.memoryUsage()
  const store = new MemoryStore({ maxKeys: N })
  const engine = createEngine(
    {
      version: 1,
      log: 'none',
      // A day-long window: fixed windows are aligned to the clock, and a one-minute window
      // that rolled over during the fill let the sweep reclaim the keys of the minute before
      // (a run measured 418k live keys instead of 1,000,000).
      rules: [{ id: 'limit', type: 'rateLimit', by: 'ip', limit: 100, window: '1d' }],
    },
    { store },
  )
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    const d = engine.evaluate({ method: 'GET', url: '/', headers: {}, remoteAddress: ip4(i) })
    if (d instanceof Promise || !d.allowed) throw new Error('expected a synchronous allow')
  }
  const seconds = (performance.now() - t0) / 1000
  if (store.size !== N) throw new Error(`expected ${N} live keys, the store holds ${store.size}`)
  gc()
  const after = process.memoryUsage()
  const mb = (x) => x / 1024 / 1024
  return {
    clients: N,
    storeSize: store.size,
    heapMb: mb(after.heapUsed - before.heapUsed),
    arrayBuffersMb: mb(after.arrayBuffers - before.arrayBuffers),
    rssMb: mb(after.rss),
    insertsPerSecond: N / seconds,
  }
}

async function main() {
  if (args.has('--memory-child')) {
    process.stdout.write(JSON.stringify(await memoryChild()) + '\n')
    return
  }
  // mitata's budget per case: enough samples for a stable median, bounded in time.
  const minCpuTime = (QUICK ? 150 : 1000) * 1e6
  const results = []
  for (const c of await cases()) {
    const s = await measure(c.fn, { min_cpu_time: minCpuTime })
    const row = {
      name: c.name,
      perSecond: 1e9 / s.avg,
      avgNs: s.avg,
      p50Ns: s.p50,
      p99Ns: s.p99,
      samples: s.ticks,
    }
    results.push(row)
    log(
      `  ${row.name.padEnd(58)} ${Math.round(row.perSecond).toLocaleString('en-US').padStart(11)} /s  p99 ${Math.round(s.p99)} ns`,
    )
  }
  log('  memory: 1,000,000 distinct clients (child process, --expose-gc)…')
  const memory = JSON.parse(
    execFileSync(
      process.execPath,
      ['--expose-gc', fileURLToPath(import.meta.url), '--memory-child'],
      {
        encoding: 'utf8',
        timeout: 120_000,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ),
  )
  log(
    `  memory: ${memory.storeSize.toLocaleString('en-US')} keys: heap +${memory.heapMb.toFixed(1)} MB, ` +
      `array buffers +${memory.arrayBuffersMb.toFixed(1)} MB`,
  )
  if (args.has('--json'))
    process.stdout.write(JSON.stringify({ results, memory, minCpuTimeMs: minCpuTime / 1e6 }) + '\n')
}

await main()
