import { describe, expect, it } from 'vitest'
import { example, examplePolicy, lines, sec, tmp } from './helpers.js'

const POLICY = example('policy.json')
const JSON_LOG = example('decisions.log')
const ACCESS_LOG = example('access.log')

interface Report {
  replayed: number
  formats: { json: number; combined: number }
  skipped: { count: number; lines: number[] }
  unchanged: number
  changed: number
  notComparable: number
  groups: {
    ruleId: string
    type: string | null
    inCandidate: boolean
    count: number
    transitions: {
      from: string
      to: string
      count: number
      examples: { line: number; method: string; path: string; clientIp: string }[]
    }[]
  }[]
  monitor: Record<string, number>
  notices: string[]
}

function report(policy: string, log: string, ...extra: string[]): Report {
  const r = sec(['replay', policy, log, '--json', ...extra])
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as Report
}

/** The example policy with a rule inserted after no-admin (index 3). */
function withRule(rule: Record<string, unknown>): string {
  const policy = examplePolicy()
  policy.rules.splice(4, 0, rule)
  return tmp('candidate.json', policy)
}

const NO_INTERNAL = { id: 'no-internal', type: 'path', action: 'deny', paths: ['/internal/**'] }

type Event = Record<string, unknown>
const T0 = Date.UTC(2025, 10, 20, 10, 0, 0)
function event(overrides: Event): Event {
  return {
    time: T0,
    method: 'GET',
    path: '/',
    clientIp: '203.0.113.7',
    userAgent: 'curl/8.5.0',
    allowed: true,
    status: 200,
    code: 'allowed',
    durationMs: 0.1,
    ...overrides,
  }
}
const log = (...entries: (Event | string)[]): string =>
  tmp(
    'log.ndjson',
    entries.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('\n') + '\n',
  )

describe('sec replay', () => {
  it('JSON log: a new path deny reports exactly the affected requests, under the new rule', () => {
    const r = report(withRule(NO_INTERNAL), JSON_LOG)
    expect(r).toMatchObject({
      replayed: 17,
      formats: { json: 17, combined: 0 },
      skipped: { count: 1, lines: [6] },
      unchanged: 14,
      changed: 3,
      notComparable: 0,
    })
    expect(r.groups).toEqual([
      {
        ruleId: 'no-internal',
        type: 'path',
        inCandidate: true,
        count: 3,
        transitions: [
          {
            from: 'allowed',
            to: '403 path.denied',
            count: 3,
            examples: [
              { line: 2, method: 'GET', path: '/internal/metrics', clientIp: '10.0.0.5' },
              { line: 5, method: 'GET', path: '/internal/debug/pprof', clientIp: '203.0.113.9' },
              { line: 12, method: 'GET', path: '/internal/status', clientIp: '10.0.0.5' },
            ],
          },
        ],
      },
    ])
  })

  it('the same, as text', () => {
    const r = sec(['replay', withRule(NO_INTERNAL), JSON_LOG, '--examples', '2'])
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(/^replayed 17 requests \(17 JSON events\) against .*candidate\.json$/),
      'skipped 1 unparseable line (line 6)',
      '14 unchanged, 3 decided differently',
      '',
      'rule "no-internal" (path): 3 requests',
      '  allowed → 403 path.denied: 3',
      '    GET /internal/metrics from 10.0.0.5 (line 2)',
      '    GET /internal/debug/pprof from 203.0.113.9 (line 5)',
      '    …and 1 more',
    ])
  })

  it('combined access log: the same change, the logged status as the old decision', () => {
    const r = report(withRule(NO_INTERNAL), ACCESS_LOG)
    expect(r).toMatchObject({
      replayed: 8,
      formats: { json: 0, combined: 8 },
      skipped: { count: 1, lines: [7] },
      unchanged: 6,
      changed: 2,
    })
    expect(r.groups).toHaveLength(1)
    expect(r.groups[0]).toMatchObject({ ruleId: 'no-internal', count: 2 })
    expect(r.groups[0]!.transitions).toEqual([
      {
        from: 'logged 200',
        to: '403 path.denied',
        count: 1,
        examples: [{ line: 2, method: 'GET', path: '/internal/metrics', clientIp: '10.0.0.5' }],
      },
      {
        from: 'logged 404',
        to: '403 path.denied',
        count: 1,
        examples: [
          { line: 5, method: 'GET', path: '/internal/debug/pprof', clientIp: '203.0.113.9' },
        ],
      },
    ])
  })

  it('the policy that wrote the logs replays with no change (keys and rate limits included)', () => {
    for (const file of [JSON_LOG, ACCESS_LOG]) {
      const r = report(POLICY, file)
      expect(r.changed, file).toBe(0)
      expect(r.groups).toEqual([])
    }
    expect(sec(['replay', POLICY, JSON_LOG, '--fail-on-change']).status).toBe(0)
  })

  it('--fail-on-change exits 1 when something changes', () => {
    const r = sec(['replay', withRule(NO_INTERNAL), ACCESS_LOG, '--fail-on-change'])
    expect(r.status).toBe(1)
    expect(r.stdout).toContain('rule "no-internal" (path): 2 requests')
    expect(lines(r.stderr).at(-1)).toBe('sec: replay: 2 requests would be decided differently')
  })

  it('the shipped candidate: two groups, largest first', () => {
    const r = report(example('policy.candidate.json'), JSON_LOG)
    expect(r.groups.map((g) => [g.ruleId, g.count])).toEqual([
      ['no-internal', 3],
      ['bots', 1],
    ])
    expect(r.groups[1]!.transitions[0]).toMatchObject({
      from: 'allowed',
      to: '403 userAgent.denied',
      examples: [{ line: 7, path: '/api/orders' }],
    })
  })

  it('API keys: a logged key id is replayed as that key; revoking or narrowing it shows up', () => {
    const revoked = examplePolicy()
    const keys = revoked.rules[4] as { keys: { id: string }[] }
    keys.keys = keys.keys.filter((k) => k.id !== 'reports')
    const r = report(tmp('revoked.json', revoked), JSON_LOG)
    expect(r.changed).toBe(2)
    expect(r.groups).toHaveLength(1)
    expect(r.groups[0]!.ruleId).toBe('keys')
    expect(
      r.groups[0]!.transitions.map((t) => [t.from, t.to, t.count, t.examples.map((e) => e.line)]),
    ).toEqual([
      ['allowed', '401 apiKey.invalid', 1, [8]],
      ['403 apiKey.scope', '401 apiKey.invalid', 1, [9]],
    ])

    const narrowed = examplePolicy()
    const svc = (narrowed.rules[4] as { keys: Record<string, unknown>[] }).keys[0]!
    svc.methods = ['POST']
    const n = report(tmp('narrowed.json', narrowed), JSON_LOG)
    expect(
      n.groups.map((g) => [g.ruleId, g.transitions.map((t) => `${t.from} → ${t.to} ×${t.count}`)]),
    ).toEqual([['keys', ['allowed → 403 apiKey.scope ×2']]])
  })

  it('API keys: an invalid key stays invalid; a missing one stays missing', () => {
    const file = log(
      event({
        path: '/api/x',
        allowed: false,
        status: 401,
        code: 'apiKey.invalid',
        ruleId: 'keys',
      }),
      event({
        path: '/api/x',
        allowed: false,
        status: 401,
        code: 'apiKey.missing',
        ruleId: 'keys',
      }),
    )
    expect(report(POLICY, file)).toMatchObject({ replayed: 2, unchanged: 2, changed: 0 })
  })

  it('rate limits replay on the logged clock', () => {
    const lowered = examplePolicy()
    ;(lowered.rules[6] as Record<string, unknown>).limit = 3
    const r = report(tmp('lowered.json', lowered), JSON_LOG)
    expect(
      r.groups.map((g) => [
        g.ruleId,
        g.transitions.map((t) => [t.from, t.to, t.examples.map((e) => e.line)]),
      ]),
    ).toEqual([['login', [['allowed', '429 rateLimit.exceeded', [16, 17]]]]])
    // Six logins a minute apart never hit a limit of 5 per minute.
    const spread = log(
      ...Array.from({ length: 6 }, (_, i) =>
        event({ method: 'POST', path: '/login', time: T0 + i * 60_000 }),
      ),
    )
    expect(report(POLICY, spread).changed).toBe(0)
    const burst = log(...Array.from({ length: 6 }, () => event({ method: 'POST', path: '/login' })))
    const b = report(POLICY, burst)
    expect(b.changed).toBe(1)
    expect(b.groups[0]!.transitions[0]!.examples[0]!.line).toBe(6)
  })

  it('--per-service keeps rate-limit state per service', () => {
    const entries = Array.from({ length: 6 }, (_, i) =>
      event({ service: i % 2 === 0 ? 'express' : 'koa', method: 'POST', path: '/login' }),
    )
    expect(report(POLICY, log(...entries)).changed).toBe(1)
    expect(report(POLICY, log(...entries), '--per-service').changed).toBe(0)
  })

  it('reads nested (pino) events, plain events, and mixed formats; counts what it skips', () => {
    const file = log(
      { level: 30, time: T0, pid: 1, sec: event({ path: '/internal/x' }), msg: 'sec decision' },
      event({ path: '/internal/y' }),
      '10.0.0.9 - - [20/Nov/2025:10:00:02 +0000] "GET /internal/z?token=abc HTTP/1.1" 200 1 "-" "-"',
      '10.0.0.9 - - [20/Nov/2025:10:00:02 +0000] "GET /internal/common HTTP/1.0" 200 1',
      '{"not":"an event"}',
      '{ broken json',
      'GET /internal/nope',
      '',
    )
    const r = report(withRule(NO_INTERNAL), file)
    expect(r).toMatchObject({
      replayed: 4,
      formats: { json: 2, combined: 2 },
      skipped: { count: 3, lines: [5, 6, 7] },
      changed: 4,
    })
    // Query strings are not shown: they may hold secrets.
    const paths = r.groups[0]!.transitions.flatMap((t) => t.examples.map((e) => e.path))
    expect(paths).toContain('/internal/z?…')
    expect(JSON.stringify(r)).not.toContain('token=abc')
  })

  it('a removed rule: its requests are grouped under it, marked as gone', () => {
    const policy = examplePolicy()
    policy.rules = policy.rules.filter((rule) => rule.id !== 'no-admin')
    const r = report(tmp('no-admin-removed.json', policy), JSON_LOG)
    expect(r.groups).toEqual([
      expect.objectContaining({
        ruleId: 'no-admin',
        type: null,
        inCandidate: false,
        transitions: [
          expect.objectContaining({ from: '403 path.denied', to: 'allowed', count: 1 }),
        ],
      }),
    ])
    const text = sec(['replay', tmp('no-admin-removed.json', policy), JSON_LOG])
    expect(text.stdout).toContain('rule "no-admin" (not in the candidate policy): 1 request')
  })

  it('header rules and custom rules are left out with a notice; what they decided is not comparable', () => {
    const policy = examplePolicy()
    policy.rules.unshift(
      { id: 'tenant', type: 'header', require: ['x-tenant'] },
      { id: 'geo-block', type: 'geo', countries: ['XX'] },
    )
    const file = tmp('left-out.json', policy)
    const entries = log(
      event({}),
      event({ allowed: false, status: 403, code: 'header.denied', ruleId: 'tenant' }),
      event({ allowed: false, status: 451, code: 'geo.denied', ruleId: 'geo-block' }),
      event({
        allowed: false,
        status: 503,
        code: 'store.unavailable',
        ruleId: 'login',
        path: '/login',
        method: 'POST',
      }),
    )
    const r = sec(['replay', file, entries])
    expect(r.status).toBe(0)
    expect(r.stderr).toContain(
      'notice: rule "tenant" (header) is left out: logs do not record request headers',
    )
    expect(r.stderr).toContain('notice: rule "geo-block" has custom type "geo" and is left out')
    expect(r.stdout).toContain('3 requests not comparable')
    expect(r.stdout).toContain('1 unchanged, 0 decided differently')
  })

  it('a monitor rule in the candidate: counted, not a change', () => {
    const r = report(
      withRule({
        id: 'watch-internal',
        type: 'path',
        action: 'deny',
        paths: ['/internal/**'],
        mode: 'monitor',
      }),
      JSON_LOG,
    )
    expect(r.changed).toBe(0)
    expect(r.monitor).toEqual({ 'watch-internal': 3 })
  })

  it('a log with no readable line is an error (exit 2, one line)', () => {
    const r = sec(['replay', POLICY, tmp('junk.log', 'hello\nworld\n')])
    expect(r.status).toBe(2)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain('no line of')
    expect(r.stderr).toContain('(2 lines skipped)')
  })

  it('an empty log replays nothing', () => {
    const r = sec(['replay', POLICY, tmp('empty.log', '')])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('replayed 0 requests')
  })

  it('reads the log from stdin with -', () => {
    const r = sec(['replay', withRule(NO_INTERNAL), '-', '--json'], {
      input: JSON.stringify(event({ path: '/internal/a' })) + '\n',
    })
    expect((JSON.parse(r.stdout) as Report).changed).toBe(1)
  })

  it('validates --examples', () => {
    expect(sec(['replay', POLICY, JSON_LOG, '--examples', 'many']).status).toBe(2)
  })
})
