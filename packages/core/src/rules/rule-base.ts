import { checkGlob, compilePaths, MAX_GLOB_LENGTH } from '../request/path-glob.js'
import {
  pointer,
  s,
  type PolicyProblem,
  type Property,
  type SchemaNode,
} from '../policy/schema-dsl.js'
import type { RuleBase } from '../policy/policy-types.js'
import type { RequestView } from './rule.js'

export const RULE_ID = /^[A-Za-z0-9_.:-]{1,64}$/
const METHOD = /^[A-Za-z][A-Za-z-]{0,31}$/

/** Most globs in one `paths` list. */
export const MAX_GLOBS = 10_000
/** Most entries in one list of strings (addresses, user agents). */
export const MAX_LIST_ITEMS = 100_000

export const globList = (description: string): SchemaNode =>
  s.array(
    s.string({
      minLength: 1,
      maxLength: MAX_GLOB_LENGTH,
      pattern: /^\//,
      hint: 'must start with "/"',
    }),
    { minItems: 1, maxItems: MAX_GLOBS, description },
  )

export const stringList = (description: string, maxLength = 1024): SchemaNode =>
  s.array(s.string({ minLength: 1, maxLength }), {
    minItems: 1,
    maxItems: MAX_LIST_ITEMS,
    description,
  })

/** Properties every rule has. */
export function baseProperties(type: string): Record<string, Property> {
  return {
    id: s.req(
      s.string({
        pattern: RULE_ID,
        hint: 'must be 1-64 letters, digits or _ . : -',
        description: 'Unique id; appears in logs, headers and Decision.ruleId.',
      }),
    ),
    type: s.req(s.const(type)),
    paths: s.opt(
      globList('Path globs this rule applies to (default: all). `*` one segment, `**` any depth.'),
    ),
    methods: s.opt(
      s.array(s.string({ pattern: METHOD, hint: 'is not an HTTP method name' }), {
        minItems: 1,
        maxItems: 64,
        description: 'Methods this rule applies to (default: all). GET also covers HEAD.',
      }),
    ),
    mode: s.opt(
      s.string({
        enum: ['enforce', 'monitor'],
        description: '`monitor` records what the rule would do without enforcing it.',
      }),
    ),
  }
}

/** Semantic checks on globs that a schema cannot express. */
export function checkGlobs(value: unknown, path: string, problems: PolicyProblem[]): void {
  // A list over its cap is already refused whole: checking a million entries adds nothing.
  if (!Array.isArray(value) || value.length > MAX_GLOBS) return
  value.forEach((glob, i) => {
    if (typeof glob !== 'string') return
    const problem = checkGlob(glob)
    if (problem) problems.push({ path: pointer(path, i), message: problem })
  })
}

/**
 * Which requests a rule looks at. Deny and protect rules select by the broad path form (every
 * encoding of a path), exemptions by the exact one (principle 1).
 */
export function compileScope(
  rule: Pick<RuleBase, 'paths' | 'methods'>,
  kind: 'broad' | 'exact',
): (req: RequestView) => boolean {
  const paths = rule.paths && rule.paths.length > 0 ? compilePaths(rule.paths, kind) : undefined
  const methods = compileMethods(rule.methods)
  if (!paths && !methods) return () => true
  if (!paths) return (req) => methods!(req.method)
  if (!methods) return (req) => paths.matches(req.path)
  return (req) => methods(req.method) && paths.matches(req.path)
}

/** `GET` covers `HEAD`: every router here answers HEAD with the GET handler. */
export function compileMethods(
  methods: readonly string[] | undefined,
): ((method: string) => boolean) | undefined {
  if (!methods || methods.length === 0) return undefined
  const set = new Set(methods.map((m) => m.toUpperCase()))
  if (set.has('GET')) set.add('HEAD')
  return (method) => set.has(method)
}
