import { createEngine, MemoryStore, type Decision } from '@sec/core'
import { parse, str } from '../args.js'
import { loadCustomRules, requireRules } from '../custom-rules.js'
import { CliError, EXIT_FAIL, EXIT_OK, EXIT_USAGE, usage } from '../errors.js'
import { pad, plural, readText, type Out, type Style } from '../io.js'
import { parseCases, type CaseExpect, type TestCase } from '../cases.js'
import { loadRunnablePolicy } from '../policy-file.js'

export const testHelp = `Usage: sec test <policy.json> <cases.json>

Runs policy tests written as data: each case is a request and the Decision expected for it.
Cases run in order on one engine, so rate limits accumulate; the clock is a test clock that
only moves when a case says "advance", so results never depend on timing.

cases.json:
  {
    "defaults": { "ip": "203.0.113.7", "headers": { "user-agent": "curl/8" } },   (optional)
    "cases": [
      { "name": "admin is denied, however encoded",
        "request": { "method": "GET", "url": "/%61dmin", "headers": { "x-api-key": "…" },
                     "ip": "203.0.113.7", "context": { "userId": "u_42" } },
        "expect": { "status": 403, "code": "path.denied", "ruleId": "no-admin" } },
      { "name": "6th login is limited", "repeat": 6, "advance": "1m",
        "request": { "method": "POST", "url": "/login" },
        "expect": { "status": 429, "code": "rateLimit.exceeded" } }
    ]
  }
  request: url is required; method defaults to GET; headers map a name to a value or a list
           of values (null drops a header set in defaults); ip is the socket peer.
  expect:  status is required; code, ruleId, apiKeyId (null: none) and headers (exact values)
           are checked when given.
  repeat:  send the request n times, check the last Decision (default 1).
  advance: move the test clock forward first ("500ms", "10s", "1m", "1h", "1d" or ms).

Options:
  --rules <module>  load custom rule types from your module (named exports; the export name
                    is the rule type), so policies with custom rules can be tested
  -h, --help        show this help

Exit codes: 0 all cases pass, 1 a case fails or the policy is invalid, 2 usage error,
unreadable file or invalid cases file.`

/** The test clock starts here: a whole day, so windows of a minute, an hour or a day line up. */
const TEST_EPOCH_MS = Date.UTC(2030, 0, 1)

interface Row {
  ok: boolean
  name: string
  expected: string
  got: string
  details: string[]
}

export async function test(args: readonly string[], out: Out, style: Style): Promise<number> {
  const { values, positionals } = parse('test', args, { rules: { type: 'string' } })
  if (values.help) {
    out.print(testHelp)
    return EXIT_OK
  }
  if (positionals.length !== 2) {
    throw usage(
      `test: expected a policy file and a cases file, got ${plural(positionals.length, 'argument')} (see sec test --help)`,
    )
  }
  const [policyFile, casesFile] = positionals as [string, string]
  const casesText = readText(casesFile)
  const parsed = parseCases(casesText)
  if (!parsed.ok) {
    const lines = parsed.problems.map((p) => {
      const where = p.location ? ` (line ${p.location.line}, column ${p.location.column})` : ''
      return `  ${p.path || '(file)'}${where}: ${p.message}`
    })
    throw new CliError(
      `test: ${casesFile} is not a valid cases file (${plural(parsed.problems.length, 'problem')}; see sec test --help):\n${lines.join('\n')}`,
      EXIT_USAGE,
    )
  }
  const { policy, custom } = loadRunnablePolicy(policyFile, 'test')
  const rules = await loadCustomRules(str(values.rules), 'test')
  requireRules(custom, rules, 'test')
  let now = TEST_EPOCH_MS
  const engine = createEngine(policy, { store: new MemoryStore({ now: () => now }), rules })

  const rows: Row[] = []
  for (const c of parsed.cases) {
    now += c.advanceMs
    let decision: Decision | undefined
    for (let i = 0; i < c.repeat; i++) {
      decision = await engine.decide({
        method: c.request.method,
        url: c.request.url,
        headers: c.request.headers,
        remoteAddress: c.request.ip,
        context: c.request.context,
      })
    }
    rows.push(compare(c, decision!))
  }

  const failed = rows.filter((r) => !r.ok).length
  const nameWidth = Math.max(4, ...rows.map((r) => [...r.name].length))
  const expWidth = Math.max(8, ...rows.map((r) => r.expected.length))
  out.print(style.dim(`   ${pad('case', nameWidth)}  ${pad('expected', expWidth)}  got`))
  for (const r of rows) {
    const mark = r.ok ? style.green('✓') : style.red('✗')
    const got = r.ok ? r.got : style.red(r.got)
    out.print(`${mark}  ${pad(r.name, nameWidth)}  ${pad(r.expected, expWidth)}  ${got}`)
    for (const d of r.details) out.print(`     ${style.dim(d)}`)
  }
  out.print('')
  const summary = `${plural(rows.length - failed, 'case')} passed, ${failed} failed`
  out.print(failed === 0 ? style.green(summary) : style.red(summary))
  return failed === 0 ? EXIT_OK : EXIT_FAIL
}

function compare(c: TestCase, d: Decision): Row {
  const e = c.expect
  const details: string[] = []
  let ok = d.status === e.status
  if (e.code !== undefined && d.code !== e.code) ok = false
  if (e.ruleId !== undefined && (d.ruleId ?? null) !== e.ruleId) ok = false
  if (e.apiKeyId !== undefined && (d.apiKeyId ?? null) !== e.apiKeyId) {
    ok = false
    details.push(`apiKeyId: expected ${e.apiKeyId ?? 'none'}, got ${d.apiKeyId ?? 'none'}`)
  }
  for (const [name, value] of Object.entries(e.headers ?? {})) {
    const key = Object.keys(d.headers).find((k) => k.toLowerCase() === name.toLowerCase())
    const actual = key === undefined ? undefined : d.headers[key]
    if (actual !== value) {
      ok = false
      details.push(
        `${name}: expected ${JSON.stringify(value)}, got ${actual === undefined ? '(not set)' : JSON.stringify(actual)}`,
      )
    }
  }
  return {
    ok,
    name: c.repeat > 1 ? `${c.name} (×${c.repeat})` : c.name,
    expected: expectedPhrase(e),
    got: `${d.status} ${d.code}${d.ruleId !== undefined ? ` by ${d.ruleId}` : ''}${d.apiKeyId !== undefined ? `, key ${d.apiKeyId}` : ''}`,
    details,
  }
}

function expectedPhrase(e: CaseExpect): string {
  let text = String(e.status)
  if (e.code !== undefined) text += ` ${e.code}`
  if (e.ruleId === null) text += ' (no rule)'
  else if (e.ruleId !== undefined) text += ` by ${e.ruleId}`
  if (e.apiKeyId === null) text += ', no key'
  else if (e.apiKeyId !== undefined) text += `, key ${e.apiKeyId}`
  return text
}
