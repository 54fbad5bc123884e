import type { PolicyProblem } from '@sec/core'

/** Edit distance, for "did you mean" on misspelt property names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      )
      prev = tmp
    }
  }
  return row[b.length]!
}

const last = (path: string): string =>
  path
    .slice(path.lastIndexOf('/') + 1)
    .replace(/~1/g, '/')
    .replace(/~0/g, '~')

/** A short, actionable hint for every policy problem. */
export function hintFor(problem: PolicyProblem, strict: boolean, policy: unknown): string {
  return specificHint(problem, strict) ?? generalHint(problem.path, policy)
}

/** Where to read about the part of the policy a problem is in. */
function generalHint(path: string, policy: unknown): string {
  const rule = /^\/rules\/(\d+)(?:\/|$)/.exec(path)
  if (rule) {
    const rules = (policy as { rules?: unknown } | null)?.rules
    const value = Array.isArray(rules)
      ? (rules[Number(rule[1])] as { type?: unknown } | undefined)
      : undefined
    const type = typeof value?.type === 'string' ? value.type : undefined
    if (type === undefined)
      return 'every rule needs "id" and "type"; see the policy reference in the @sec/core README'
    return `see the options of "${type}" rules in the policy reference (@sec/core README)`
  }
  if (path.startsWith('/clientIp')) {
    return 'clientIp takes trustProxy (false, a hop count or addresses/CIDRs), header (x-forwarded-for or forwarded) and ipv6Subnet'
  }
  if (path.startsWith('/log')) return 'log is "all", "denied" or "none"'
  return 'a policy is { "version": 1, "clientIp"?, "log"?, "rules": [ … ] }; see the policy reference (@sec/core README)'
}

function specificHint(problem: PolicyProblem, strict: boolean): string | undefined {
  const { path, message } = problem
  const field = last(path)
  if (message.startsWith('not valid JSON')) {
    return 'fix the syntax at the line and column shown (JSON allows no comments and no trailing commas)'
  }
  if (message.startsWith('appears twice')) return 'remove one of the two: keep the one you mean'
  const known = /is not a known property \(expected one of: ([^)]*)\)/.exec(message)
  if (known) {
    const options = known[1]!.split(', ')
    const best = options.map((o) => ({ o, d: distance(field, o) })).sort((a, b) => a.d - b.d)[0]
    if (best && best.d <= Math.max(2, Math.floor(field.length / 3)))
      return `did you mean "${best.o}"?`
    return `remove it, or use one of: ${options.join(', ')}`
  }
  if (field === 'sha256' || /\/keys\/\d+$/.test(path)) {
    return 'put the SHA-256 of the key here, never the key: use `sec key hash <key>` (or `sec key new` for a fresh key and its policy line)'
  }
  if (/\/type$/.test(path) && message.startsWith('unknown rule type')) {
    return strict
      ? 'built-in types are ip, userAgent, path, header, apiKey, rateLimit; without --strict, sec check accepts custom types (your app registers them in createEngine({ rules }))'
      : 'built-in types are ip, userAgent, path, header, apiKey, rateLimit'
  }
  if (field === 'id' && message.startsWith('duplicate rule id')) {
    return 'rule ids must be unique: they name the rule in logs, headers and Decision.ruleId'
  }
  if (field === 'id' && message.startsWith('duplicate key id')) {
    return 'key ids must be unique within a rule: logs name the key by its id'
  }
  if (field === 'id') return 'ids are 1-64 letters, digits or _ . : -'
  if (field === 'version') return 'the policy format version is 1: "version": 1'
  if (path === '/rules' && message === 'is required')
    return 'a policy needs "rules": [ … ] (it may be empty)'
  if (field === 'window' || /\/window$/.test(path)) {
    return 'a duration: "500ms", "10s", "1m", "1h", "1d", or a number of milliseconds'
  }
  if (field === 'limit' || field === 'limits') {
    return 'a rate limit needs either "limit" and "window", or "limits": [{ "limit", "window" }, …]'
  }
  if (/\/(ips|unless|trustProxy)(\/\d+)?$/.test(path)) {
    return 'addresses (203.0.113.7, 2001:db8::1), CIDRs (203.0.113.0/24) or the keywords loopback, private, linklocal'
  }
  if (/\/paths(\/\d+)?$/.test(path)) {
    return 'path globs start with "/": * matches within one segment, ** any number of segments ("/admin/**")'
  }
  if (/\/methods(\/\d+)?$/.test(path))
    return 'HTTP methods such as "GET", "POST" (GET also covers HEAD)'
  if (/\/by(\/\d+)?$/.test(path)) {
    return '"ip", "apiKey", "header:<name>", "context:<name>", or a list of these'
  }
  if (/\/bots(\/\d+)?$/.test(path)) {
    return 'true, or categories: ai, search, seo, social, monitor, headless, archiver, tool, other'
  }
  if (message.startsWith('must be an array, got string'))
    return `write a list, even for one value: ["…"]`
  if (field === 'mode') return '"enforce" (default) or "monitor" (records, never blocks)'
  if (field === 'action') return '"allow" (an exemption that ends evaluation) or "deny"'
  return undefined
}
