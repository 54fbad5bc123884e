// Starts the demo as a newcomer would (node start.mjs), sends real requests to all four
// services, and stops it with SIGINT.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'

const running: ChildProcess[] = []
afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.exitCode === null) {
      child.kill('SIGINT')
      await new Promise((r) => child.once('exit', r))
    }
  }
})

interface Demo {
  child: ChildProcess
  out: string[]
  base: number
}

let nextBase = 4301 + Math.floor(Math.random() * 400) * 10

function startDemo(env: Record<string, string> = {}): Promise<Demo> {
  const base = (nextBase += 10)
  const child = spawn(process.execPath, ['start.mjs'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, DEMO_PORT: String(base), REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.push(child)
  const out: string[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`demo did not start:\n${out.join('')}`)),
      20_000,
    )
    const collect = (d: Buffer) => {
      out.push(d.toString())
      if (out.join('').includes('Ctrl-C stops all four')) {
        clearTimeout(timer)
        resolve({ child, out, base })
      }
    }
    child.stdout!.on('data', collect)
    child.stderr!.on('data', collect)
    child.on('exit', (code) => reject(new Error(`demo exited ${code}:\n${out.join('')}`)))
  })
}

const url = (base: number, i: number, path: string) => `http://127.0.0.1:${base + i}${path}`
const browser = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
}

describe('apps/demo', () => {
  it('prints the URLs and curl lines, enforces the policy on all four, logs JSON, stops on Ctrl-C', async () => {
    const { child, out, base } = await startDemo()
    const banner = out.join('')
    for (let i = 0; i < 4; i++) expect(banner).toContain(`http://127.0.0.1:${base + i}`)
    expect(banner).toMatch(/curl -i/)
    for (let i = 0; i < 4; i++) {
      const get = (path: string, headers: Record<string, string> = {}) =>
        fetch(url(base, i, path), { headers: { ...browser, ...headers } })
      expect((await get('/')).status).toBe(200)
      expect((await get('/health')).status).toBe(200)
      expect((await get('/api/orders')).status).toBe(401)
      const orders = await get('/api/orders', { 'x-api-key': 'demo-key-orders' })
      expect(orders.status).toBe(200)
      expect(orders.headers.get('ratelimit')).toMatch(/"api-limit";r=\d+/)
      expect((await get('/api/orders', { 'x-api-key': 'demo-key-reports' })).status).toBe(403)
      expect((await get('/%61dmin')).status).toBe(403)
      expect((await get('/', { 'user-agent': 'BadBot/1.0' })).status).toBe(403)
      expect((await get('/', { 'user-agent': 'GPTBot/1.0' })).status).toBe(403)
      expect((await get('/', { 'user-agent': 'curl/8.4.0' })).status).toBe(200) // monitored only
      expect((await get('/', { 'x-country': 'XX' })).status).toBe(451)
      expect((await get('/', { 'x-forwarded-for': '198.51.100.9' })).status).toBe(403)
      const logins: number[] = []
      for (let n = 0; n < 6; n++)
        logins.push(
          (await fetch(url(base, i, '/login'), { method: 'POST', headers: browser })).status,
        )
      // Memory store: each service has its own /login limit.
      expect(logins).toEqual([200, 200, 200, 200, 200, 429])
    }
    await new Promise((r) => setTimeout(r, 200))
    const lines = out
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
    const events = lines.map(
      (l) =>
        JSON.parse(l) as {
          service: string
          decision?: { status: number; ruleId?: string; monitored?: string[] }
        },
    )
    for (const name of ['express', 'fastify', 'koa', 'hono']) {
      expect(
        events.some((e) => e.service === `${name}-service` && e.decision?.status === 429),
      ).toBe(true)
    }
    expect(events.some((e) => e.decision?.monitored?.includes('watch-tools'))).toBe(true)
    // The banner shows the demo keys for curl; the decision log never holds a key.
    expect(lines.join('\n')).not.toContain('demo-key-orders')
    expect(lines.some((l) => l.includes('"apiKeyId":"orders-service"'))).toBe(true)
    child.kill('SIGINT')
    const code = await new Promise((r) => child.once('exit', r))
    expect(code).toBe(0)
  })

  it('with REDIS_URL the four services share one /login limit', async () => {
    const { base } = await startDemo({
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      SEC_REDIS_PREFIX: `sec-demo-test:${randomUUID()}:`,
    })
    const statuses: number[] = []
    for (let n = 0; n < 8; n++) {
      const res = await fetch(url(base, n % 4, '/login'), { method: 'POST', headers: browser })
      statuses.push(res.status)
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
  })
})
