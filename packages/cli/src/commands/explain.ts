import { createEngine, type Decision, type DecisionEvent } from '@sec/core'
import { loadCustomRules, requireRules } from '../custom-rules.js'
import { parse, str, strs } from '../args.js'
import { EXIT_OK, usage } from '../errors.js'
import type { Out, Style } from '../io.js'
import { loadRunnablePolicy } from '../policy-file.js'
import { renderDecision } from '../render.js'
import { checkMethod, headerMap, maskUrl, parseContextArgs, parseHeaderArg } from '../request.js'

export const explainHelp = `Usage: sec explain <policy.json> --url <target> [options]

Runs the policy once on one request (in-memory rate limits) and shows the Decision and what
every rule said: skip, pass, allow, deny or error, monitor marks, rate-limit state and the
response headers. Header values (API keys) are never printed back.

Options:
  -X, --method <method>     HTTP method (default GET)
  -u, --url <target>        raw request-target, e.g. '/api/orders?page=2' (default /)
  -H, --header <'n: v'>     a request header, curl style; repeat for more
  -A, --user-agent <ua>     shorthand for -H 'user-agent: <ua>'
      --ip <address>        the socket peer address (default: unknown, outside every IP list)
      --context <k=v>       app identity for context:<name> rules; repeat for more
      --repeat <n>          send the request n times on one engine, explain the last
                            (to see a rate limit trip); default 1
      --json                print the Decision as JSON
      --rules <module>      load custom rule types from your module (named exports; the
                            export name is the rule type)
  -h, --help                show this help

A policy with custom rule types needs their code: pass it with --rules.

Exit codes: 0 explained (allowed or denied), 1 invalid policy, 2 usage error.

Example:
  $ sec explain policy.json --url /%61dmin --ip 203.0.113.7
  request   GET /%61dmin
            canonical path /admin
  ...
  DENIED  403 path.denied by rule "no-admin" (path): Forbidden.`

export async function explain(args: readonly string[], out: Out, style: Style): Promise<number> {
  const { values, positionals } = parse('explain', args, {
    method: { type: 'string', short: 'X' },
    url: { type: 'string', short: 'u' },
    header: { type: 'string', short: 'H', multiple: true },
    'user-agent': { type: 'string', short: 'A' },
    ip: { type: 'string' },
    context: { type: 'string', multiple: true },
    repeat: { type: 'string' },
    json: { type: 'boolean' },
    rules: { type: 'string' },
  })
  if (values.help) {
    out.print(explainHelp)
    return EXIT_OK
  }
  if (positionals.length === 0)
    throw usage('explain: expected a policy file (see sec explain --help)')
  if (positionals.length > 1) {
    // Never echo it: an unquoted `-H x-api-key: secret` leaves the key as a positional.
    throw usage(
      `explain: unexpected extra argument #${positionals.length}; quote header values: -H 'name: value' (see sec explain --help)`,
    )
  }
  const file = positionals[0]!
  const method = checkMethod(str(values.method) ?? 'GET', 'explain')
  const url = str(values.url) ?? '/'
  const pairs = strs(values.header).map((h, i) => parseHeaderArg(h, i + 1, 'explain'))
  const ua = str(values['user-agent'])
  if (ua !== undefined) pairs.push(['user-agent', ua])
  const context = parseContextArgs(strs(values.context), 'explain')
  const repeatText = str(values.repeat) ?? '1'
  if (!/^[1-9][0-9]{0,5}$/.test(repeatText)) {
    throw usage('explain: --repeat must be a whole number from 1 to 999999')
  }
  const repeat = Number(repeatText)
  const ip = str(values.ip)

  const { policy, rules, custom } = loadRunnablePolicy(file, 'explain')
  const customRules = await loadCustomRules(str(values.rules), 'explain')
  requireRules(custom, customRules, 'explain')
  let event: DecisionEvent | undefined
  // Log everything so the canonical path is known, whatever the policy's `log` says.
  const engine = createEngine(
    { ...policy, log: 'all' },
    { onDecision: (e) => (event = e), rules: customRules },
  )
  const input = {
    method,
    url,
    headers: headerMap(pairs),
    remoteAddress: ip,
    ...(Object.keys(context).length > 0 ? { context } : {}),
  }
  let decision: Decision | undefined
  for (let i = 0; i < repeat; i++) decision = await engine.decide(input)
  if (values.json) {
    out.print(JSON.stringify(decision, null, 2))
    return EXIT_OK
  }
  const secretParams = new Set(
    rules
      .filter((r) => r.type === 'apiKey' && typeof r.query === 'string')
      .map((r) => r.query as string),
  )
  const lines = renderDecision(
    decision!,
    rules.map((r) => ({
      id: String(r.id),
      type: String(r.type),
      mode: r.mode as string | undefined,
    })),
    {
      method,
      url: maskUrl(url, secretParams),
      canonicalPath: decision!.code === 'request.invalid' ? undefined : event?.path,
      headerNames: [...new Set(pairs.map(([n]) => n))],
      context,
      repeat,
    },
    style,
  )
  for (const line of lines) out.print(line)
  return EXIT_OK
}
