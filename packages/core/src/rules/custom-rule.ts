import type { CustomRuleConfig } from '../policy/policy-types.js'
import type { PolicyProblem } from '../policy/schema-dsl.js'
import { compileScope } from './rule-base.js'
import { ALLOW, PASS, type CompiledRule, type RequestView, type Verdict } from './rule.js'

/** What a custom rule sees of a request: canonical values, never raw secrets. */
export interface RuleRequest {
  /** Upper-cased method. */
  readonly method: string
  /** Canonical path, case and trailing slash preserved. */
  readonly path: string
  /** Canonical path, case-folded, for deny-broadly matching. */
  readonly broadPath: string
  /** Resolved client address ('' when unknown). */
  readonly clientIp: string
  /** First value of a header, or undefined. `name` is case-insensitive. */
  header(name: string): string | undefined
  /** Every value of a header, or undefined. */
  headerValues(name: string): readonly string[] | undefined
  /** App identity from the adapter's `context` option. */
  readonly context: Readonly<Record<string, string | undefined>>
  /** Id of the API key verified by an earlier apiKey rule. */
  readonly apiKeyId: string | undefined
}

/** What a custom rule returns. Returning nothing means `pass`. */
export type RuleVerdict =
  | { action: 'pass' }
  | { action: 'allow' }
  | {
      action: 'deny'
      /** Default 403. */
      status?: number
      /** Default `<type>.denied`. */
      code?: string
      message?: string
      headers?: Record<string, string>
    }

export interface CustomRule<Options extends CustomRuleConfig = CustomRuleConfig> {
  /**
   * Checks the rule's own options (everything beside id, type, paths, methods, mode). Return
   * problems as messages, or `{ path, message }` with `path` relative to the rule
   * (`'/countries/0'`). Called by `validatePolicy` and `createEngine`.
   */
  validate?(
    rule: Readonly<Record<string, unknown>>,
  ): readonly (string | { path: string; message: string })[] | undefined | void
  /**
   * Decides about one request. May be async; a throw or rejection fails closed (503).
   * (Method syntax on purpose: a rule typed for its own options still fits the registry.)
   */
  evaluate(
    req: RuleRequest,
    rule: Options,
  ): RuleVerdict | undefined | void | Promise<RuleVerdict | undefined | void>
}

/** Identity function that gives a custom rule its types. */
export function defineRule<Options extends CustomRuleConfig = CustomRuleConfig>(
  rule: CustomRule<Options>,
): CustomRule<Options> {
  return rule
}

export function runCustomValidate(
  rule: CustomRule,
  config: Record<string, unknown>,
  path: string,
  problems: PolicyProblem[],
): void {
  let result: ReturnType<NonNullable<CustomRule['validate']>>
  try {
    result = rule.validate?.(config)
  } catch (error) {
    problems.push({
      path,
      message: `the rule's validate threw: ${error instanceof Error ? error.message : String(error)}`,
    })
    return
  }
  if (!result) return
  for (const problem of result) {
    if (typeof problem === 'string') problems.push({ path, message: problem })
    else
      problems.push({
        path:
          path +
          (problem.path.startsWith('/') || problem.path === '' ? problem.path : `/${problem.path}`),
        message: problem.message,
      })
  }
}

const EMPTY_CONTEXT: Readonly<Record<string, string | undefined>> = Object.freeze({})

function toRuleRequest(req: RequestView): RuleRequest {
  return {
    method: req.method,
    path: req.path.exact,
    broadPath: req.path.broad,
    clientIp: req.clientIp,
    header: (name) => req.headers.all(name.toLowerCase())?.[0],
    headerValues: (name) => req.headers.all(name.toLowerCase()),
    context: req.context ?? EMPTY_CONTEXT,
    apiKeyId: req.apiKeyId,
  }
}

function toVerdict(type: string, v: RuleVerdict | undefined | void): Verdict {
  if (!v || v.action === 'pass') return PASS
  if (v.action === 'allow') return ALLOW
  if (v.action === 'deny') {
    const status =
      Number.isInteger(v.status) && v.status! >= 400 && v.status! <= 599 ? v.status! : 403
    return {
      outcome: 'deny',
      status,
      code: typeof v.code === 'string' && v.code !== '' ? v.code : `${type}.denied`,
      message: typeof v.message === 'string' ? v.message : 'Request denied.',
      ...(v.headers ? { headers: v.headers } : {}),
    }
  }
  // Anything else is a bug in the rule: fail closed.
  throw new TypeError(`custom rule returned an unknown action`)
}

function isPromise<T>(value: unknown): value is Promise<T> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

export function compileCustomRule(config: CustomRuleConfig, rule: CustomRule): CompiledRule {
  const type = config.type
  return {
    id: config.id,
    type,
    monitor: config.mode === 'monitor',
    // A custom rule may deny: select requests broadly.
    applies: compileScope(config, 'broad'),
    evaluate(req) {
      const out = rule.evaluate(toRuleRequest(req), config)
      return isPromise<RuleVerdict | undefined | void>(out)
        ? out.then((v) => toVerdict(type, v))
        : toVerdict(type, out as RuleVerdict | undefined | void)
    },
  }
}
