import { BOT_CATEGORY_NAMES, type BotCategory } from '../bots/bot-categories.js'
import { s } from '../policy/schema-dsl.js'
import type { UserAgentRule } from '../policy/policy-types.js'
import { baseProperties, compileScope, stringList } from './rule-base.js'
import { compileLiteralSet, MAX_LITERAL_CHARS } from './literal-set.js'
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
        [
          s.boolean(),
          s.array(s.string({ enum: BOT_CATEGORY_NAMES }), { minItems: 1, maxItems: 64 }),
        ],
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
  // Each list is capped in entries and entry length by the schema; together they are also
  // capped in characters, which bounds the matcher's memory (about 20 bytes a character).
  let chars = 0
  for (const key of ['exact', 'prefix', 'contains']) {
    const list = rule[key]
    if (!Array.isArray(list)) continue
    for (const entry of list) if (typeof entry === 'string') chars += entry.length
  }
  if (chars > MAX_LITERAL_CHARS) {
    problems.push({
      path,
      message: `"exact", "prefix" and "contains" hold ${chars} characters together: at most ${MAX_LITERAL_CHARS}`,
    })
  }
}

export function compileUserAgentRule(rule: UserAgentRule, env: CompileEnv): CompiledRule {
  const deny = rule.action === 'deny'
  const literal = compileLiteralSet(rule)
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
