import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  createEngine,
  definePolicy,
  PolicyError,
  policyJsonSchema,
  validatePolicy,
} from '../src/index.js'

const good = definePolicy({
  version: 1,
  clientIp: { trustProxy: ['loopback'], ipv6Subnet: 64 },
  log: 'all',
  rules: [
    { id: 'blocklist', type: 'ip', action: 'deny', ips: ['198.51.100.0/24', '2001:db8:bad::/48'] },
    { id: 'office', type: 'ip', action: 'allow', ips: ['203.0.113.0/24'] },
    { id: 'bots', type: 'userAgent', action: 'deny', contains: ['BadBot', 'ScraperBot'] },
    { id: 'no-admin', type: 'path', action: 'deny', paths: ['/admin', '/admin/**'] },
    {
      id: 'keys',
      type: 'apiKey',
      paths: ['/api/**'],
      keys: [{ id: 'svc-a', sha256: 'a'.repeat(64) }],
    },
    {
      id: 'login',
      type: 'rateLimit',
      paths: ['/login'],
      by: 'ip',
      algorithm: 'fixedWindow',
      limit: 5,
      window: '1m',
    },
  ],
})

describe('validatePolicy', () => {
  it('accepts the DESIGN.md example, as an object or as JSON text', () => {
    expect(validatePolicy(good)).toMatchObject({ ok: true })
    expect(validatePolicy(JSON.stringify(good))).toMatchObject({ ok: true })
  })

  it('reports every problem at once, each with its JSON path', () => {
    const result = validatePolicy({
      version: 2,
      log: 'loud',
      clientIp: { trustProxy: ['not-an-ip'], header: 'x-real-ip' },
      rules: [
        { id: 'a', type: 'ip', action: 'deny', ips: ['300.1.1.1', '10.0.0.0/33'] },
        { id: 'a', type: 'rateLimit', limit: 0, window: '1 minute' },
        { id: 'k', type: 'apiKey', keys: [{ id: 'x', sha256: 'secure-key-123' }] },
        { id: 'p', type: 'path', action: 'deny', paths: ['admin', '/a/b**'] },
        { id: 'u', type: 'userAgent', action: 'block' },
        { id: 'g', type: 'geo' },
        { id: 'bad id!', type: 'header', require: ['x-ok'], surprise: true },
      ],
    })
    expect(result.ok).toBe(false)
    const paths = result.errors!.map((e) => e.path)
    expect(paths).toEqual(
      expect.arrayContaining([
        '/version',
        '/log',
        '/clientIp/trustProxy/0',
        '/clientIp/header',
        '/rules/0/ips/0',
        '/rules/0/ips/1',
        '/rules/1/id',
        '/rules/1/limit',
        '/rules/1/window',
        '/rules/2/keys/0/sha256',
        '/rules/3/paths/0',
        '/rules/3/paths/1',
        '/rules/4/action',
        '/rules/5/type',
        '/rules/6/id',
        '/rules/6/surprise',
      ]),
    )
    const sha = result.errors!.find((e) => e.path === '/rules/2/keys/0/sha256')!
    expect(sha.message).toContain('never the key itself')
    // A key pasted where its hash belongs must not be echoed into CI logs.
    expect(sha.message).not.toContain('secure-key-123')
  })

  it('refuses invalid JSON text and non-objects with a clear message', () => {
    expect(validatePolicy('{ "version": 1, ')).toMatchObject({ ok: false, errors: [{ path: '' }] })
    expect(validatePolicy(null)).toMatchObject({
      ok: false,
      errors: [{ path: '', message: 'must be an object, got null' }],
    })
    expect(validatePolicy([])).toMatchObject({ ok: false })
  })

  it('never quotes the policy text around a JSON syntax error (it may be a pasted key)', () => {
    for (const text of ['{"sha256":hunter22}', 'hunter22', '{"a":1,"sha256":"hunter22"x}']) {
      const result = validatePolicy(text)
      expect(result.ok).toBe(false)
      const message = result.ok ? '' : result.errors[0]!.message
      expect(message).toMatch(/^is not valid JSON: /)
      expect(message).not.toContain('unter2')
    }
  })

  it('is not fooled by prototype keys', () => {
    const hostile = JSON.parse(
      '{"version":1,"rules":[],"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
    )
    const result = validatePolicy(hostile)
    expect(result.ok).toBe(false)
    expect(result.errors!.map((e) => e.path)).toEqual(['/__proto__', '/constructor'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('needs one of ips/unless, and limit+window or limits', () => {
    const result = validatePolicy({
      version: 1,
      rules: [
        { id: 'a', type: 'ip', action: 'deny' },
        {
          id: 'b',
          type: 'rateLimit',
          limit: 1,
          window: '1m',
          limits: [{ limit: 1, window: '1s' }],
        },
        { id: 'c', type: 'userAgent', action: 'deny' },
        { id: 'd', type: 'header' },
      ],
    })
    expect(result.errors!.map((e) => e.path)).toEqual([
      '/rules/0',
      '/rules/1',
      '/rules/2',
      '/rules/3',
    ])
  })

  it('createEngine throws PolicyError listing the problems', () => {
    expect(() => createEngine({ version: 1, rules: [{ id: 'x', type: 'nope' }] })).toThrow(
      PolicyError,
    )
    expect(() => createEngine('not json')).toThrow(/Invalid sec policy/)
  })
})

describe('policy.schema.json', () => {
  it('is the one generated from the validator source, and is committed', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../policy.schema.json', import.meta.url), 'utf8'),
    )
    expect(committed).toEqual(policyJsonSchema())
    expect(
      committed.properties.rules.items.$ref ?? committed.properties.rules.items.allOf,
    ).toBeTruthy()
  })
})
