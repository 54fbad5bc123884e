import { parse } from '../args.js'
import { EXIT_FAIL, EXIT_OK, usage } from '../errors.js'
import { plural, type Out, type Style } from '../io.js'
import { hintFor } from '../hints.js'
import { BUILT_IN_RULE_TYPES, checkPolicyFile } from '../policy-file.js'

export const checkHelp = `Usage: sec check <policy.json> [--strict] [--json]

Validates a policy file and lists every problem with its JSON path, its line and a hint.

Options:
  --strict    refuse rule types that are not built in (custom types are accepted with a
              notice otherwise: only their common fields can be checked without the app)
  --json      print the result as JSON
  -h, --help  show this help

Exit codes: 0 valid, 1 problems found, 2 usage error or unreadable file.

Example:
  $ sec check policy.json
  policy.json: valid: 5 rules (1 ip, 1 userAgent, 1 path, 1 apiKey, 1 rateLimit)`

export function check(args: readonly string[], out: Out, style: Style): number {
  const { values, positionals } = parse('check', args, {
    strict: { type: 'boolean' },
    json: { type: 'boolean' },
  })
  if (values.help) {
    out.print(checkHelp)
    return EXIT_OK
  }
  if (positionals.length !== 1) {
    throw usage(`check: expected one policy file, got ${positionals.length} (see sec check --help)`)
  }
  const file = positionals[0]!
  const strict = values.strict === true
  const result = checkPolicyFile(file, strict)
  const notices = strict
    ? []
    : result.custom.map(
        (c) =>
          `rule ${JSON.stringify(c.id)} (/rules/${c.index}) has custom type ${JSON.stringify(c.type)}: only its common fields (id, paths, methods, mode) were checked; the app that registers the type checks the rest (--strict refuses custom types)`,
      )

  if (!result.ok) {
    const problems = result.problems.map((p) => ({
      path: p.path,
      message: p.message,
      ...(p.location ? { line: p.location.line, column: p.location.column } : {}),
      hint: hintFor(p, strict, result.value),
    }))
    if (values.json) {
      out.print(JSON.stringify({ file, valid: false, problems, notices }, null, 2))
      return EXIT_FAIL
    }
    for (const n of notices) out.warn(`notice: ${n}`)
    out.print(style.red(`${file}: ${plural(problems.length, 'problem')}`))
    problems.forEach((p, i) => {
      const where = p.line !== undefined ? ` (line ${p.line}, column ${p.column})` : ''
      out.print(`  ${style.bold(p.path || '(file)')}${where}: ${p.message}`)
      // Two problems at one path (a schema and a semantic check) share their hint.
      const next = problems[i + 1]
      if (p.hint && !(next && next.path === p.path && next.hint === p.hint)) {
        out.print(style.dim(`    hint: ${p.hint}`))
      }
    })
    return EXIT_FAIL
  }

  const counts = new Map<string, number>()
  let monitored = 0
  for (const rule of result.rules) {
    const type = String(rule.type)
    counts.set(type, (counts.get(type) ?? 0) + 1)
    if (rule.mode === 'monitor') monitored++
  }
  const order = [
    ...BUILT_IN_RULE_TYPES,
    ...[...counts.keys()].filter((t) => !BUILT_IN_RULE_TYPES.includes(t)),
  ]
  const parts = order
    .filter((t) => counts.has(t))
    .map((t) => `${counts.get(t)} ${t}${BUILT_IN_RULE_TYPES.includes(t) ? '' : ' (custom)'}`)
  if (values.json) {
    out.print(
      JSON.stringify(
        {
          file,
          valid: true,
          problems: [],
          notices,
          rules: {
            total: result.rules.length,
            monitor: monitored,
            byType: Object.fromEntries(counts),
          },
        },
        null,
        2,
      ),
    )
    return EXIT_OK
  }
  for (const n of notices) out.warn(`notice: ${n}`)
  const summary =
    `${file}: valid: ${plural(result.rules.length, 'rule')}` +
    (parts.length > 0 ? ` (${parts.join(', ')})` : '') +
    (monitored > 0 ? `, ${monitored} in monitor mode` : '')
  out.print(style.green(summary))
  return EXIT_OK
}
