import { validatePolicy, type PolicyProblem } from '@sec/core'
import { CliError, EXIT_FAIL } from './errors.js'
import { readText } from './io.js'
import { parseJson, type Location } from './json-locate.js'

/** The rule types @sec/core runs itself; anything else is a custom type registered by the app. */
export const BUILT_IN_RULE_TYPES = ['ip', 'userAgent', 'path', 'header', 'apiKey', 'rateLimit']

export interface CustomRuleRef {
  index: number
  id: string
  type: string
}

export interface LocatedProblem extends PolicyProblem {
  location?: Location | undefined
}

export type PolicyCheck =
  | {
      ok: true
      policy: Record<string, unknown>
      rules: Record<string, unknown>[]
      custom: CustomRuleRef[]
    }
  | { ok: false; problems: LocatedProblem[]; custom: CustomRuleRef[]; value: unknown }

/**
 * Reads, parses and validates a policy file. Unreadable → CliError (exit 2). Problems (syntax
 * included) are returned, each with its JSON Pointer and, when known, its line and column.
 */
export function checkPolicyFile(file: string, strict: boolean): PolicyCheck {
  const text = readText(file)
  const parsed = parseJson(text)
  if (!parsed.ok) {
    return {
      ok: false,
      custom: [],
      value: undefined,
      problems: [
        { path: '', message: `not valid JSON: ${parsed.message}`, location: parsed.location },
      ],
    }
  }
  const custom = customRules(parsed.value)
  const result = validatePolicy(parsed.value, { allowUnknownRuleTypes: !strict })
  const problems: LocatedProblem[] = []
  // JSON.parse keeps the last of two equal keys; the reader of the file may see the first.
  for (const d of parsed.duplicates) {
    problems.push({
      path: d.pointer,
      message: 'appears twice in the same object (JSON keeps only the last one)',
      location: d.location,
    })
  }
  if (!result.ok) {
    for (const p of result.errors) problems.push({ ...p, location: parsed.locate(p.path) })
  }
  if (problems.length > 0) {
    problems.sort(
      (a, b) =>
        (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
        (a.location?.column ?? 0) - (b.location?.column ?? 0),
    )
    return { ok: false, problems, custom, value: parsed.value }
  }
  const policy = parsed.value as Record<string, unknown>
  return { ok: true, policy, rules: policy.rules as Record<string, unknown>[], custom }
}

/** Rules whose type is not built in. */
export function customRules(policy: unknown): CustomRuleRef[] {
  const rules = (policy as { rules?: unknown } | null)?.rules
  if (!Array.isArray(rules)) return []
  const out: CustomRuleRef[] = []
  rules.forEach((rule: unknown, index) => {
    if (rule === null || typeof rule !== 'object') return
    const { id, type } = rule as Record<string, unknown>
    if (typeof type === 'string' && !BUILT_IN_RULE_TYPES.includes(type)) {
      out.push({ index, id: typeof id === 'string' ? id : `#${index}`, type })
    }
  })
  return out
}

/**
 * For commands that run the policy (explain, test, replay): a valid policy, or one clear line
 * (exit 1) that points to `sec check`.
 */
export function loadRunnablePolicy(
  file: string,
  command: string,
): { policy: Record<string, unknown>; rules: Record<string, unknown>[]; custom: CustomRuleRef[] } {
  const result = checkPolicyFile(file, false)
  if (!result.ok) {
    const first = result.problems[0]!
    const at = first.location ? `${file}:${first.location.line}:${first.location.column}` : file
    const problem = `${first.path ? `${first.path} ` : ''}${first.message}`
    const what =
      result.problems.length === 1
        ? problem
        : `${result.problems.length} problems, the first: ${problem}`
    throw new CliError(
      `${command}: ${at}: not a valid policy (${what}); run sec check ${file}`,
      EXIT_FAIL,
    )
  }
  return result
}

/** Describes custom rules for messages: `geo (rule "no-xx"), …`. */
export function describeCustom(custom: CustomRuleRef[]): string {
  const types = [...new Set(custom.map((c) => c.type))]
  return types
    .map((type) => {
      const ids = custom.filter((c) => c.type === type).map((c) => JSON.stringify(c.id))
      return `${JSON.stringify(type)} (rule${ids.length > 1 ? 's' : ''} ${ids.join(', ')})`
    })
    .join(', ')
}
