import { parseIpEntry } from '../ip/ip-address.js'
import { IpSet } from '../ip/ip-set.js'
import { pointer, s, type PolicyProblem } from '../policy/schema-dsl.js'
import type { IpRule } from '../policy/policy-types.js'
import { baseProperties, compileScope, MAX_LIST_ITEMS, stringList } from './rule-base.js'
import { ALLOW, PASS, type CompiledRule, type Verdict } from './rule.js'

export const ipRuleSchema = s.object(
  {
    ...baseProperties('ip'),
    action: s.req(s.string({ enum: ['allow', 'deny'] })),
    ips: s.opt(stringList('Addresses, CIDRs or the keywords loopback, private, linklocal.', 64)),
    unless: s.opt(
      stringList('Match every client OUTSIDE these (an unknown client is outside).', 64),
    ),
  },
  { description: 'Allow or deny clients by address.' },
)

export function checkIpList(value: unknown, path: string, problems: PolicyProblem[]): void {
  // A list over its cap is already refused whole: parsing a million entries adds nothing.
  if (!Array.isArray(value) || value.length > MAX_LIST_ITEMS) return
  value.forEach((entry, i) => {
    if (typeof entry === 'string' && !parseIpEntry(entry)) {
      problems.push({
        path: pointer(path, i),
        message: `${JSON.stringify(entry)} is not an IP address, CIDR or keyword (loopback, private, linklocal)`,
      })
    }
  })
}

export function checkIpRule(
  rule: Record<string, unknown>,
  path: string,
  problems: PolicyProblem[],
): void {
  const hasIps = rule.ips !== undefined
  const hasUnless = rule.unless !== undefined
  if (hasIps === hasUnless) {
    problems.push({ path, message: 'an ip rule needs exactly one of "ips" or "unless"' })
  }
  checkIpList(rule.ips, pointer(path, 'ips'), problems)
  checkIpList(rule.unless, pointer(path, 'unless'), problems)
}

export function buildIpSet(entries: readonly string[]): IpSet {
  return new IpSet(entries.flatMap((e) => parseIpEntry(e) ?? []))
}

export function compileIpRule(rule: IpRule): CompiledRule {
  const deny = rule.action === 'deny'
  const inverted = rule.unless !== undefined
  const set = buildIpSet(rule.unless ?? rule.ips ?? [])
  const hit: Verdict = deny
    ? {
        outcome: 'deny',
        status: 403,
        code: 'ip.denied',
        message: 'Your address is not allowed here.',
      }
    : ALLOW
  return {
    id: rule.id,
    type: 'ip',
    monitor: rule.mode === 'monitor',
    applies: compileScope(rule, deny ? 'broad' : 'exact'),
    evaluate(req) {
      // An unknown client is outside every list: `ips` never matches it, `unless` always does.
      const inside = req.client !== undefined && set.has(req.client)
      return inside !== inverted ? hit : PASS
    },
  }
}
