// The adapter must run wherever Hono runs: the built files import only @sec/core and
// hono/factory, and the middleware works in a bare V8 context (no process, Buffer, Node APIs).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'

const dist = (file: string) => readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8')
const nodeRequire = createRequire(import.meta.url)

describe('built package', () => {
  it('imports nothing but @sec/core and hono/factory', () => {
    const esm = [
      ...dist('index.js').matchAll(/^\s*(?:import|export)\b[^;]*?from\s+["']([^"']+)["']/gm),
    ]
    const cjs = [...dist('index.cjs').matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)]
    expect(new Set(esm.map((m) => m[1]))).toEqual(new Set(['@sec/core', 'hono/factory']))
    expect(new Set(cjs.map((m) => m[1]))).toEqual(new Set(['@sec/core', 'hono/factory']))
    for (const file of ['index.js', 'index.cjs', 'index.d.ts']) {
      expect(dist(file)).not.toMatch(/["'`]node:|@hono\/node-server|\bprocess\.|\bBuffer\b/)
      expect(dist(file)).not.toMatch(/["'](?:http|net|fs|stream|events|buffer)["']/)
    }
  })

  it('runs in a bare V8 context', async () => {
    const context = vm.createContext({})
    expect(vm.runInContext('typeof process + typeof Buffer + typeof Headers', context)).toBe(
      'undefinedundefinedundefined',
    )
    const load = (file: string, requireFn: (id: string) => unknown): Record<string, unknown> => {
      const module = { exports: {} as Record<string, unknown> }
      const wrapper = vm.runInContext(
        `(function (module, exports, require) {${readFileSync(file, 'utf8')}\n})`,
        context,
        { filename: file },
      ) as (m: unknown, e: unknown, r: unknown) => void
      wrapper(module, module.exports, requireFn)
      return module.exports
    }
    const corePath = nodeRequire.resolve('@sec/core')
    const isbotPath = createRequire(corePath).resolve('isbot')
    const core = load(corePath, (id) => {
      if (id === 'isbot') return load(isbotPath, () => ({}))
      throw new Error(`core required ${id}`)
    })
    // hono/factory's createMiddleware is the identity; the real one loads all of Hono.
    const adapter = load(new URL('../dist/index.cjs', import.meta.url).pathname, (id) => {
      if (id === '@sec/core') return core
      if (id === 'hono/factory') return { createMiddleware: <T>(m: T) => m }
      throw new Error(`@sec/hono required ${id}`)
    })
    const sec = adapter.sec as (
      o: unknown,
    ) => (c: unknown, next: () => Promise<void>) => Promise<unknown>
    const middleware = sec({
      policy: {
        version: 1,
        rules: [
          { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin/**'] },
          { id: 'rl', type: 'rateLimit', limit: 5, window: '1m' },
        ],
      },
    })
    // A Deno-like context: info.remoteAddr as env, plain-object headers.
    const fakeContext = (url: string) => {
      const vars = new Map<string, unknown>()
      const headers = new Map<string, string>()
      return {
        env: { remoteAddr: { hostname: '192.0.2.1', port: 1, transport: 'tcp' } },
        req: { url, raw: { method: 'GET', headers: { 'user-agent': 'test' } } },
        res: { status: 200, headers },
        json: (body: unknown, status: number) => ({ body, status }),
        set: (k: string, v: unknown) => vars.set(k, v),
        header: (k: string, v: string) => headers.set(k, v),
        vars,
      }
    }
    const denied = fakeContext('https://example.com/%61dmin/x')
    expect(await middleware(denied, () => Promise.reject(new Error('handler ran')))).toEqual({
      body: { error: 'path.denied', message: expect.any(String) as string },
      status: 403,
    })
    const allowed = fakeContext('https://example.com/')
    let ran = false
    await middleware(allowed, () => {
      ran = true
      return Promise.resolve()
    })
    expect(ran).toBe(true)
    expect(allowed.vars.get('sec')).toMatchObject({ allowed: true, clientIp: '192.0.2.1' })
    expect(allowed.res.headers.get('RateLimit-Policy')).toBe('"rl";q=5;w=60')
  })
})
