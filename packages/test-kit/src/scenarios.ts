// Scenarios an adapter's own test runs the same way whatever the framework (today @sec/express
// and @sec/koa, each on two major versions): an app with sec in front of a catch-all handler, a
// fresh app per scenario, real HTTP on loopback. Call adapterScenarios() inside the adapter's
// describe(); what differs between frameworks (how an app is built, the context option's
// argument, how the framework is told to trust a proxy) comes in the harness, and what only one
// framework has stays in that adapter's test file.
import { createEngine, PolicyError, type SecOptions } from '@sec/core'
import { expect, it } from 'vitest'
import {
  KEY,
  asyncStore,
  deadStore,
  failModePolicy,
  hangingStore,
  limitPolicy,
  perUserPolicy,
  policy,
  rules,
} from './fixtures.js'
import { get, raw } from './http.js'

/** An app under test, as the harness started it. */
export interface StartedApp {
  readonly port: number
  /** How many times the catch-all handler ran. */
  handled(): number
}

export interface AdapterHarness<Req, App> {
  /**
   * Starts an app: `setup(app)` (when given), then sec(options), then a catch-all handler that
   * counts its calls and answers 200 JSON `{ handled: true, code, allowed, apiKeyId, clientIp,
   * ip }` from the decision (`apiKeyId` null when absent) and the framework's own client ip.
   */
  readonly start: (options: SecOptions<Req>, setup?: (app: App) => void) => Promise<StartedApp>
  /** The adapter's sec(), for the options it must refuse. */
  readonly sec: (options: SecOptions<Req>) => unknown
  /** A context option that reads the user id from the `x-user` header. */
  readonly userContext: (req: Req) => { userId: string | undefined }
  /** Makes the framework trust X-Forwarded-For for its own client ip. */
  readonly trustProxy: (app: App) => void
  /** Silences the framework's own logging of a failed request (a 500), where it has any. */
  readonly quietErrors?: (app: App) => void
  /** The unhandled rejections the test file has seen (it listens for them itself). */
  readonly unhandled: readonly unknown[]
  /** Names, for the test titles: where the handler finds the decision, the framework's ip. */
  readonly names: { readonly decision: string; readonly ip: string }
}

export function adapterScenarios<Req, App>(harness: AdapterHarness<Req, App>): void {
  const { start, sec, names, unhandled } = harness

  it(`lets an allowed request through with ${names.decision} and RateLimit headers`, async () => {
    const app = await start({ policy, rules })
    const res = await get(app.port, '/api/orders?page=2', { 'x-api-key': KEY })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toMatchObject({
      handled: true,
      code: 'allowed',
      allowed: true,
      apiKeyId: 'svc-a',
      clientIp: '127.0.0.1',
    })
    expect(res.headers['ratelimit-policy']).toBe('"api-limit";q=3;w=60')
    expect(res.headers['ratelimit']).toMatch(/^"api-limit";r=2;t=\d+$/)
    expect(app.handled()).toBe(1)
  })

  it('denies a missing API key: 401, JSON body, WWW-Authenticate, handler never runs', async () => {
    const app = await start({ policy, rules })
    const res = await get(app.port, '/api/orders')
    expect(res.status).toBe(401)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
    const body = JSON.parse(res.body) as { error: string; message: string }
    expect(body).toEqual({ error: 'apiKey.missing', message: expect.any(String) })
    expect(body.message.length).toBeGreaterThan(0)
    expect(app.handled()).toBe(0)
  })

  it('denies over the limit: 429 with Retry-After', async () => {
    const app = await start({ policy, rules })
    for (let i = 0; i < 3; i++) {
      expect((await get(app.port, '/api/x', { 'x-api-key': KEY })).status).toBe(200)
    }
    const res = await get(app.port, '/api/x', { 'x-api-key': KEY })
    expect(res.status).toBe(429)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'rateLimit.exceeded' })
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
    expect(res.headers['ratelimit']).toMatch(/r=0/)
    expect(app.handled()).toBe(3)
  })

  it('denies every spelling of /admin sent raw', async () => {
    const app = await start({ policy, rules })
    for (const target of [
      '/admin',
      '/%61dmin',
      '//admin',
      '/ADMIN/',
      '/admin/x',
      '/x/..%2fadmin',
      '/%2561dmin',
    ]) {
      const res = await raw(app.port, target)
      expect([target, res.status]).toEqual([target, 403])
      expect(JSON.parse(res.body)).toMatchObject({ error: 'path.denied' })
    }
    expect(app.handled()).toBe(0)
    expect((await raw(app.port, '/administrator')).status).toBe(200)
  })

  it('refuses a target that cannot be canonicalised: 400', async () => {
    const app = await start({ policy, rules })
    const res = await raw(app.port, '/a%zz')
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'request.invalid' })
    expect(app.handled()).toBe(0)
  })

  it('sees a duplicated header (rawHeaders): two API keys are invalid', async () => {
    const app = await start({ policy, rules })
    const res = await raw(app.port, '/api/x', [
      ['X-Api-Key', KEY],
      ['X-Api-Key', KEY],
    ])
    expect(res.status).toBe(401)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'apiKey.invalid' })
    expect(app.handled()).toBe(0)
  })

  it(`uses the socket peer, not ${names.ip}; proxies are trusted by the policy`, async () => {
    const xff = { 'x-forwarded-for': '198.51.100.7' }
    const direct = await start({ policy, rules }, harness.trustProxy)
    const res = await get(direct.port, '/', xff)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toMatchObject({ ip: '198.51.100.7', clientIp: '127.0.0.1' })

    const behindProxy = await start(
      { policy: { ...policy, clientIp: { trustProxy: ['loopback'] } }, rules },
      harness.trustProxy,
    )
    const denied = await get(behindProxy.port, '/', xff)
    expect(denied.status).toBe(403)
    expect(JSON.parse(denied.body)).toMatchObject({ error: 'ip.denied' })
    expect(behindProxy.handled()).toBe(0)
  })

  it('shares one engine (one limit) across two apps', async () => {
    const engine = createEngine(limitPolicy)
    const a = await start({ engine })
    const b = await start({ engine })
    expect((await get(a.port, '/')).status).toBe(200)
    expect((await get(b.port, '/')).status).toBe(200)
    expect((await get(a.port, '/')).status).toBe(200)
    expect((await get(b.port, '/')).status).toBe(429)
    expect((await get(a.port, '/')).status).toBe(429)
    expect(a.handled() + b.handled()).toBe(3)
  })

  it('feeds the context option to a context:userId rate limit', async () => {
    const app = await start({ policy: perUserPolicy, context: harness.userContext })
    const alice = { 'x-user': 'alice' }
    expect((await get(app.port, '/', alice)).status).toBe(200)
    expect((await get(app.port, '/', alice)).status).toBe(200)
    expect((await get(app.port, '/', alice)).status).toBe(429)
    expect((await get(app.port, '/', { 'x-user': 'bob' })).status).toBe(200)
    expect(app.handled()).toBe(3)
  })

  it('treats a throwing context function as an app error: 500, handler never runs', async () => {
    const app = await start(
      {
        policy: perUserPolicy,
        context: () => {
          throw new Error('session store down')
        },
      },
      harness.quietErrors,
    )
    expect((await get(app.port, '/')).status).toBe(500)
    expect(app.handled()).toBe(0)
  })

  it('answers 503 when a custom rule throws, and keeps serving', async () => {
    const app = await start({ policy, rules })
    const res = await get(app.port, '/boom')
    expect(res.status).toBe(503)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'rule.error' })
    expect(app.handled()).toBe(0)
    expect((await get(app.port, '/fine')).status).toBe(200)
    expect(app.handled()).toBe(1)
  })

  it('applies a decision that arrives asynchronously (async custom rule)', async () => {
    const app = await start({ policy, rules })
    const res = await get(app.port, '/geo', { 'x-country': 'XX' })
    expect(res.status).toBe(451)
    expect(JSON.parse(res.body)).toMatchObject({
      error: 'geo.denied',
      message: 'Not available here.',
    })
    expect(app.handled()).toBe(0)
    expect((await get(app.port, '/geo', { 'x-country': 'FR' })).status).toBe(200)
    expect(app.handled()).toBe(1)
  })

  it('fails closed (503) or open (200) on a dead store, with no unhandled rejection', async () => {
    const app = await start({ policy: failModePolicy, store: deadStore() })
    const closed = await get(app.port, '/closed')
    expect(closed.status).toBe(503)
    expect(JSON.parse(closed.body)).toMatchObject({ error: 'store.unavailable' })
    const open = await get(app.port, '/open')
    expect(open.status).toBe(200)
    expect(JSON.parse(open.body)).toMatchObject({ allowed: true, code: 'store.unavailable' })
    expect(app.handled()).toBe(1)

    const hanging = await start({ policy: failModePolicy, store: hangingStore() })
    expect((await get(hanging.port, '/closed')).status).toBe(503)
    expect((await get(hanging.port, '/open')).status).toBe(200)

    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(unhandled).toEqual([])
  })

  it('enforces limits with a healthy async store', async () => {
    const app = await start({ policy: limitPolicy, store: asyncStore() })
    for (let i = 0; i < 3; i++) {
      const res = await get(app.port, '/')
      expect(res.status).toBe(200)
      expect(res.headers['ratelimit']).toMatch(new RegExp(`^"all";r=${2 - i};t=\\d+$`))
    }
    const res = await get(app.port, '/')
    expect(res.status).toBe(429)
    expect(res.headers['retry-after']).toBeDefined()
    expect(app.handled()).toBe(3)
  })

  it('throws at sec() time on options that cannot work', () => {
    const engine = createEngine(limitPolicy)
    expect(() => sec(undefined as never)).toThrow(TypeError)
    expect(() => sec({} as never)).toThrow(/pass \{ policy \} or \{ engine \}/)
    expect(() => sec({ policy, engine } as never)).toThrow(TypeError)
    expect(() => sec({ engine, store: asyncStore() } as never)).toThrow(
      /store belongs to createEngine/,
    )
    expect(() => sec({ engine: {} as never })).toThrow(/createEngine/)
    expect(() => sec({ policy: limitPolicy, context: 'userId' as never })).toThrow(
      /context must be a function/,
    )
    expect(() => sec({ policy: { version: 1, rules: [{ id: 'x', type: 'nope' }] } })).toThrow(
      PolicyError,
    )
    expect(() => sec({ policy })).toThrow(PolicyError) // custom rule types not registered
  })
}
