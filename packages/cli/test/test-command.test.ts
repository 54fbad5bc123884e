import { describe, expect, it } from 'vitest'
import { example, examplePolicy, lines, sec, SVC_A_KEY, tmp } from './helpers.js'

const POLICY = example('policy.json')

describe('sec test', () => {
  it('the shipped example passes', () => {
    const r = sec(['test', POLICY, example('cases.json')])
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    const rows = lines(r.stdout)
    expect(rows[0]).toMatch(/^ {3}case +expected +got$/)
    const marks = rows.filter((l) => /^[✓✗] /.test(l))
    expect(marks).toHaveLength(17)
    expect(marks.every((l) => l.startsWith('✓'))).toBe(true)
    expect(r.stdout).toContain('✓  admin is denied, percent-encoded')
    expect(r.stdout).toContain('five logins a minute are allowed (×5)')
    expect(rows.at(-1)).toBe('17 cases passed, 0 failed')
    // Case files hold test keys; the report never repeats them.
    expect(r.all).not.toContain(SVC_A_KEY)
  })

  it('a failing case exits 1 and shows ✗ with expected and got', () => {
    const cases = tmp('cases.json', {
      cases: [
        { name: 'home is open', request: { url: '/' }, expect: { status: 200 } },
        {
          name: 'admin is open (wrong)',
          request: { url: '/%61dmin' },
          expect: { status: 200, code: 'allowed' },
        },
        {
          name: 'wrong rule',
          request: { url: '/admin' },
          expect: { status: 403, code: 'path.denied', ruleId: 'bots' },
        },
        {
          name: 'wrong header',
          request: { url: '/api/x', headers: { 'x-api-key': SVC_A_KEY } },
          expect: { status: 200, apiKeyId: 'reports', headers: { RateLimit: 'nope' } },
        },
      ],
    })
    const r = sec(['test', POLICY, cases])
    expect(r.status).toBe(1)
    const out = r.stdout
    expect(out).toMatch(/^✓ {2}home is open +200 +200 allowed$/m)
    expect(out).toMatch(
      /^✗ {2}admin is denied|^✗ {2}admin is open \(wrong\) +200 allowed +403 path\.denied by no-admin$/m,
    )
    expect(out).toMatch(
      /^✗ {2}wrong rule +403 path\.denied by bots +403 path\.denied by no-admin$/m,
    )
    expect(out).toMatch(/^✗ {2}wrong header +200, key reports +200 allowed, key svc-a$/m)
    expect(out).toContain('apiKeyId: expected reports, got svc-a')
    expect(out).toContain('RateLimit: expected "nope", got "\\"api-limit\\";r=99;t=60"')
    expect(lines(out).at(-1)).toBe('1 case passed, 3 failed')
    expect(r.all).not.toContain(SVC_A_KEY)
  })

  it('rate limits accumulate across cases on a test clock that moves only with "advance"', () => {
    const policy = tmp('rl.json', {
      version: 1,
      rules: [{ id: 'rl', type: 'rateLimit', limit: 2, window: '10s' }],
    })
    const cases = tmp('rl-cases.json', {
      defaults: { ip: '203.0.113.7' },
      cases: [
        { name: 'first two', repeat: 2, request: { url: '/' }, expect: { status: 200 } },
        {
          name: 'third',
          request: { url: '/' },
          expect: { status: 429, headers: { 'Retry-After': '10' } },
        },
        { name: 'other client', request: { url: '/', ip: '203.0.113.8' }, expect: { status: 200 } },
        {
          name: 'half a window later',
          advance: '5s',
          request: { url: '/' },
          expect: { status: 429 },
        },
        {
          name: 'two windows later',
          advance: '20s',
          request: { url: '/' },
          expect: { status: 200 },
        },
      ],
    })
    const r = sec(['test', policy, cases])
    expect(r.stdout).toContain('5 cases passed, 0 failed')
    expect(r.status).toBe(0)
  })

  it('defaults apply to every case; null drops a default header', () => {
    const cases = tmp('defaults.json', {
      defaults: { headers: { 'x-api-key': SVC_A_KEY }, ip: '203.0.113.7' },
      cases: [
        {
          name: 'with the default key',
          request: { url: '/api/x' },
          expect: { status: 200, apiKeyId: 'svc-a' },
        },
        {
          name: 'without it',
          request: { url: '/api/x', headers: { 'x-api-key': null } },
          expect: { status: 401, code: 'apiKey.missing', apiKeyId: null },
        },
        {
          name: 'sent twice is invalid',
          request: { url: '/api/x', headers: { 'x-api-key': [SVC_A_KEY, SVC_A_KEY] } },
          expect: { status: 401, code: 'apiKey.invalid' },
        },
      ],
    })
    const r = sec(['test', POLICY, cases])
    expect(r.stdout).toContain('3 cases passed, 0 failed')
    expect(r.status).toBe(0)
  })

  it('an invalid cases file: every problem with its path; exit 2; header values not echoed', () => {
    const cases = tmp(
      'bad-cases.json',
      `{
  "cases": [
    { "name": "a", "request": { "url": "/" }, "expect": { "status": "200" } },
    { "name": "a", "request": { "headers": { "x-api-key": 42, "bad name": "sk_secret_value" } }, "expect": { "status": 200, "ruleid": "x" } },
    { "request": { "url": "/", "ip": 1 }, "expect": { "status": 200 }, "repeat": 0, "advance": "soon" }
  ],
  "extra": true
}`,
    )
    const r = sec(['test', POLICY, cases])
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    const err = r.stderr
    expect(err).toMatch(
      /^sec: test: .*bad-cases\.json is not a valid cases file \(11 problems; see sec test --help\):/,
    )
    for (const path of [
      '/cases/0/expect/status (line 3',
      '/cases/1/name (line 4',
      '/cases/1/request/url (line 4',
      '/cases/1/request/headers/x-api-key (line 4',
      '/cases/1/request/headers/bad name (line 4',
      '/cases/1/expect/ruleid (line 4',
      '/cases/2/name (line 5',
      '/cases/2/request/ip (line 5',
      '/cases/2/repeat (line 5',
      '/cases/2/advance (line 5',
      '/extra (line 7',
    ]) {
      expect(err).toContain(`  ${path}`)
    }
    expect(err).toContain('duplicate case name (also /cases/0)')
    expect(r.all).not.toContain('sk_secret_value')
  })

  it('a cases file that is not JSON, or has no cases', () => {
    const syntax = sec(['test', POLICY, tmp('c.json', '{ "cases": [ }')])
    expect(syntax.status).toBe(2)
    expect(syntax.stderr).toContain(
      "(line 1, column 14): not valid JSON: unexpected '}': expected a value",
    )
    const empty = sec(['test', POLICY, tmp('c.json', '{ "cases": [] }')])
    expect(empty.status).toBe(2)
    expect(empty.stderr).toContain('/cases (line 1, column 3): must not be empty')
  })

  it('an invalid policy exits 1 with one line', () => {
    const r = sec(['test', tmp('p.json', { version: 1 }), example('cases.json')])
    expect(r.status).toBe(1)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain('not a valid policy (/rules is required)')
  })

  it('refuses custom rule types', () => {
    const policy = examplePolicy()
    policy.rules.push({ id: 'geo-block', type: 'geo' })
    const r = sec(['test', tmp('p.json', policy), example('cases.json')])
    expect(r.status).toBe(2)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain('"geo" (rule "geo-block")')
  })

  it('runs custom rule types loaded with --rules', () => {
    const policy = examplePolicy()
    policy.rules.unshift({ id: 'geo-block', type: 'geo' })
    const rules = tmp(
      'geo-rules.mjs',
      `export default { geo: { evaluate: (req) => req.header('x-country') === 'XX' ? { action: 'deny', status: 451 } : undefined } }\n`,
    )
    const cases = tmp('geo-cases.json', {
      cases: [
        {
          name: 'blocked country',
          request: { url: '/', headers: { 'x-country': 'XX' } },
          expect: { status: 451, ruleId: 'geo-block' },
        },
        {
          name: 'other country',
          request: { url: '/', headers: { 'x-country': 'FR' } },
          expect: { status: 200 },
        },
      ],
    })
    const r = sec(['test', tmp('geo-policy.json', policy), cases, '--rules', rules])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('blocked country')
  })

  it('colour marks only when asked', () => {
    const args = ['test', POLICY, example('cases.json')]
    expect(sec(args).stdout).not.toContain('\u001b[')
    expect(sec(args, { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } }).stdout).toContain(
      '\u001b[32m✓',
    )
  })
})
