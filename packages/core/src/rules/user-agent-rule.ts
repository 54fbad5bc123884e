import { BOT_CATEGORY_NAMES, type BotCategory } from '../bots/bot-categories.js'
import { s } from '../policy/schema-dsl.js'
import type { UserAgentRule } from '../policy/policy-types.js'
import { baseProperties, compileScope, stringList } from './rule-base.js'
import { ALLOW, PASS, type CompileEnv, type CompiledRule, type Verdict } from './rule.js'

export const userAgentRuleSchema = s.object(
  {
    ...baseProperties('userAgent'),
    action: s.req(s.string({ enum: ['allow', 'deny'] })),
    contains: s.opt(stringList('Case-insensitive substrings.')),
    exact: s.opt(stringList('Case-insensitive whole values.')),
    prefix: s.opt(stringList('Case-insensitive prefixes.')),
    missing: s.opt(s.boolean('Match a request with no, empty or blank User-Agent.')),
    bots: s.opt(
      s.anyOf(
        [s.boolean(), s.array(s.string({ enum: BOT_CATEGORY_NAMES }), { minItems: 1 })],
        `must be true, false or a list of bot categories (${BOT_CATEGORY_NAMES.join(', ')})`,
        'Match known automated clients (true), or only these categories.',
      ),
    ),
  },
  { description: 'Allow or deny clients by User-Agent.' },
)

export function checkUserAgentRule(
  rule: Record<string, unknown>,
  path: string,
  problems: { path: string; message: string }[],
): void {
  const any = ['contains', 'exact', 'prefix', 'missing', 'bots'].some(
    (k) => rule[k] !== undefined && rule[k] !== false,
  )
  if (!any) {
    problems.push({
      path,
      message:
        'a userAgent rule needs at least one of "contains", "exact", "prefix", "missing", "bots"',
    })
  }
}

export function compileUserAgentRule(rule: UserAgentRule, env: CompileEnv): CompiledRule {
  const deny = rule.action === 'deny'
  const literal = compileLiterals(rule)
  const bots: ((c: BotCategory) => boolean) | undefined =
    rule.bots === true
      ? () => true
      : Array.isArray(rule.bots) && rule.bots.length > 0
        ? (
            (set) => (c: BotCategory) =>
              set.has(c)
          )(new Set<BotCategory>(rule.bots))
        : undefined
  const classify = env.classifyBot

  const matchesOne = (ua: string): boolean => {
    if (ua === '') return rule.missing === true
    if (literal !== undefined && literal.test(ua)) return true
    if (bots) {
      const category = classify(ua)
      if (category !== undefined && bots(category)) return true
    }
    return false
  }

  const hit: Verdict = deny
    ? {
        outcome: 'deny',
        status: 403,
        code: 'userAgent.denied',
        message: 'Your client is not allowed here.',
      }
    : ALLOW

  return {
    id: rule.id,
    type: 'userAgent',
    monitor: rule.mode === 'monitor',
    applies: compileScope(rule, deny ? 'broad' : 'exact'),
    evaluate(req) {
      const values = req.headers.all('user-agent')
      if (values === undefined || values.every((v) => v === '')) {
        return rule.missing === true ? hit : PASS
      }
      if (deny) {
        // A repeated header fails safe: any matching value denies.
        for (const v of values) if (matchesOne(v)) return hit
        return PASS
      }
      // Allow narrowly: exactly one agent, and it matches.
      return values.length === 1 && matchesOne(values[0]!) ? hit : PASS
    },
  }
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')

/**
 * One case-insensitive regex for every exact, prefix and contains entry: no lower-cased copy
 * of the agent per request. Built only from escaped literals in plain alternations, so it
 * runs in time linear in the agent's length (no nested quantifiers to backtrack through).
 */
function compileLiterals(rule: UserAgentRule): RegExp | undefined {
  const parts: string[] = []
  if (rule.exact?.length) parts.push(`^(?:${rule.exact.map(escapeRegExp).join('|')})$`)
  if (rule.prefix?.length) parts.push(`^(?:${rule.prefix.map(escapeRegExp).join('|')})`)
  if (rule.contains?.length) parts.push(`(?:${rule.contains.map(escapeRegExp).join('|')})`)
  return parts.length > 0 ? new RegExp(parts.join('|'), 'i') : undefined
}
