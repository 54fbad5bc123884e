import { checkApiKeyRule } from '../rules/api-key-rule.js'
import { runCustomValidate, type CustomRule } from '../rules/custom-rule.js'
import { checkHeaderRule } from '../rules/header-rule.js'
import { checkIpList, checkIpRule } from '../rules/ip-rule.js'
import { checkRateLimitRule } from '../rules/rate-limit-rule.js'
import { checkGlobs } from '../rules/rule-base.js'
import { checkUserAgentRule } from '../rules/user-agent-rule.js'
import { BUILT_IN_RULE_TYPES, policySchema } from './policy-schema.js'
import type { CustomRuleConfig, Policy } from './policy-types.js'
import { check, pointer, type PolicyProblem } from './schema-dsl.js'

export type { PolicyProblem }

export type ValidationResult =
  | { ok: true; policy: Policy<CustomRuleConfig>; errors?: undefined }
  | { ok: false; policy?: undefined; errors: PolicyProblem[] }

export interface ValidateOptions {
  /** Custom rule types, as given to `createEngine({ rules })`. */
  rules?: Readonly<Record<string, CustomRule>>
  /**
   * Accept rule types that are not registered (checking only their common fields). For tools
   * like `sec check` that see a policy without the app's custom rules.
   */
  allowUnknownRuleTypes?: boolean
}

/** Thrown by `createEngine` on an invalid policy: never start half-protected. */
export class PolicyError extends Error {
  readonly errors: PolicyProblem[]
  constructor(errors: PolicyProblem[]) {
    const lines = errors.slice(0, 20).map((e) => `  ${e.path || '(policy)'}: ${e.message}`)
    if (errors.length > 20) lines.push(`  …and ${errors.length - 20} more`)
    super(
      `Invalid sec policy (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    )
    this.name = 'PolicyError'
    this.errors = errors
  }
}

type SemanticCheck = (
  rule: Record<string, unknown>,
  path: string,
  problems: PolicyProblem[],
) => void

const SEMANTIC: Record<(typeof BUILT_IN_RULE_TYPES)[number], SemanticCheck> = {
  ip: checkIpRule,
  userAgent: checkUserAgentRule,
  path: () => {},
  header: checkHeaderRule,
  apiKey: checkApiKeyRule,
  rateLimit: checkRateLimitRule,
}

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

/**
 * Checks a policy (object or JSON text) and reports every problem at once, each with the JSON
 * Pointer of the value at fault.
 */
export function validatePolicy(input: unknown, options: ValidateOptions = {}): ValidationResult {
  let policy: unknown = input
  if (typeof input === 'string') {
    try {
      policy = JSON.parse(input)
    } catch (error) {
      const detail = error instanceof Error ? withoutSource(error.message) : 'syntax error'
      return { ok: false, errors: [{ path: '', message: `is not valid JSON: ${detail}` }] }
    }
  }
  try {
    return validateValue(policy, options)
  } catch (error) {
    // Plain data cannot throw here; an object with a throwing getter or a Proxy can. Such a
    // policy is refused like any other invalid one, never half-read.
    const detail = error instanceof Error ? error.message : 'unknown error'
    return { ok: false, errors: [{ path: '', message: `could not be read: ${detail}` }] }
  }
}

function validateValue(policy: unknown, options: ValidateOptions): ValidationResult {
  const custom = options.rules ?? {}
  const problems: PolicyProblem[] = []
  check(policySchema, policy, '', problems, (type, rule, path) => {
    if (typeof type !== 'string') return
    if (own(custom, type)) {
      runCustomValidate(custom[type]!, rule, path, problems)
    } else if (!options.allowUnknownRuleTypes) {
      problems.push({
        path: pointer(path, 'type'),
        message: `unknown rule type ${JSON.stringify(type)}: built-in types are ${BUILT_IN_RULE_TYPES.join(', ')}; register custom types in createEngine({ rules })`,
      })
    }
  })
  if (policy !== null && typeof policy === 'object' && !Array.isArray(policy)) {
    semanticChecks(policy as Record<string, unknown>, problems)
  }
  if (problems.length > 0) return { ok: false, errors: problems }
  return { ok: true, policy: policy as Policy<CustomRuleConfig> }
}

/**
 * A JSON.parse message without the policy text it quotes: V8 shows the text around the error
 * (`Unexpected token 'h', ..."sha256":hunter2}" is not valid JSON`, or a short text whole), and a
 * policy with a syntax error may be one where a key was pasted in place of its hash: the same
 * reason a sensitive field's value is never echoed.
 */
function withoutSource(message: string): string {
  return message.replace(/,? (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/, '')
}

function semanticChecks(policy: Record<string, unknown>, problems: PolicyProblem[]): void {
  const clientIp = policy.clientIp
  if (clientIp !== null && typeof clientIp === 'object') {
    checkIpList((clientIp as Record<string, unknown>).trustProxy, '/clientIp/trustProxy', problems)
  }
  if (!Array.isArray(policy.rules)) return
  const seen = new Map<string, number>()
  policy.rules.forEach((rule: unknown, i) => {
    if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) return
    const r = rule as Record<string, unknown>
    const path = pointer('/rules', i)
    if (typeof r.id === 'string') {
      const first = seen.get(r.id)
      if (first !== undefined) {
        problems.push({
          path: pointer(path, 'id'),
          message: `duplicate rule id ${JSON.stringify(r.id)} (also /rules/${first})`,
        })
      } else seen.set(r.id, i)
    }
    checkGlobs(r.paths, pointer(path, 'paths'), problems)
    if (typeof r.type === 'string' && own(SEMANTIC, r.type)) {
      SEMANTIC[r.type as keyof typeof SEMANTIC](r, path, problems)
    }
  })
}
