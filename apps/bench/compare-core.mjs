// Before/after for @sec/core in one run: the same decisions through two builds, alternated.
//   node apps/bench/compare-core.mjs <before/dist/index.js> <after/dist/index.js> [--runs 3] [--n 1000000]
//   [--cases 'seed,rate limit (async store)'] (a subset, comma-separated)
// Build the "before" from a worktree: `git worktree add /tmp/before <commit>`, then `pnpm install
// --offline && pnpm build` there. Each measurement runs in a fresh child (its own JIT and heap);
// requests are shaped as adapters hand them over (Node's rawHeaders, a browser user agent).
import { Buffer } from 'node:buffer'
import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { rateLimitPolicy, seedPolicy } from './servers/common.mjs'

const BROWSER =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const CASES = [
  'rate limit',
  'seed',
  'seed, secure endpoint',
  'seed + log line',
  'rate limit (async store)',
]

async function child(corePath, caseName, n) {
  const { default: pino } = await import('pino')
  const { createEngine, formatDecisionEvent, MemoryStore } = await import(corePath)
  const dest = pino.destination({ dest: '/dev/null', minLength: 4096, sync: true })
  const logged = caseName === 'seed + log line'
  // What the engine adds around a store that answers with a promise (as RedisStore does),
  // without the network: a MemoryStore behind an already-resolved promise.
  const async = caseName === 'rate limit (async store)'
  const memory = new MemoryStore()
  const asyncStore = { consume: (checks) => Promise.resolve(memory.consume(checks)) }
  // The HTTP bench's policies: the seed's rate limit applies to every path and never denies.
  const engine = createEngine(
    caseName.startsWith('rate limit')
      ? rateLimitPolicy
      : { ...seedPolicy, log: logged ? 'all' : 'none' },
    logged
      ? { onDecision: (e) => dest.write(formatDecisionEvent(e) + '\n') }
      : async
        ? { store: asyncStore }
        : {},
  )
  // Fresh strings per request, as an HTTP parser gives them.
  const text = (t) => Buffer.from(t).toString('latin1')
  const secure = caseName === 'seed, secure endpoint'
  const inputs = Array.from({ length: 1024 }, () => ({
    method: 'GET',
    url: secure ? text('/secure-endpoint?page=2') : '/',
    headers: secure
      ? [
          'host',
          text('api.example.com'),
          'user-agent',
          text(BROWSER),
          'x-api-key',
          text('secure-key-123'),
        ]
      : ['host', text('127.0.0.1:3000'), 'user-agent', text(BROWSER), 'accept', '*/*'],
    remoteAddress: '203.0.113.7',
  }))
  let sink = 0
  const times = []
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now()
    if (async) {
      // 50 decisions in flight, as under HTTP load; CPU time, since nothing waits on I/O.
      const worker = async (w) => {
        for (let i = w; i < n; i += 50) sink += (await engine.evaluate(inputs[i & 1023])).status
      }
      await Promise.all(Array.from({ length: 50 }, (_, w) => worker(w)))
    } else {
      for (let i = 0; i < n; i++) sink += engine.evaluate(inputs[i & 1023]).status
    }
    times.push(((performance.now() - t0) * 1e6) / n)
  }
  if (sink !== 200 * 5 * n) throw new Error('a decision was not a 200')
  times.sort((a, b) => a - b)
  return times[2]
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '3' },
    n: { type: 'string', default: '1000000' },
    child: { type: 'string' },
    cases: { type: 'string' },
  },
})
if (values.child !== undefined) {
  process.stdout.write(String(await child(positionals[0], values.child, Number(values.n))))
} else {
  if (positionals.length !== 2) {
    console.error(
      'usage: node compare-core.mjs <before core dist/index.js> <after core dist/index.js> [--runs 3] [--n 1000000]',
    )
    process.exit(2)
  }
  const builds = positionals.map((p) => resolve(p))
  const self = fileURLToPath(import.meta.url)
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
  console.log('| case | before ns | after ns | after / before |\n| --- | ---: | ---: | ---: |')
  const only = values.cases?.split(',')
  for (const name of CASES.filter((c) => !only || only.includes(c))) {
    const ns = [[], []]
    for (let r = 0; r < Number(values.runs); r++) {
      for (const b of r % 2 ? [1, 0] : [0, 1]) {
        const out = execFileSync(
          process.execPath,
          [self, builds[b], '--child', name, '--n', values.n],
          { encoding: 'utf8' },
        )
        ns[b].push(Number(out))
      }
    }
    const [before, after] = ns.map(median)
    console.log(
      `| ${name} | ${Math.round(before)} | ${Math.round(after)} | ${(after / before).toFixed(2)} |`,
    )
  }
}
