import { describe, expect, it } from 'vitest'
import { example, examplePolicy, lines, sec, STACK, tmp } from './helpers.js'

describe('sec check', () => {
  it('a valid policy: exit 0 and a one-line summary by rule type', () => {
    const r = sec(['check', example('policy.json')])
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    expect(lines(r.stdout)).toEqual([
      `${example('policy.json')}: valid: 7 rules (1 ip, 1 userAgent, 2 path, 1 apiKey, 2 rateLimit)`,
    ])
  })

  it('counts monitor rules and accepts an empty rule list', () => {
    const p = tmp('p.json', {
      version: 1,
      rules: [{ id: 'b', type: 'userAgent', action: 'deny', missing: true, mode: 'monitor' }],
    })
    expect(sec(['check', p]).stdout).toContain('valid: 1 rule (1 userAgent), 1 in monitor mode')
    const empty = sec(['check', tmp('e.json', { version: 1, rules: [] })])
    expect(empty.status).toBe(0)
    expect(empty.stdout).toContain('valid: 0 rules')
  })

  const invalid = `{
  "version": 2,
  "rules": [
    { "id": "a", "type": "ip", "action": "deny", "ips": ["1.2.3.999"] },
    { "id": "a", "type": "path", "action": "deny", "pathz": ["/x"] },
    { "id": "keys", "type": "apiKey", "keys": [{ "id": "k", "sha256": "my-plain-secret-key" }] },
    { "id": "rl", "type": "rateLimit", "limit": 5, "window": "1 minute" }
  ],
  "log": "all",
  "log": "none"
}
`

  it('an invalid policy: every problem with its JSON path, line and hint; exit 1', () => {
    const file = tmp('bad.json', invalid)
    const r = sec(['check', file])
    expect(r.status).toBe(1)
    expect(r.stderr).toBe('')
    const out = r.stdout
    expect(out).toMatch(new RegExp(`^${file.replace(/[\\.]/g, '\\$&')}: 9 problems`))
    expect(out).toContain('/version (line 2, column 3): must be 1')
    expect(out).toContain('/rules/0/ips/0 (line 4, column')
    expect(out).toContain('/rules/1/paths (line 5, column 5): is required')
    expect(out).toContain('/rules/1/pathz (line 5, column')
    expect(out).toContain('hint: did you mean "paths"?')
    expect(out).toContain('/rules/1/id (line 5, column 7): duplicate rule id "a" (also /rules/0)')
    expect(out).toContain('/rules/2/keys/0/sha256 (line 6, column')
    expect(out).toContain(
      'hint: put the SHA-256 of the key here, never the key: use `sec key hash <key>`',
    )
    expect(out).toContain('/rules/3/window (line 7, column')
    expect(out).toContain('/log (line 10, column 3): appears twice in the same object')
    // A plain key pasted where a hash belongs is never echoed.
    expect(r.all).not.toContain('my-plain-secret-key')
  })

  it('--json lists the same problems as data', () => {
    const r = sec(['check', tmp('bad.json', invalid), '--json'])
    expect(r.status).toBe(1)
    const report = JSON.parse(r.stdout) as {
      valid: boolean
      problems: { path: string; line?: number; hint?: string }[]
    }
    expect(report.valid).toBe(false)
    expect(report.problems.map((p) => p.path).sort()).toEqual(
      [
        '/version',
        '/rules/0/ips/0',
        '/rules/1/paths',
        '/rules/1/pathz',
        '/rules/1/id',
        '/rules/2/keys/0/sha256',
        '/rules/3/window',
        '/rules/3/window',
        '/log',
      ].sort(),
    )
    expect(report.problems.find((p) => p.path === '/version')?.line).toBe(2)
    expect(r.all).not.toContain('my-plain-secret-key')
  })

  it('every problem has a hint', () => {
    const file = tmp(
      'hints.json',
      '{ "version": 1, "log": "sometimes", "clientIp": { "trustProxy": "yes" },\n  "rules": [ { "id": "u", "type": "userAgent", "action": "deny", "contains": "BadBot" }, { "type": "path" } ] }',
    )
    const r = sec(['check', file, '--json'])
    const report = JSON.parse(r.stdout) as { problems: { path: string; hint?: string }[] }
    expect(report.problems.map((p) => p.path)).toEqual([
      '/log',
      '/clientIp/trustProxy',
      '/rules/0/contains',
      '/rules/1/id',
      '/rules/1/paths',
      '/rules/1/action',
    ])
    for (const p of report.problems) expect(p.hint, p.path).toMatch(/\S/)
    expect(report.problems[2]!.hint).toBe('write a list, even for one value: ["…"]')
  })

  it('--json for a valid policy', () => {
    const r = sec(['check', example('policy.json'), '--json'])
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({
      valid: true,
      problems: [],
      rules: {
        total: 7,
        monitor: 0,
        byType: { ip: 1, userAgent: 1, path: 2, apiKey: 1, rateLimit: 2 },
      },
    })
  })

  it('a JSON syntax error names its line and column', () => {
    const file = tmp(
      'syntax.json',
      '{\n  "version": 1,\n  "rules": [\n    { "id": "x" "type": "path" }\n  ]\n}\n',
    )
    const r = sec(['check', file])
    expect(r.status).toBe(1)
    expect(r.stdout).toContain("(line 4, column 17): not valid JSON: expected ',' or '}'")
    expect(r.all).not.toMatch(STACK)
  })

  it.each([
    ['a trailing comma', '{ "version": 1, "rules": [], }', "trailing comma before '}'", 1, 30],
    ['a comment', '{\n  // policy\n  "version": 1 }', 'comments are not allowed', 2, 3],
    ['an unterminated string', '{ "version": 1, "rules": [\n "x', 'unterminated string', 2, 2],
    ['an empty file', '', 'a value is missing', 1, 1],
  ])('syntax: %s', (_name, text, message, line, column) => {
    const r = sec(['check', tmp('s.json', text)])
    expect(r.status).toBe(1)
    expect(r.stdout).toContain(`(line ${line}, column ${column}): not valid JSON: `)
    expect(r.stdout).toContain(message)
  })

  it('a policy that is not an object', () => {
    const r = sec(['check', tmp('arr.json', '[1, 2]')])
    expect(r.status).toBe(1)
    expect(r.stdout).toContain('(file) (line 1, column 1): must be an object, got array')
  })

  it('custom rule types: accepted with a notice; refused with --strict', () => {
    const policy = examplePolicy()
    policy.rules.push({ id: 'geo-block', type: 'geo', countries: ['XX'] })
    const file = tmp('custom.json', policy)
    const r = sec(['check', file])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(
      'valid: 8 rules (1 ip, 1 userAgent, 2 path, 1 apiKey, 2 rateLimit, 1 geo (custom))',
    )
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(/^notice: rule "geo-block" \(\/rules\/7\) has custom type "geo"/)

    const strict = sec(['check', file, '--strict'])
    expect(strict.status).toBe(1)
    expect(strict.stdout).toContain('/rules/7/type')
    expect(strict.stdout).toContain('unknown rule type "geo"')
    expect(strict.stderr).toBe('')
  })

  it('custom rules still get their common fields checked', () => {
    const file = tmp('custom-bad.json', {
      version: 1,
      rules: [{ id: 'bad id!', type: 'geo', paths: ['no-slash'] }],
    })
    const r = sec(['check', file])
    expect(r.status).toBe(1)
    expect(r.stdout).toContain('/rules/0/id')
    expect(r.stdout).toContain('/rules/0/paths/0')
  })

  it('colour only when asked (FORCE_COLOR) and never with NO_COLOR', () => {
    const file = example('policy.json')
    expect(sec(['check', file]).stdout).not.toContain('\u001b[')
    expect(
      sec(['check', file], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } }).stdout,
    ).toContain('\u001b[32m')
    expect(sec(['check', file], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } }).stdout).not.toContain(
      '\u001b[',
    )
  })
})
