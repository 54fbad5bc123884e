// @sec/hono without Node: app.request() / app.fetch(new Request(...)), as on Bun, Deno or
// Workers. No c.env.incoming: the absolute URL is judged by its path, the peer address comes
// from getConnInfo or the runtime's env, else the client is unknown.
import { MemoryStore, sha256Hex } from '@sec/core'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { sec, type SecEnv } from '../dist/index.js'

const policy = {
  version: 1,
  rules: [
    { id: 'blocklist', type: 'ip', action: 'deny', ips: ['198.51.100.0/24'] },
    { id: 'internal', type: 'ip', action: 'deny', paths: ['/internal/**'], unless: ['10.0.0.0/8'] },
    { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin/**'] },
    { id: 'limit', type: 'rateLimit', paths: ['/limited'], limit: 1, window: '1m' },
  ],
}

function app(options: Parameters<typeof sec>[0] = { policy }) {
  const ran: string[] = []
  const hono = new Hono<SecEnv>()
  hono.use(sec(options))
  hono.all('*', (c) => {
    ran.push(c.req.path)
    const d = c.get('sec')
    return c.json({ code: d.code, clientIp: d.clientIp })
  })
  return { hono, ran }
}

describe('without Node (no c.env.incoming)', () => {
  it('judges the path of the absolute URL', async () => {
    const { hono, ran } = app()
    for (const path of ['/admin', '/%61dmin', '//admin', '/a/../admin', '/%5cadmin/x', '/ADMIN/']) {
      const res = await hono.request(path)
      expect(res.status, path).toBe(403)
      expect(await res.json()).toMatchObject({ error: 'path.denied' })
    }
    const res = await hono.fetch(new Request('http://example.com/admin/x'))
    expect(res.status).toBe(403)
    expect(ran).toEqual([])
    // WHATWG URL resolved the dot segment before Hono saw it: this is "/", and Hono routes it there.
    expect(await (await hono.request('/admin/..')).json()).toEqual({
      code: 'allowed',
      clientIp: '',
    })
    expect(ran).toEqual(['/'])
  })

  it('treats the client as unknown without getConnInfo: an unless rule denies', async () => {
    const { hono, ran } = app()
    const res = await hono.request('/internal/x')
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: 'ip.denied' })
    expect(ran).toEqual([])
    expect(await (await hono.request('/x')).json()).toEqual({ code: 'allowed', clientIp: '' })
  })

  it('takes the peer from getConnInfo', async () => {
    let address = '10.1.2.3'
    const { hono } = app({ policy, getConnInfo: () => ({ remote: { address } }) })
    const ok = await hono.request('/internal/x')
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ code: 'allowed', clientIp: '10.1.2.3' })
    address = '198.51.100.7'
    expect((await hono.request('/x')).status).toBe(403)
  })

  it("reads Bun's server (env.requestIP) and Deno's info (env.remoteAddr)", async () => {
    const { hono } = app()
    const bunServer = {
      requestIP(req: Request) {
        expect(this).toBe(bunServer)
        expect(req).toBeInstanceOf(Request)
        return { address: '10.0.0.5', family: 'IPv4', port: 5555 }
      },
    }
    const req = () => new Request('http://localhost/internal/x')
    const bun = await hono.fetch(req(), bunServer)
    expect(await bun.json()).toEqual({ code: 'allowed', clientIp: '10.0.0.5' })
    const bunWrapped = await hono.fetch(req(), { server: bunServer })
    expect(bunWrapped.status).toBe(200)
    const bunUnknown = await hono.fetch(req(), { requestIP: () => null })
    expect(bunUnknown.status).toBe(403)
    const deno = await hono.fetch(req(), {
      remoteAddr: { transport: 'tcp', hostname: '10.9.9.9', port: 4444 },
    })
    expect(await deno.json()).toEqual({ code: 'allowed', clientIp: '10.9.9.9' })
    const workers = await hono.fetch(req(), { MY_KV: {} }) // Workers bindings: no peer
    expect(workers.status).toBe(403)
  })

  it('lets getConnInfo win over what the env says', async () => {
    const { hono } = app({ policy, getConnInfo: () => ({ remote: { address: '198.51.100.1' } }) })
    const res = await hono.fetch(new Request('http://localhost/x'), {
      remoteAddr: { hostname: '10.0.0.1' },
    })
    expect(res.status).toBe(403)
    // A getConnInfo without an address (Hono's helpers return { remote: {} }): unknown client.
    const { hono: none } = app({ policy, getConnInfo: () => ({ remote: {} }) })
    expect(await (await none.request('/x')).json()).toEqual({ code: 'allowed', clientIp: '' })
  })

  it('sends RateLimit headers and 429 through app.request', async () => {
    const { hono } = app({ policy, store: new MemoryStore({ now: () => 1_700_000_000_000 }) })
    const first = await hono.request('/limited')
    expect(first.headers.get('ratelimit-policy')).toBe('"limit";q=1;w=60')
    const second = await hono.request('/limited')
    expect(second.status).toBe(429)
    expect(second.headers.get('retry-after')).toMatch(/^\d+$/)
  })

  it('sees a repeated header joined by Web Headers ("a, b"): two API keys are invalid', async () => {
    const { hono } = app({
      policy: {
        version: 1,
        rules: [{ id: 'k', type: 'apiKey', keys: [{ id: 'a', sha256: sha256Hex('k1') }] }],
      },
    })
    const once = await hono.fetch(
      new Request('http://localhost/', { headers: { 'x-api-key': 'k1' } }),
    )
    expect(once.status).toBe(200)
    const headers = new Headers([
      ['x-api-key', 'k1'],
      ['x-api-key', 'k1'],
    ])
    const res = await hono.fetch(new Request('http://localhost/', { headers }))
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'apiKey.invalid' })
  })

  it('types c.get("sec") on an app chained from .use(sec(...))', async () => {
    const chained = new Hono().use(sec({ policy })).get('/', (c) => c.text(c.get('sec').code))
    expect(await (await chained.request('/')).text()).toBe('allowed')
  })

  it("sends an error in context() or getConnInfo() to Hono's error handler", async () => {
    const fail = () => {
      throw new Error('app bug')
    }
    for (const options of [
      { policy, context: fail },
      { policy, getConnInfo: fail },
    ]) {
      const { hono, ran } = app(options)
      hono.onError((err, c) => c.text(`onError: ${err.message}`, 500))
      const res = await hono.request('/x')
      expect(res.status).toBe(500)
      expect(await res.text()).toBe('onError: app bug')
      expect(ran).toEqual([])
    }
  })
})
