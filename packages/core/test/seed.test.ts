// The seed scenarios of the product, through engine.decide only.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createEngine, MemoryStore, type DecisionEvent, type RequestInput } from '../src/index.js'

const hash = (key: string) => createHash('sha256').update(key).digest('hex')

function seedEngine(now: () => number = () => 1_700_000_000_000) {
  const events: DecisionEvent[] = []
  const engine = createEngine(
    {
      version: 1,
      log: 'all',
      rules: [
        { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot', 'ScraperBot'] },
        {
          id: 'keys',
          type: 'apiKey',
          paths: ['/secure-endpoint'],
          keys: [{ id: 'svc-a', sha256: hash('secure-key-123') }],
        },
        {
          id: 'secure-limit',
          type: 'rateLimit',
          paths: ['/secure-endpoint'],
          by: 'ip',
          limit: 10,
          window: '1m',
        },
      ],
    },
    { store: new MemoryStore({ now }), onDecision: (e) => events.push(e) },
  )
  return { engine, events }
}

const req = (over: Partial<RequestInput> = {}): RequestInput => ({
  method: 'GET',
  url: '/secure-endpoint',
  headers: { 'user-agent': 'Mozilla/5.0', 'x-api-key': 'secure-key-123' },
  remoteAddress: '203.0.113.7',
  ...over,
})

describe('seed scenarios', () => {
  it('logs one event for every request, allowed or denied', async () => {
    const { engine, events } = seedEngine()
    await engine.decide(req())
    await engine.decide(req({ headers: { 'user-agent': 'BadBot/1.0' } }))
    await engine.decide(req({ url: '/%zz' }))
    expect(events.map((e) => [e.status, e.code])).toEqual([
      [200, 'allowed'],
      [403, 'userAgent.denied'],
      [400, 'request.invalid'],
    ])
    expect(events[0]).toMatchObject({
      method: 'GET',
      path: '/secure-endpoint',
      clientIp: '203.0.113.7',
      userAgent: 'Mozilla/5.0',
      apiKeyId: 'svc-a',
    })
    expect(JSON.stringify(events)).not.toContain('secure-key-123')
  })

  it('accepts X-API-KEY secure-key-123 only through its hash', async () => {
    const { engine } = seedEngine()
    const ok = await engine.decide(req({ headers: { 'x-api-key': 'secure-key-123' } }))
    expect(ok).toMatchObject({ allowed: true, status: 200, apiKeyId: 'svc-a' })
    const wrong = await engine.decide(req({ headers: { 'x-api-key': 'secure-key-124' } }))
    expect(wrong).toMatchObject({
      allowed: false,
      status: 401,
      code: 'apiKey.invalid',
      ruleId: 'keys',
    })
    expect(wrong.headers['WWW-Authenticate']).toContain('invalid_token')
    const missing = await engine.decide(req({ headers: {} }))
    expect(missing).toMatchObject({ status: 401, code: 'apiKey.missing' })
    const bearer = await engine.decide(req({ headers: { authorization: 'bearer secure-key-123' } }))
    expect(bearer.allowed).toBe(true)
    // The hash itself is not a key.
    const hashAsKey = await engine.decide(req({ headers: { 'x-api-key': hash('secure-key-123') } }))
    expect(hashAsKey.code).toBe('apiKey.invalid')
    // Twice, even the right key twice, is invalid.
    const twice = await engine.decide(
      req({ headers: { 'x-api-key': ['secure-key-123', 'secure-key-123'] } }),
    )
    expect(twice.code).toBe('apiKey.invalid')
    const disagree = await engine.decide(
      req({ headers: { 'x-api-key': 'secure-key-123', authorization: 'Bearer other' } }),
    )
    expect(disagree.code).toBe('apiKey.invalid')
  })

  it('denies BadBot and ScraperBot, whatever their case', async () => {
    const { engine } = seedEngine()
    for (const ua of [
      'BadBot/1.0',
      'Mozilla/5.0 (compatible; ScraperBot)',
      'badbot',
      'SCRAPERBOT 2',
    ]) {
      const d = await engine.decide(req({ url: '/', headers: { 'user-agent': ua } }))
      expect(d, ua).toMatchObject({
        allowed: false,
        status: 403,
        code: 'userAgent.denied',
        ruleId: 'bots',
      })
    }
    const fine = await engine.decide(req({ url: '/', headers: { 'user-agent': 'GoodBot' } }))
    expect(fine.allowed).toBe(true)
  })

  it('allows 10 requests a minute on /secure-endpoint and answers the 11th with 429', async () => {
    let now = 1_700_000_000_000
    const { engine } = seedEngine(() => now)
    for (let i = 1; i <= 10; i++) {
      const d = await engine.decide(req())
      expect(d.status, `request ${i}`).toBe(200)
      expect(d.headers['RateLimit']).toMatch(new RegExp(`"secure-limit";r=${10 - i};t=\\d+`))
      expect(d.headers['RateLimit-Policy']).toBe('"secure-limit";q=10;w=60')
    }
    const eleventh = await engine.decide(req())
    expect(eleventh).toMatchObject({
      allowed: false,
      status: 429,
      code: 'rateLimit.exceeded',
      ruleId: 'secure-limit',
    })
    expect(Number(eleventh.headers['Retry-After'])).toBeGreaterThan(0)
    expect(Number(eleventh.headers['Retry-After'])).toBeLessThanOrEqual(60)
    // Another client has its own limit.
    expect((await engine.decide(req({ remoteAddress: '203.0.113.8' }))).status).toBe(200)
    // A minute later the first client is back.
    now += 60_000
    expect((await engine.decide(req())).status).toBe(200)
  })
})
