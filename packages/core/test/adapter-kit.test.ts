import { describe, expect, it } from 'vitest'
import {
  createEngine,
  denialBody,
  engineFromOptions,
  nodeRequestInput,
  type DecisionEvent,
} from '../src/index.js'

const policy = {
  version: 1 as const,
  rules: [{ id: 'bad', type: 'userAgent' as const, action: 'deny' as const, contains: ['evil'] }],
}

describe('nodeRequestInput', () => {
  it('keeps the raw target, every header value and the socket peer', async () => {
    const input = nodeRequestInput({
      method: 'GET',
      url: '/a/../admin?x=1',
      rawHeaders: [
        'User-Agent',
        'Mozilla/5.0',
        'user-agent',
        'EvilBot',
        'X-Forwarded-For',
        '1.2.3.4',
      ],
      socket: { remoteAddress: '::ffff:127.0.0.1' },
    })
    expect(input).toMatchObject({
      method: 'GET',
      url: '/a/../admin?x=1',
      remoteAddress: '::ffff:127.0.0.1',
    })
    // The second User-Agent, which Node's req.headers would drop, still denies.
    const d = await createEngine(policy).decide(input)
    expect(d).toMatchObject({ allowed: false, code: 'userAgent.denied', clientIp: '127.0.0.1' })
  })
  it('treats a raw x-api-key sent twice as invalid', async () => {
    const engine = createEngine({
      version: 1,
      rules: [{ id: 'k', type: 'apiKey', keys: [{ id: 'a', sha256: 'c'.repeat(64) }] }],
    })
    const d = await engine.decide(
      nodeRequestInput({
        method: 'GET',
        url: '/',
        rawHeaders: ['x-api-key', 'a', 'X-Api-Key', 'a'],
      }),
    )
    expect(d.code).toBe('apiKey.invalid')
  })
})

describe('engineFromOptions', () => {
  it('builds an engine from a policy, or uses the one given', () => {
    const engine = createEngine(policy)
    expect(engineFromOptions({ engine }, 'test')).toBe(engine)
    expect(typeof engineFromOptions({ policy: JSON.stringify(policy) }, 'test').evaluate).toBe(
      'function',
    )
  })
  it('refuses options that cannot work, naming the adapter', () => {
    const engine = createEngine(policy)
    expect(() => engineFromOptions({} as never, '@sec/x')).toThrow(
      '@sec/x: pass { policy } or { engine }',
    )
    expect(() => engineFromOptions({ engine, policy } as never, '@sec/x')).toThrow(/not both/)
    expect(() =>
      engineFromOptions({ engine, store: { consume: () => [] } } as never, '@sec/x'),
    ).toThrow(/createEngine/)
    expect(() => engineFromOptions({ policy: { version: 2 } }, '@sec/x')).toThrow(
      /Invalid sec policy/,
    )
    expect(() => engineFromOptions({ policy, context: 'userId' } as never, '@sec/x')).toThrow(
      /context/,
    )
  })
  it("applies an adapter's log filter to its default sink only, never to the app's", async () => {
    const defaults = { onDecision: () => seen.push('default'), shouldLog: () => false }
    const seen: string[] = []
    const own = engineFromOptions({ policy, onDecision: () => seen.push('own') }, 't', defaults)
    await own.decide({ method: 'GET', url: '/', headers: {} })
    expect(seen).toEqual(['own'])
    const fallback = engineFromOptions({ policy }, 't', defaults)
    await fallback.decide({ method: 'GET', url: '/', headers: {} })
    expect(seen).toEqual(['own'])
    const unfiltered = engineFromOptions({ policy }, 't', { onDecision: defaults.onDecision })
    await unfiltered.decide({ method: 'GET', url: '/', headers: {} })
    expect(seen).toEqual(['own', 'default'])
  })
  it('passes the framework request to onDecision', async () => {
    const seen: unknown[] = []
    const engine = engineFromOptions(
      { policy, onDecision: (_e: DecisionEvent, req?: unknown) => seen.push(req) },
      't',
    )
    const req = { id: 1 }
    await engine.decide({ method: 'GET', url: '/', headers: {} }, req)
    expect(seen).toEqual([req])
  })
})

describe('denialBody', () => {
  it('is { error: code, message }', async () => {
    const d = await createEngine(policy).decide({
      method: 'GET',
      url: '/',
      headers: { 'user-agent': 'evil' },
    })
    expect(denialBody(d)).toEqual({ error: 'userAgent.denied', message: d.message })
  })
})
