// Starts the four demo services (Express, Fastify, Koa, Hono), one process each, all reading
// policy.json. `DEMO_PORT` moves the first port (default 3001); `REDIS_URL` makes them share
// one RedisStore, so /login has one limit across all four.
import { fork } from 'node:child_process'

const base = Number(process.env.DEMO_PORT ?? 3001)
const frameworks = ['express', 'fastify', 'koa', 'hono']
const services = frameworks.map((framework, i) => ({ framework, port: base + i }))
const store = process.env.REDIS_URL
  ? `RedisStore at ${process.env.REDIS_URL} (shared)`
  : 'MemoryStore (one per service)'

const children = services.map(({ framework, port }) =>
  fork(new URL('./service.mjs', import.meta.url), [framework, String(port)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  }),
)

let ready = 0
for (const child of children) {
  child.on('message', (message) => {
    if (message?.ready && ++ready === children.length) banner()
  })
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`a demo service exited (code ${code}); stopping the others`)
      stop(1)
    }
  })
}

function banner() {
  const url = (i) => `http://127.0.0.1:${services[i].port}`
  const lines = [
    '',
    'sec demo: four services, one policy (apps/demo/policy.json)',
    `  store: ${store}`,
    ...services.map((s, i) => `  ${s.framework.padEnd(8)} ${url(i)}`),
    '',
    'Try (any port):',
    `  curl -i ${url(0)}/                                              # 200`,
    `  curl -i ${url(1)}/api/orders                                    # 401 apiKey.missing`,
    `  curl -i -H 'x-api-key: demo-key-orders' ${url(2)}/api/orders     # 200, RateLimit headers`,
    `  curl -i -H 'x-api-key: demo-key-reports' ${url(3)}/api/orders    # 403 apiKey.scope`,
    `  curl -i ${url(0)}/%61dmin                                       # 403 path.denied`,
    `  curl -i -A 'BadBot/1.0' ${url(1)}/                               # 403 userAgent.denied`,
    `  curl -i -H 'x-country: XX' ${url(2)}/                            # 451 country.blocked (custom rule)`,
    `  for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' -X POST ${url(3)}/login; done   # 200 x5, then 429`,
    '',
    'Every decision is logged below as one JSON line. Ctrl-C stops all four.',
    '',
  ]
  console.log(lines.join('\n'))
}

let stopping = false
function stop(code = 0) {
  if (stopping) return
  stopping = true
  let alive = children.filter((c) => c.exitCode === null && c.signalCode === null).length
  if (alive === 0) process.exit(code)
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    child.once('exit', () => {
      if (--alive === 0) process.exit(code)
    })
    child.kill('SIGTERM')
  }
  setTimeout(() => process.exit(code), 5000).unref()
}
process.on('SIGINT', () => stop(0))
process.on('SIGTERM', () => stop(0))
