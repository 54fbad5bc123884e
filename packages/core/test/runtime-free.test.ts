// Proves the built bundle is runtime-free: it loads and decides inside a bare V8 context with
// no Node globals (no process, Buffer, require of built-ins, timers) — only ECMAScript.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'

const nodeRequire = createRequire(import.meta.url)

function loadInBareContext(): {
  exports: Record<string, unknown>
  required: string[]
  context: vm.Context
} {
  const context = vm.createContext({})
  const required: string[] = []
  const cache = new Map<string, unknown>()
  const load = (file: string): unknown => {
    if (cache.has(file)) return cache.get(file)
    const module = { exports: {} as Record<string, unknown> }
    cache.set(file, module.exports)
    const wrapper = vm.runInContext(
      `(function (module, exports, require) {${readFileSync(file, 'utf8')}\n})`,
      context,
      {
        filename: file,
      },
    ) as (m: unknown, e: unknown, r: unknown) => void
    wrapper(module, module.exports, (id: string) => {
      required.push(id)
      // Only runtime dependencies of @sec/core may load, and they must be runtime-free too.
      if (id !== 'isbot') throw new Error(`runtime-free core tried to require ${id}`)
      return load(nodeRequire.resolve('isbot'))
    })
    cache.set(file, module.exports)
    return module.exports
  }
  const exports = load(new URL('../dist/index.cjs', import.meta.url).pathname) as Record<
    string,
    unknown
  >
  return { exports, required, context }
}

describe('built bundle', () => {
  it('loads and decides in a plain V8 context', () => {
    const { exports, required, context } = loadInBareContext()
    expect(vm.runInContext('typeof process + typeof Buffer + typeof setTimeout', context)).toBe(
      'undefinedundefinedundefined',
    )
    expect(required.every((id) => id === 'isbot')).toBe(true)
    const createEngine = exports.createEngine as (p: unknown) => {
      evaluate(i: unknown): { status: number; code: string }
    }
    const engine = createEngine({
      version: 1,
      rules: [
        { id: 'bots', type: 'userAgent', action: 'deny', bots: true },
        { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin/**'] },
        { id: 'rl', type: 'rateLimit', limit: 1, window: '1m' },
      ],
    })
    const browser = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'
    const input = (url: string, ua = browser) => ({
      method: 'GET',
      url,
      headers: { 'user-agent': ua },
      remoteAddress: '192.0.2.1',
    })
    expect(engine.evaluate(input('/%61dmin/x')).code).toBe('path.denied')
    expect(engine.evaluate(input('/', 'Googlebot/2.1')).code).toBe('userAgent.denied')
    expect(engine.evaluate(input('/')).status).toBe(200)
    expect(engine.evaluate(input('/')).status).toBe(429)
  })

  it('has ESM and CJS builds with the same exports', async () => {
    const esm = (await import(new URL('../dist/index.js', import.meta.url).href)) as Record<
      string,
      unknown
    >
    const cjs = nodeRequire('../dist/index.cjs') as Record<string, unknown>
    expect(Object.keys(esm).sort()).toEqual(Object.keys(cjs).sort())
    for (const name of [
      'createEngine',
      'validatePolicy',
      'definePolicy',
      'defineRule',
      'MemoryStore',
      'PolicyError',
    ]) {
      expect(typeof esm[name], name).toBe('function')
    }
  })
})
