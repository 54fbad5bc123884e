import { s, type PolicyProblem } from '../policy/schema-dsl.js'
import type { HeaderRule } from '../policy/policy-types.js'
import { baseProperties, compileScope } from './rule-base.js'
import { PASS, type CompiledRule, type Verdict } from './rule.js'

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/

const headerNames = (description: string) =>
  s.array(s.string({ pattern: HEADER_NAME, hint: 'is not a valid header name' }), {
    minItems: 1,
    maxItems: 1000,
    description,
  })

export const headerRuleSchema = s.object(
  {
    ...baseProperties('header'),
    require: s.opt(headerNames('Deny requests missing any of these headers.')),
    forbid: s.opt(headerNames('Deny requests carrying any of these headers.')),
    maxTotalBytes: s.opt(
      s.integer({ minimum: 1, description: 'Cap on all header names + values, in characters.' }),
    ),
    maxCount: s.opt(s.integer({ minimum: 1, description: 'Cap on the number of header values.' })),
    maxValueBytes: s.opt(
      s.integer({ minimum: 1, description: 'Cap on one header value, in characters.' }),
    ),
  },
  { description: 'Require or forbid headers and cap their size.' },
)

export function checkHeaderRule(
  rule: Record<string, unknown>,
  path: string,
  problems: PolicyProblem[],
): void {
  const keys = ['require', 'forbid', 'maxTotalBytes', 'maxCount', 'maxValueBytes']
  if (!keys.some((k) => rule[k] !== undefined)) {
    problems.push({
      path,
      message: `a header rule needs at least one of ${keys.map((k) => `"${k}"`).join(', ')}`,
    })
  }
}

function denied(message: string): Verdict {
  return { outcome: 'deny', status: 403, code: 'header.denied', message }
}

export function compileHeaderRule(rule: HeaderRule): CompiledRule {
  const require = (rule.require ?? []).map((h) => h.toLowerCase())
  const forbid = (rule.forbid ?? []).map((h) => h.toLowerCase())
  const { maxTotalBytes, maxCount, maxValueBytes } = rule
  const needsStats = maxTotalBytes !== undefined || maxCount !== undefined
  const tooLarge = denied('Request headers are too large.')
  const messages = {
    missing: new Map(require.map((h) => [h, denied(`Header ${h} is required.`)])),
    forbidden: new Map(forbid.map((h) => [h, denied(`Header ${h} is not allowed.`)])),
  }
  return {
    id: rule.id,
    type: 'header',
    monitor: rule.mode === 'monitor',
    applies: compileScope(rule, 'broad'),
    evaluate(req) {
      for (const name of require) {
        const values = req.headers.all(name)
        if (values === undefined || values.every((v) => v === ''))
          return messages.missing.get(name)!
      }
      for (const name of forbid) {
        if (req.headers.all(name) !== undefined) return messages.forbidden.get(name)!
      }
      if (needsStats || maxValueBytes !== undefined) {
        const stats = req.headers.stats()
        if (maxCount !== undefined && stats.count > maxCount) return tooLarge
        if (maxTotalBytes !== undefined && stats.bytes > maxTotalBytes) return tooLarge
        if (maxValueBytes !== undefined && stats.maxValue > maxValueBytes) return tooLarge
      }
      return PASS
    },
  }
}
