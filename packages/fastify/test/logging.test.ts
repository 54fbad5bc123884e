import Fastify from 'fastify'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createEngine } from '@sec/core'
import type { DecisionEvent } from '@sec/core'
import { afterAll, describe, expect, it } from 'vitest'
import { sec } from '../dist/index.js'
import { API_KEY, listen, policy } from './helpers.js'

const apps: FastifyInstance[] = []
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()))
})

interface LogLine {
  level: number
  msg: string
  reqId?: string
  sec?: DecisionEvent
}

/** An app logging (pino, JSON lines) into an array. */
function loggedApp(level = 'info') {
  const raw: string[] = []
  const app = Fastify({ logger: { level, stream: { write: (line: string) => raw.push(line) } } })
  apps.push(app)
  const lines = () => raw.map((line) => JSON.parse(line) as LogLine)
  return { app, raw, lines }
}

describe('default logging', () => {
  it('logs each decision through request.log, and never the API key', async () => {
    const { app, raw, lines } = loggedApp()
    await app.register(sec, { policy })
    app.get('/api/orders', () => 'orders')
    app.get('/hello', () => 'hello')
    const url = await listen(app)

    expect((await fetch(`${url}/hello`, { headers: { 'user-agent': 'test-agent' } })).status).toBe(
      200,
    )
    expect((await fetch(`${url}/api/orders`, { headers: { 'x-api-key': API_KEY } })).status).toBe(
      200,
    )
    const bearer = await fetch(`${url}/api/orders`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    })
    expect(bearer.status).toBe(200)
    const wrongKey = `${API_KEY}-wrong`
    expect((await fetch(`${url}/api/orders`, { headers: { 'x-api-key': wrongKey } })).status).toBe(
      401,
    )
    expect((await fetch(`${url}/admin`)).status).toBe(403)

    const decisions = lines().filter((line) => line.sec !== undefined)
    expect(decisions).toHaveLength(5)
    for (const line of decisions) {
      expect(line.msg).toBe('sec decision')
      expect(line.reqId).toEqual(expect.any(String)) // the request's child logger
    }
    const [hello, withKey, , wrong, admin] = decisions
    expect(hello).toMatchObject({
      level: 30,
      sec: { path: '/hello', allowed: true, status: 200, userAgent: 'test-agent' },
    })
    expect(withKey).toMatchObject({ level: 30, sec: { apiKeyId: 'svc-a', code: 'allowed' } })
    expect(wrong).toMatchObject({
      level: 40,
      sec: { allowed: false, status: 401, code: 'apiKey.invalid' },
    })
    expect(admin).toMatchObject({
      level: 40,
      sec: { status: 403, code: 'path.denied', ruleId: 'no-admin' },
    })

    expect(raw.length).toBeGreaterThan(5)
    for (const line of raw) {
      expect(line).not.toContain(API_KEY)
    }
  })

  it('logs the path without its query string', async () => {
    const { app, lines } = loggedApp()
    await app.register(sec, { policy })
    app.get('/hello', () => 'hello')
    const url = await listen(app)
    await fetch(`${url}/hello?api_key=${API_KEY}&token=secret`)
    const [line, ...rest] = lines().filter((l) => l.sec !== undefined)
    expect(rest).toEqual([])
    expect(line?.sec?.path).toBe('/hello')
    // (Fastify's own "incoming request" line logs the full URL: keep keys out of URLs.)
    expect(JSON.stringify(line)).not.toContain(API_KEY)
  })

  it('follows the policy log level ("denied") and the logger level', async () => {
    const { app, lines } = loggedApp('warn')
    await app.register(sec, { policy: { ...policy, log: 'denied' } })
    app.get('/hello', () => 'hello')
    const url = await listen(app)
    await fetch(`${url}/hello`)
    await fetch(`${url}/admin`)
    const decisions = lines().filter((line) => line.sec !== undefined)
    expect(decisions.map((line) => line.sec?.code)).toEqual(['path.denied'])
  })

  it("asks each request's own logger: a route's logLevel turns its lines on", async () => {
    const { app, lines } = loggedApp('warn')
    await app.register(sec, { policy })
    app.get('/hello', () => 'hello')
    app.get('/traced', { logLevel: 'info' }, () => 'traced')
    const url = await listen(app)
    await fetch(`${url}/hello`)
    await fetch(`${url}/traced`)
    await fetch(`${url}/admin`)
    const decisions = lines().filter((line) => line.sec !== undefined)
    expect(decisions.map((line) => [line.level, line.sec?.path])).toEqual([
      [30, '/traced'],
      [40, '/admin'],
    ])
  })

  it("with Fastify's logger off, an app's own onDecision still gets every decision", async () => {
    const app = Fastify()
    apps.push(app)
    const events: DecisionEvent[] = []
    await app.register(sec, { policy, onDecision: (event) => events.push(event) })
    app.get('/hello', () => 'hello')
    const url = await listen(app)
    await fetch(`${url}/hello`)
    await fetch(`${url}/admin`)
    expect(events.map((e) => e.code)).toEqual(['allowed', 'path.denied'])
  })

  it('an onDecision option replaces it and receives the Fastify request', async () => {
    const { app, lines } = loggedApp()
    const seen: [DecisionEvent, unknown][] = []
    await app.register(sec, { policy, onDecision: (event, request) => seen.push([event, request]) })
    app.get('/hello', (request) => {
      expect(seen.at(-1)?.[1]).toBe(request)
      return (request as FastifyRequest).id
    })
    const url = await listen(app)
    expect((await fetch(`${url}/hello`)).status).toBe(200)
    expect(seen).toHaveLength(1)
    expect(seen[0]?.[0]).toMatchObject({ path: '/hello', allowed: true })
    expect(lines().filter((line) => line.sec !== undefined)).toEqual([])
  })

  it('with { engine }, the engine keeps its own sink and nothing is added', async () => {
    const { app, lines } = loggedApp()
    const events: DecisionEvent[] = []
    await app.register(sec, { engine: createEngine(policy, { onDecision: (e) => events.push(e) }) })
    app.get('/hello', () => 'hello')
    const url = await listen(app)
    await fetch(`${url}/hello`)
    expect(events).toHaveLength(1)
    expect(lines().filter((line) => line.sec !== undefined)).toEqual([])
  })
})
