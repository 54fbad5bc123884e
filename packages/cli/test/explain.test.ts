import { describe, expect, it } from 'vitest'
import {
  example,
  examplePolicy,
  lines,
  REPORTS_KEY,
  sec,
  STACK,
  SVC_A_KEY,
  tmp,
} from './helpers.js'

const POLICY = example('policy.json')

describe('sec explain', () => {
  it('explains a denial by path for /%61dmin: decision, canonical path, every rule', () => {
    const r = sec(['explain', POLICY, '--url', '/%61dmin', '--ip', '203.0.113.7'])
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    const out = r.stdout
    expect(out).toContain('request   GET /%61dmin')
    expect(out).toContain('canonical path /admin')
    expect(out).toContain('client    203.0.113.7')
    expect(out).toContain('DENIED  403 path.denied by rule "no-admin" (path)')
    expect(out).toMatch(/^ {4}pass +blocklist +ip$/m)
    expect(out).toMatch(/^ {4}pass +health +path$/m)
    expect(out).toMatch(/^ {4}pass +bots +userAgent$/m)
    expect(out).toMatch(/^ {2}▶ deny +no-admin +path +403 path\.denied$/m)
    expect(out).toMatch(/^ {4}- +keys +apiKey +not reached$/m)
    expect(out).toMatch(/^ {4}- +login +rateLimit +not reached$/m)
    expect(out).toContain('response headers (none)')
  })

  it('--json prints the Decision', () => {
    const r = sec(['explain', POLICY, '--url', '/%61dmin', '--ip', '203.0.113.7', '--json'])
    expect(r.status).toBe(0)
    const d = JSON.parse(r.stdout) as Record<string, unknown> & {
      results: { ruleId: string; outcome: string }[]
    }
    expect(d).toMatchObject({
      allowed: false,
      status: 403,
      code: 'path.denied',
      ruleId: 'no-admin',
      clientIp: '203.0.113.7',
      headers: {},
    })
    expect(d.results.map((x) => [x.ruleId, x.outcome])).toEqual([
      ['blocklist', 'pass'],
      ['health', 'pass'],
      ['bots', 'pass'],
      ['no-admin', 'deny'],
    ])
  })

  it('never prints an API key value: valid, invalid, bearer, --json', () => {
    const valid = sec([
      'explain',
      POLICY,
      '--url',
      '/api/orders',
      '-H',
      `x-api-key: ${SVC_A_KEY}`,
      '--ip',
      '203.0.113.7',
    ])
    expect(valid.status).toBe(0)
    expect(valid.stdout).toContain('ALLOWED  200 allowed')
    expect(valid.stdout).toContain('api key   svc-a (verified')
    expect(valid.stdout).toContain('headers: x-api-key (values not shown)')
    expect(valid.stdout).toContain('RateLimit: "api-limit";r=99;t=')
    const wrong = sec([
      'explain',
      POLICY,
      '--url',
      '/api/orders',
      '-H',
      'X-Api-Key: wrong-secret-value',
    ])
    expect(wrong.stdout).toContain('DENIED  401 apiKey.invalid by rule "keys" (apiKey)')
    expect(wrong.stdout).toContain('WWW-Authenticate: Bearer realm="api", error="invalid_token"')
    const bearer = sec([
      'explain',
      POLICY,
      '--url',
      '/api/reports/q3',
      '-H',
      `authorization: Bearer ${REPORTS_KEY}`,
      '--json',
    ])
    expect(JSON.parse(bearer.stdout)).toMatchObject({ allowed: true, apiKeyId: 'reports' })
    for (const [r, key] of [
      [valid, SVC_A_KEY],
      [wrong, 'wrong-secret-value'],
      [bearer, REPORTS_KEY],
    ] as const) {
      expect(r.all).not.toContain(key)
    }
  })

  it('masks a key sent in a query parameter the policy reads', () => {
    const policy = examplePolicy()
    policy.rules[4] = { ...policy.rules[4], query: 'api_key' }
    const file = tmp('query.json', policy)
    const r = sec(['explain', file, '--url', `/api/orders?page=2&api_key=${SVC_A_KEY}`])
    expect(r.stdout).toContain('request   GET /api/orders?page=2&api_key=…')
    expect(r.stdout).toContain('ALLOWED')
    expect(r.all).not.toContain(SVC_A_KEY)
  })

  it('shows a key used out of its scope', () => {
    const r = sec([
      'explain',
      POLICY,
      '-X',
      'POST',
      '--url',
      '/api/orders',
      '-H',
      `x-api-key: ${REPORTS_KEY}`,
    ])
    expect(r.stdout).toContain('DENIED  403 apiKey.scope by rule "keys" (apiKey)')
    expect(r.stdout).toContain('api key   reports')
    expect(r.all).not.toContain(REPORTS_KEY)
  })

  it('--repeat shows a rate limit trip with its rate-limit info and headers', () => {
    const r = sec([
      'explain',
      POLICY,
      '-X',
      'POST',
      '--url',
      '/login',
      '--ip',
      '203.0.113.7',
      '--repeat',
      '6',
    ])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('sent 6 times; this is the last decision')
    expect(r.stdout).toContain('DENIED  429 rateLimit.exceeded by rule "login" (rateLimit)')
    // Within the first second of a minute the one-minute window resets in 60 s, shown as 1m.
    expect(r.stdout).toMatch(
      /▶ deny +login +rateLimit +429 rateLimit\.exceeded; limit 5\/1m, 0 left, resets in (?:\d+s|1m), retry after (?:\d+s|1m)/,
    )
    expect(r.stdout).toMatch(/^ {2}Retry-After: \d+$/m)
    expect(r.stdout).toContain('RateLimit-Policy: "login";q=5;w=60')
    const once = sec(['explain', POLICY, '-X', 'POST', '--url', '/login', '--ip', '203.0.113.7'])
    expect(once.stdout).toMatch(/pass +login +rateLimit +limit 5\/1m, 4 left/)
  })

  it('marks monitor rules: would deny, not enforced', () => {
    const policy = {
      version: 1,
      rules: [
        { id: 'no-ua', type: 'userAgent', action: 'deny', missing: true, mode: 'monitor' },
        { id: 'open', type: 'path', action: 'allow', paths: ['/'] },
      ],
    }
    const r = sec(['explain', tmp('monitor.json', policy), '--url', '/'])
    expect(r.stdout).toMatch(
      /deny +no-ua +userAgent +403 userAgent\.denied; monitor: would deny, not enforced/,
    )
    expect(r.stdout).toContain('ALLOWED  200 allowed by rule "open" (path)')
    expect(r.stdout).toMatch(/▶ allow +open +path +exemption/)
  })

  it('an unknown client and a skipped rule', () => {
    const r = sec(['explain', POLICY, '--url', '/'])
    expect(r.stdout).toContain('client    (unknown: outside every IP list)')
    expect(r.stdout).toMatch(/skip +keys +apiKey +paths\/methods do not select this request/)
  })

  it('--context reaches context rules', () => {
    const policy = {
      version: 1,
      rules: [{ id: 'per-user', type: 'rateLimit', by: 'context:userId', limit: 1, window: '1m' }],
    }
    const file = tmp('ctx.json', policy)
    const r = sec(['explain', file, '--url', '/', '--context', 'userId=u_42', '--repeat', '2'])
    expect(r.stdout).toContain('context: userId=u_42')
    expect(r.stdout).toContain('429 rateLimit.exceeded')
    expect(sec(['explain', file, '--url', '/', '--context', 'nonsense']).status).toBe(2)
  })

  it('a request-target that cannot be canonicalised', () => {
    const r = sec(['explain', POLICY, '--url', '/a%zz', '--json'])
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 400, code: 'request.invalid' })
    const text = sec(['explain', POLICY, '--url', '/a%zz'])
    expect(text.stdout).toContain('DENIED  400 request.invalid')
    expect(text.stdout).not.toContain('canonical path')
  })

  it('refuses custom rule types, naming them', () => {
    const policy = examplePolicy()
    policy.rules.push({ id: 'geo-block', type: 'geo', countries: ['XX'] })
    const r = sec(['explain', tmp('custom.json', policy), '--url', '/'])
    expect(r.status).toBe(2)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain('cannot run custom rule types "geo" (rule "geo-block")')
    expect(r.stdout).toBe('')
  })

  it('runs custom rule types loaded with --rules', () => {
    const policy = examplePolicy()
    policy.rules.unshift({ id: 'geo-block', type: 'geo', countries: ['XX'] })
    const rules = tmp(
      'geo-rules.mjs',
      `export const geo = { evaluate: (req, rule) => rule.countries.includes(req.header('x-country') ?? '') ? { action: 'deny', status: 451, code: 'geo.denied' } : undefined }\n`,
    )
    const file = tmp('custom-ok.json', policy)
    const denied = sec([
      'explain',
      file,
      '--rules',
      rules,
      '--url',
      '/',
      '-H',
      'x-country: XX',
      '--json',
    ])
    expect(denied.status).toBe(0)
    expect(JSON.parse(denied.stdout)).toMatchObject({
      status: 451,
      code: 'geo.denied',
      ruleId: 'geo-block',
    })
    const missing = sec([
      'explain',
      file,
      '--rules',
      tmp('none.mjs', 'export const x = 1\n'),
      '--url',
      '/',
    ])
    expect(missing.status).toBe(2)
    expect(missing.stderr).toContain('exports no custom rule')
  })

  it('an invalid policy is one line pointing to sec check; exit 1', () => {
    const file = tmp(
      'bad.json',
      '{ "version": 1,\n  "rules": [{ "id": "x", "type": "path", "action": "deny" }] }',
    )
    const r = sec(['explain', file, '--url', '/'])
    expect(r.status).toBe(1)
    expect(lines(r.stderr)).toEqual([
      `sec: explain: ${file}:2:13: not a valid policy (/rules/0/paths is required); run sec check ${file}`,
    ])
  })

  it('bad header arguments never echo the value', () => {
    for (const args of [
      ['-H', 'sk_live_bare_key_value'],
      ['-H', 'bad name: sk_live_bare_key_value'],
      ['-H', 'x-api-key:', 'sk_live_bare_key_value'],
    ]) {
      const r = sec(['explain', POLICY, '--url', '/', ...args])
      expect(r.status).toBe(2)
      expect(lines(r.stderr)).toHaveLength(1)
      expect(r.all).not.toContain('sk_live_bare_key_value')
      expect(r.all).not.toMatch(STACK)
    }
  })

  it('validates --method and --repeat', () => {
    expect(sec(['explain', POLICY, '-X', 'GE T']).status).toBe(2)
    expect(sec(['explain', POLICY, '--repeat', '0']).status).toBe(2)
    expect(sec(['explain', POLICY, '--repeat', 'x']).stderr).toContain(
      '--repeat must be a whole number',
    )
  })

  it('colour only when asked, never with NO_COLOR', () => {
    const args = ['explain', POLICY, '--url', '/admin']
    expect(sec(args).stdout).not.toContain('\u001b[')
    expect(sec(args, { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } }).stdout).toContain(
      '\u001b[31m',
    )
    expect(sec(args, { env: { NO_COLOR: 'yes', FORCE_COLOR: '1' } }).stdout).not.toContain(
      '\u001b[',
    )
    // --json is never coloured
    expect(
      sec([...args, '--json'], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } }).stdout,
    ).not.toContain('\u001b[')
  })
})
