import { compilePaths } from '../request/path-glob.js'
import { s } from '../policy/schema-dsl.js'
import type { PathRule } from '../policy/policy-types.js'
import { baseProperties, compileMethods, globList } from './rule-base.js'
import { ALLOW, PASS, type CompiledRule, type Verdict } from './rule.js'

export const pathRuleSchema = s.object(
  {
    ...baseProperties('path'),
    action: s.req(s.string({ enum: ['allow', 'deny'] })),
    paths: s.req(
      globList(
        'A deny matches every encoding of these paths; an allow only the exact canonical path.',
      ),
    ),
  },
  { description: 'Allow (exempt) or deny paths.' },
)

const DENIED: Verdict = {
  outcome: 'deny',
  status: 403,
  code: 'path.denied',
  message: 'This path is not allowed.',
}

export function compilePathRule(rule: PathRule): CompiledRule {
  const deny = rule.action === 'deny'
  const paths = compilePaths(rule.paths, deny ? 'broad' : 'exact')
  const methods = compileMethods(rule.methods)
  return {
    id: rule.id,
    type: 'path',
    monitor: rule.mode === 'monitor',
    applies: methods ? (req) => methods(req.method) : () => true,
    evaluate: (req) => (paths.matches(req.path) ? (deny ? DENIED : ALLOW) : PASS),
  }
}
