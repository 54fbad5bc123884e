// The engine bounds store calls with one shared timer (store/timeout.ts). It must hold that
// timer only while a call waits: a script that decides once and is done must exit at once, not
// when the store's timeoutMs would have run out. Runs the built package in a child process.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))

describe('an engine with an async store, once idle', () => {
  it('holds no timer: the process exits without waiting out timeoutMs', () => {
    const script = `
      import { createEngine, MemoryStore } from ${JSON.stringify(dist)}
      const memory = new MemoryStore()
      const store = {
        timeoutMs: 60_000,
        consume: (checks) => new Promise((resolve) => setTimeout(() => resolve(memory.consume(checks)), 5)),
      }
      const engine = createEngine({ version: 1, rules: [{ id: 'rl', type: 'rateLimit', limit: 9, window: '1m' }] }, { store })
      const decisions = await Promise.all([1, 2, 3].map(() => engine.decide({ method: 'GET', url: '/', headers: {}, remoteAddress: '192.0.2.1' })))
      console.log(decisions.map((d) => d.code).join(','))
    `
    const started = Date.now()
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 10_000,
    })
    expect(child.stderr).toBe('')
    expect(child.stdout.trim()).toBe('allowed,allowed,allowed')
    expect(child.signal).toBeNull() // not killed by the 10 s spawn timeout
    expect(Date.now() - started).toBeLessThan(10_000)
  }, 15_000)
})
