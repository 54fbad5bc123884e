import { createEngine, type Engine, type EngineOptions as CreateEngineOptions } from '../engine.js'
import type { CustomRuleConfig, Policy } from '../policy/policy-types.js'
import type { CustomRule } from '../rules/custom-rule.js'
import type { Decision, DecisionEvent, Store } from '../types.js'

/** Identity the app already knows, keyed on by `context:<name>` in the policy. */
export type RequestContext = Readonly<Record<string, string | undefined>>

interface CommonOptions<Req> {
  /** Fills `RequestInput.context` from the framework request (a user id, a tenant, a plan). */
  context?: (req: Req) => RequestContext | undefined
}

interface PolicyOptions<Req> extends CommonOptions<Req> {
  /** The policy: an object (see `definePolicy`) or JSON text. */
  policy: Policy<CustomRuleConfig> | string | object
  engine?: undefined
  /** Rate-limit store. Default: a new `MemoryStore()` per engine. */
  store?: Store
  /** Decision log sink. The second argument is the framework request. */
  onDecision?: (event: DecisionEvent, request?: unknown) => void
  /** Custom rule types named in the policy. */
  rules?: Readonly<Record<string, CustomRule>>
}

interface EngineOptions<Req> extends CommonOptions<Req> {
  /** An engine shared by several apps (one policy, one store). */
  engine: Engine
  policy?: undefined
  store?: undefined
  onDecision?: undefined
  rules?: undefined
}

/** Options every adapter takes: `{ policy }` (plus store, onDecision, rules) or `{ engine }`. */
export type SecOptions<Req = unknown> = PolicyOptions<Req> | EngineOptions<Req>

/**
 * The engine an adapter should use. Throws a `TypeError` for options that cannot work, so a
 * misconfigured app fails at startup, not on the first request.
 */
export function engineFromOptions<Req>(
  options: SecOptions<Req>,
  adapter: string,
  defaults: Pick<CreateEngineOptions, 'onDecision' | 'shouldLog'> = {},
): Engine {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${adapter}: pass { policy } or { engine }`)
  }
  if (options.context !== undefined && typeof options.context !== 'function') {
    throw new TypeError(`${adapter}: context must be a function (req) => ({ name: value })`)
  }
  if (options.engine !== undefined) {
    if (options.policy !== undefined) {
      throw new TypeError(`${adapter}: pass either { policy } or { engine }, not both`)
    }
    for (const key of ['store', 'onDecision', 'rules'] as const) {
      if (options[key] !== undefined) {
        throw new TypeError(`${adapter}: ${key} belongs to createEngine() when you pass { engine }`)
      }
    }
    if (typeof options.engine?.evaluate !== 'function') {
      throw new TypeError(`${adapter}: engine must come from createEngine()`)
    }
    return options.engine
  }
  if (options.policy === undefined) throw new TypeError(`${adapter}: pass { policy } or { engine }`)
  // The default sink's filter belongs to the default sink: never to the app's own onDecision.
  const sink: Pick<CreateEngineOptions, 'onDecision' | 'shouldLog'> = options.onDecision
    ? { onDecision: options.onDecision }
    : defaults
  return createEngine(options.policy, {
    ...(options.store ? { store: options.store } : {}),
    ...(options.rules ? { rules: options.rules } : {}),
    ...(sink.onDecision ? { onDecision: sink.onDecision } : {}),
    ...(sink.onDecision && sink.shouldLog ? { shouldLog: sink.shouldLog } : {}),
  })
}

/** The JSON body of a denied request: `{ error: code, message }`. */
export function denialBody(decision: Decision): { error: string; message: string } {
  return { error: decision.code, message: decision.message }
}
