// Core micro-benchmarks for the issue numbers. Run: `pnpm --filter @sec/core bench`
// (after a build). Prints the median of several runs; single-threaded, no timers asserted.
//   node --expose-gc bench/decide.mjs [decide|cidr|keys|all]
import { createHash } from 'node:crypto'
import { createEngine, MemoryStore } from '../dist/index.js'

const which = process.argv[2] ?? 'all'
const sha256 = (k) => createHash('sha256').update(k).digest('hex')
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function rate(label, n, runs, fn) {
  const results = []
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint()
    fn(n)
    const s = Number(process.hrtime.bigint() - t0) / 1e9
    results.push(n / s)
  }
  console.log(
    `${label.padEnd(52)} ${Math.round(median(results)).toLocaleString('en-US').padStart(12)} /s  (median of ${runs})`,
  )
}

if (which === 'all' || which === 'decide') {
  const engine = createEngine({
    version: 1,
    log: 'none',
    rules: [
      { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot', 'ScraperBot'] },
      {
        id: 'keys',
        type: 'apiKey',
        paths: ['/secure-endpoint'],
        keys: [{ id: 'svc-a', sha256: sha256('secure-key-123') }],
      },
      { id: 'limit', type: 'rateLimit', paths: ['/secure-endpoint'], limit: 1e9, window: '1m' },
    ],
  })
  const input = {
    method: 'GET',
    url: '/secure-endpoint?page=2',
    headers: {
      host: 'api.example.com',
      'user-agent':
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      'x-api-key': 'secure-key-123',
      accept: 'application/json',
    },
    remoteAddress: '203.0.113.7',
  }
  const check = engine.evaluate(input)
  if (check.status !== 200) throw new Error(`seed request not allowed: ${check.code}`)
  rate('decide: seed policy (userAgent+apiKey+rateLimit)', 1_000_000, 7, (n) => {
    for (let i = 0; i < n; i++) engine.evaluate(input)
  })
  const logged = createEngine(engine.policy, { onDecision: () => {} })
  rate('decide: seed policy + onDecision event', 1_000_000, 7, (n) => {
    for (let i = 0; i < n; i++) logged.evaluate(input)
  })
}

if (which === 'all' || which === 'cidr') {
  const ips = []
  for (let i = 0; i < 100_000; i++)
    ips.push(`${((i >> 8) & 255) | 1}.${i & 255}.${(i * 7) & 255}.0/24`)
  const engine = createEngine({
    version: 1,
    log: 'none',
    rules: [{ id: 'block', type: 'ip', action: 'deny', ips }],
  })
  const inputs = []
  for (let i = 0; i < 1024; i++) {
    inputs.push({
      method: 'GET',
      url: '/',
      headers: {},
      remoteAddress: `${(i * 37) & 255}.${(i * 11) & 255}.${i & 255}.${(i * 3) & 255}`,
    })
  }
  rate('decide: ip rule with 100,000 CIDRs', 1_000_000, 7, (n) => {
    for (let i = 0; i < n; i++) engine.evaluate(inputs[i & 1023])
  })
}

if (which === 'all' || which === 'keys') {
  if (typeof globalThis.gc !== 'function') {
    console.log('memory: run with node --expose-gc to measure heap for 1,000,000 keys')
  } else {
    globalThis.gc()
    const before = process.memoryUsage().heapUsed
    const store = new MemoryStore()
    const checks = [{ key: '', algorithm: 'fixedWindow', limit: 100, windowMs: 60_000, cost: 1 }]
    for (let i = 0; i < 1_000_000; i++) {
      checks[0] = {
        key: `login:0:ip:${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}.${i % 7}`,
        algorithm: 'fixedWindow',
        limit: 100,
        windowMs: 60_000,
        cost: 1,
      }
      store.consume(checks)
    }
    globalThis.gc()
    const mb = (process.memoryUsage().heapUsed - before) / 1024 / 1024
    console.log(
      `memory: 1,000,000 live rate-limit keys in MemoryStore   ${mb.toFixed(1)} MB heap (size ${store.size})`,
    )
  }
}
