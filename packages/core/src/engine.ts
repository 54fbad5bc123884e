import { createBotClassifier } from './bots/bot-categories.js'
import { compileClientIp } from './ip/client-ip.js'
import { createClientLookup, type ClientLookup } from './ip/client-cache.js'
import { EngineDecisionEvent } from './log/decision-event.js'
import type {
  ApiKeyRule,
  CustomRuleConfig,
  HeaderRule,
  IpRule,
  PathRule,
  Policy,
  RateLimitRule,
  Rule,
  UserAgentRule,
} from './policy/policy-types.js'
import { BUILT_IN_RULE_TYPES } from './policy/policy-schema.js'
import { PolicyError, validatePolicy } from './policy/validate.js'
import { rateLimitHeaders, type RateLimitField } from './ratelimit/rate-limit-headers.js'
import { readHeaders } from './request/headers.js'
import { canonicalizeTarget } from './request/request-target.js'
import { compileApiKeyRule } from './rules/api-key-rule.js'
import { compileCustomRule, type CustomRule } from './rules/custom-rule.js'
import { compileHeaderRule } from './rules/header-rule.js'
import { compileIpRule } from './rules/ip-rule.js'
import { compilePathRule } from './rules/path-rule.js'
import { compileRateLimitRule } from './rules/rate-limit-rule.js'
import type {
  CompileEnv,
  CompiledRule,
  LimitMeta,
  RateLimitPlan,
  RequestView,
  Verdict,
} from './rules/rule.js'
import { compileUserAgentRule } from './rules/user-agent-rule.js'
import { MemoryStore } from './store/memory-store.js'
import { boundedCaller, monotonicNow } from './store/timeout.js'
import type {
  Decision,
  DecisionEvent,
  RateLimitCheck,
  RateLimitInfo,
  RateLimitOutcome,
  RequestInput,
  RuleResult,
  Store,
} from './types.js'

export interface EngineOptions {
  /** Where rate-limit state lives. Default: a new `MemoryStore()`. */
  store?: Store
  /** Custom rule types, referenced by `type` in the policy. */
  rules?: Readonly<Record<string, CustomRule>>
  /**
   * Receives one event per decision (filtered by the policy's `log`), before `decide` resolves.
   * `request` is whatever the caller passed as the second argument of `decide`/`evaluate`:
   * adapters pass the framework's request, so a sink can log through its logger. Must not
   * throw (if it does, the error is swallowed).
   */
  onDecision?: (event: DecisionEvent, request?: unknown) => void
  /**
   * Asked before an event is built for `onDecision` (after the policy's `log` filter): return
   * false to skip this decision's event. Building one costs about half a microsecond, which a
   * sink that would drop it should not pay: adapters' default sinks use it while the
   * framework's logger has the level off. Must not throw (if it does, the event is skipped).
   */
  shouldLog?: (decision: Decision, request?: unknown) => boolean
}

export interface Engine {
  /** Decides about one request. Never rejects: bad input gets a Decision. */
  decide(input: RequestInput, request?: unknown): Promise<Decision>
  /**
   * Same as `decide`, but answers synchronously when nothing has to wait (memory store, no
   * async custom rule): adapters use it to skip a promise hop per request.
   */
  evaluate(input: RequestInput, request?: unknown): Decision | Promise<Decision>
  /** The validated policy. */
  readonly policy: Policy<CustomRuleConfig>
  readonly store: Store
}

/** Wait this long for a store without its own `timeoutMs`. */
const DEFAULT_STORE_TIMEOUT_MS = 1000

const INVALID_TARGET = 'The request target is not a valid path.'
const MESSAGES: Record<string, string> = {
  allowed: 'OK',
  'rateLimit.exceeded': 'Too many requests. Try again later.',
  'store.unavailable': 'The service cannot check its rate limits right now.',
  'rule.error': 'The request could not be checked.',
}

interface Pending {
  rule: CompiledRule
  plan: RateLimitPlan
  /** Index in results where this rule's result goes. */
  slot: number
}

/** Mutable state of one evaluation. */
interface Run {
  readonly view: RequestView
  readonly results: RuleResult[]
  /** Rate-limit rules waiting for the store; allocated only when one applies. */
  batch: Pending[] | undefined
  monitorBatch: Pending[] | undefined
  /** The verdict that ended evaluation (a sync or custom rule), if any. */
  verdict: Verdict | undefined
  verdictRule: CompiledRule | undefined
  /** Enforced limits seen, for the RateLimit headers. */
  rateLimits: RateLimitField[] | undefined
  /** An enforced rate limit could not reach the store (and failed open). */
  storeFailed: boolean
  readonly start: number
  /** The caller's request object, handed to onDecision. */
  readonly request: unknown
}

/** True for a promise or any thenable: how adapters tell a sync Decision from a pending one. */
export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

export function createEngine(
  policy: Policy<CustomRuleConfig> | string | object,
  options: EngineOptions = {},
): Engine {
  const custom = options.rules ?? {}
  for (const type of Object.keys(custom)) {
    if ((BUILT_IN_RULE_TYPES as readonly string[]).includes(type)) {
      throw new TypeError(
        `createEngine: custom rule type "${type}" would shadow the built-in rule of that name`,
      )
    }
    if (typeof custom[type]?.evaluate !== 'function') {
      throw new TypeError(
        `createEngine: custom rule "${type}" needs an evaluate(req, rule) function`,
      )
    }
  }
  const result = validatePolicy(policy, { rules: custom })
  if (!result.ok) throw new PolicyError(result.errors)
  const valid = result.policy
  const store = options.store ?? new MemoryStore()
  const onDecision = options.onDecision
  const shouldLog = options.shouldLog
  const logLevel = valid.log ?? 'all'
  let memoSlots = 0
  const env: CompileEnv = {
    ipv6Subnet: valid.clientIp?.ipv6Subnet ?? 64,
    classifyBot: createBotClassifier(),
    credentialHeaders: credentialHeaders(valid.rules),
    memoSlot: () => memoSlots++,
  }
  const rules = valid.rules.map((rule) => compileRule(rule, env, custom))
  const hasMonitorRules = rules.some((r) => r.monitor)
  const lookupClient = createClientLookup(compileClientIp(valid.clientIp ?? {}))
  const storeTimeout = store.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS
  if (typeof storeTimeout !== 'number' || !(storeTimeout > 0)) {
    throw new TypeError('createEngine: store.timeoutMs must be a positive number of milliseconds')
  }
  const callStore = boundedCaller(storeTimeout)
  const consumeChecks = (checks: readonly RateLimitCheck[]) => store.consume(checks)
  // Exactly our class (not a subclass that might go async): sync, and it cannot fail.
  const trustedSync = store.constructor === MemoryStore
  // Frozen per-rule trace entries for the two common outcomes: no allocation per request.
  const skipped = rules.map((r) =>
    Object.freeze<RuleResult>({ ruleId: r.id, type: r.type, outcome: 'skip' }),
  )
  const passed = rules.map((r) =>
    Object.freeze<RuleResult>({
      ruleId: r.id,
      type: r.type,
      outcome: 'pass',
      ...(r.monitor ? { monitor: true } : {}),
    }),
  )

  function evaluate(input: RequestInput, request?: unknown): Decision | Promise<Decision> {
    const start = onDecision ? monotonicNow() : 0
    let view: RequestView | undefined
    try {
      view = buildView(input, lookupClient)
      if (view === undefined) {
        return finish(input, undefined, invalidTarget(input), start, request)
      }
      const run: Run = {
        view,
        // Entry i is rule i's: sized once (`[]` grown by push would reserve 17 slots and copy).
        results: new Array<RuleResult>(rules.length),
        batch: undefined,
        monitorBatch: undefined,
        verdict: undefined,
        verdictRule: undefined,
        rateLimits: undefined,
        storeFailed: false,
        start,
        request,
      }
      // A promise from walk never rejects: each continuation catches for itself (see resume).
      return walk(run, 0)
    } catch {
      return finish(input, view, internalError(view), start, request)
    }
  }

  /**
   * Runs the rest of an evaluation after a wait. Whatever it throws becomes the internal-error
   * Decision here, so the promises walk and settle return never reject: no catch layer (one
   * more promise and microtask per request) is needed above them.
   */
  function resume<T>(
    run: Run,
    next: (run: Run, value: T) => Decision | Promise<Decision>,
    value: T,
  ): Decision | Promise<Decision> {
    try {
      return next(run, value)
    } catch {
      return finish(run.view.input, run.view, internalError(run.view), run.start, run.request)
    }
  }

  /** Runs rules from index `i` on; returns a Decision, or a promise of one when a rule waits. */
  function walk(run: Run, i: number): Decision | Promise<Decision> {
    for (; i < rules.length; i++) {
      const rule = rules[i]!
      if (!rule.applies(run.view)) {
        run.results[i] = skipped[i]!
        continue
      }
      if (rule.plan) {
        const pending: Pending = { rule, plan: rule.plan(run.view), slot: i }
        run.results[i] = passed[i]!
        // One-slot arrays first: `[]` grown by push reserves 17 slots (most policies have one).
        if (rule.monitor) {
          if (run.monitorBatch === undefined) run.monitorBatch = [pending]
          else run.monitorBatch.push(pending)
        } else if (run.batch === undefined) run.batch = [pending]
        else run.batch.push(pending)
        continue
      }
      let verdict: Verdict | Promise<Verdict>
      try {
        verdict = rule.evaluate!(run.view)
      } catch {
        verdict = ruleError()
      }
      if (isPromiseLike<Verdict>(verdict)) {
        const at = i
        return Promise.resolve(verdict)
          .then(undefined, () => ruleError())
          .then((v) =>
            resume(run, (r, w: Verdict) => (record(r, at, w) ? settle(r) : walk(r, at + 1)), v),
          )
      }
      if (record(run, i, verdict)) return settle(run)
    }
    return settle(run)
  }

  /** Adds a rule's verdict to the trace; true when it ends evaluation. */
  function record(run: Run, i: number, verdict: Verdict): boolean {
    const rule = rules[i]!
    if (verdict.outcome === 'pass') {
      run.results[i] = passed[i]!
      return false
    }
    const entry: RuleResult = { ruleId: rule.id, type: rule.type, outcome: verdict.outcome }
    if (rule.monitor) entry.monitor = true
    if (verdict.code !== undefined) entry.code = verdict.code
    if (verdict.status !== undefined) entry.status = verdict.status
    if (verdict.message !== undefined) entry.message = verdict.message
    if (verdict.code === 'rule.error') entry.outcome = 'error'
    run.results[i] = entry
    if (rule.monitor) return false
    run.results.length = i + 1 // the rules after this one never ran
    run.verdict = verdict
    run.verdictRule = rule
    return true
  }

  /** Consumes rate limits (one store call for all enforced ones), then builds the Decision. */
  function settle(run: Run): Decision | Promise<Decision> {
    const { batch, monitorBatch } = run
    if (monitorBatch === undefined) {
      if (batch === undefined) return conclude(run, undefined)
      // The common case: one store call. Its promise never rejects (boundedCaller).
      const enforced = consume(batch)
      return enforced instanceof Promise
        ? enforced.then((answer) => resume(run, concludeEnforced, answer))
        : concludeEnforced(run, enforced)
    }
    const enforced = batch !== undefined ? consume(batch) : EMPTY_OUTCOMES
    // Monitor checks go in their own call: a monitored denial must not stop enforced checks.
    const monitored = consume(monitorBatch)
    if (enforced instanceof Promise || monitored instanceof Promise) {
      return Promise.all([enforced, monitored]).then((answers) =>
        resume(run, concludeBoth, answers),
      )
    }
    return concludeBoth(run, [enforced, monitored])
  }

  function concludeEnforced(run: Run, answer: unknown): Decision {
    return conclude(run, applyOutcomes(run, run.batch!, checked(answer, run.batch!)))
  }

  function concludeBoth(run: Run, [enforced, monitored]: readonly unknown[]): Decision {
    applyOutcomes(run, run.monitorBatch!, checked(monitored, run.monitorBatch!))
    const { batch } = run
    return conclude(run, batch && applyOutcomes(run, batch, checked(enforced, batch)))
  }

  type StoreAnswer = readonly RateLimitOutcome[] | Error

  /** A store's answer for `batch`, as outcomes or an Error: only our MemoryStore is trusted. */
  function checked(answer: unknown, batch: Pending[]): StoreAnswer {
    if (trustedSync) return answer as readonly RateLimitOutcome[]
    let expected = 0
    for (const pending of batch) expected += pending.plan.checks.length
    return checkAnswer(answer, expected)
  }

  /** The store's raw answer for a batch; a promise of it never rejects (boundedCaller). */
  function consume(batch: Pending[]): unknown {
    const checks = batch.length === 1 ? batch[0]!.plan.checks : batch.flatMap((p) => p.plan.checks)
    // Our own MemoryStore answers synchronously and cannot fail: skip the guard.
    if (trustedSync) return (store as MemoryStore).consume(checks)
    return callStore(consumeChecks, checks)
  }

  /**
   * Writes each rate-limit rule's result into the trace. Returns the enforced denial (429 or a
   * closed store's 503) that comes first in policy order, if any.
   */
  function applyOutcomes(
    run: Run,
    batch: Pending[],
    answer: StoreAnswer,
  ): RateLimitDenial | undefined {
    let offset = 0
    let denial: RateLimitDenial | undefined
    for (const pending of batch) {
      const { rule, plan } = pending
      const n = plan.checks.length
      if (answer instanceof Error) {
        const failMode = plan.failMode ?? store.failMode ?? 'closed'
        run.results[pending.slot] = {
          ruleId: rule.id,
          type: rule.type,
          outcome: 'error',
          code: 'store.unavailable',
          message: `store unavailable (${failMode === 'open' ? 'failed open' : 'failed closed'}): ${answer.message}`,
          ...(rule.monitor ? { monitor: true } : {}),
        }
        if (!rule.monitor) {
          run.storeFailed = true
          if (failMode === 'closed' && !denial)
            denial = { rule, slot: pending.slot, status: 503, code: 'store.unavailable', info: [] }
        }
        continue
      }
      // The rule reports its most constrained limit: the one that denied, else the lowest.
      let tightest: RateLimitInfo | undefined
      let denied = false
      for (let k = 0; k < n; k++) {
        const outcome = answer[offset + k]
        if (outcome === undefined) break // the store stopped at an earlier denial
        const info = toInfo(outcome, plan.info[k]!, plan.checks[k]!.limit)
        if (!rule.monitor) {
          const field = { meta: plan.info[k]!, info }
          if (run.rateLimits === undefined) run.rateLimits = [field]
          else run.rateLimits.push(field)
        }
        if (!outcome.allowed) {
          tightest = info
          denied = true
          break
        }
        if (tightest === undefined || info.remaining < tightest.remaining) tightest = info
      }
      offset += n
      const entry: RuleResult = {
        ruleId: rule.id,
        type: rule.type,
        outcome: denied ? 'deny' : 'pass',
      }
      if (tightest) entry.rateLimit = tightest
      if (rule.monitor) entry.monitor = true
      if (denied) {
        entry.code = 'rateLimit.exceeded'
        entry.status = 429
        if (!rule.monitor && !denial) {
          denial = {
            rule,
            slot: pending.slot,
            status: 429,
            code: 'rateLimit.exceeded',
            info: [tightest!],
          }
        }
      }
      run.results[pending.slot] = entry
      if (denied && !rule.monitor) break // the store evaluated nothing after this denial
    }
    return denial
  }

  function conclude(run: Run, denial: RateLimitDenial | undefined): Decision {
    const { view } = run
    const headers = run.rateLimits ? rateLimitHeaders(run.rateLimits) : {}
    let decision: Decision
    if (denial) {
      // Rate-limit rules come before whatever ended the walk: their denial wins, and the
      // rules after it never ran as far as the trace is concerned.
      run.results.length = denial.slot + 1
      if (denial.status === 429) {
        headers['Retry-After'] = String(Math.max(1, denial.info[0]?.retryAfterSeconds ?? 1))
      }
      decision = makeDecision(
        false,
        denial.status,
        denial.code,
        MESSAGES[denial.code]!,
        denial.rule.id,
        view,
        headers,
        run.results,
      )
    } else if (run.verdict && run.verdict.outcome === 'deny') {
      const v = run.verdict
      if (v.headers) Object.assign(headers, v.headers)
      decision = makeDecision(
        false,
        v.status ?? 403,
        v.code ?? 'denied',
        v.message ?? 'Request denied.',
        run.verdictRule!.id,
        view,
        headers,
        run.results,
      )
    } else {
      const code = run.storeFailed ? 'store.unavailable' : 'allowed'
      decision = makeDecision(
        true,
        200,
        code,
        MESSAGES[code]!,
        run.verdict ? run.verdictRule!.id : undefined,
        view,
        headers,
        run.results,
      )
    }
    return finish(view.input, view, decision, run.start, run.request)
  }

  function finish(
    input: RequestInput,
    view: RequestView | undefined,
    decision: Decision,
    start: number,
    request: unknown,
  ): Decision {
    if (onDecision && (logLevel === 'all' || (logLevel === 'denied' && !decision.allowed))) {
      try {
        if (shouldLog !== undefined && !shouldLog(decision, request)) return decision
        onDecision(toEvent(input, view, decision, start), request)
      } catch {
        // A failing log sink must not change the decision.
      }
    }
    return decision
  }

  function toEvent(
    input: RequestInput,
    view: RequestView | undefined,
    d: Decision,
    start: number,
  ): DecisionEvent {
    const ua = view?.headers.all('user-agent')?.[0] ?? ''
    let monitored: string[] | undefined
    if (hasMonitorRules) {
      for (const r of d.results) {
        if (r.monitor && r.outcome === 'deny') (monitored ??= []).push(r.ruleId)
      }
    }
    return new EngineDecisionEvent(
      typeof input.method === 'string' ? input.method : '',
      view ? view.path.exact : rawPath(input.url),
      ua,
      d,
      Math.round((monotonicNow() - start) * 1000) / 1000,
      monitored,
    )
  }

  function invalidTarget(input: RequestInput): Decision {
    const client = safeClient(input, lookupClient)
    return {
      allowed: false,
      status: 400,
      code: 'request.invalid',
      message: INVALID_TARGET,
      clientIp: client,
      headers: {},
      results: [],
    }
  }

  function internalError(view: RequestView | undefined): Decision {
    return {
      allowed: false,
      status: 503,
      code: 'rule.error',
      message: MESSAGES['rule.error']!,
      clientIp: view?.clientIp ?? '',
      headers: {},
      results: [],
    }
  }

  return {
    policy: valid,
    store,
    evaluate,
    decide(input, request) {
      try {
        return Promise.resolve(evaluate(input, request))
      } catch {
        return Promise.resolve(internalError(undefined))
      }
    },
  }
}

/** Headers that always carry credentials, whatever the policy says. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key']

/** Those, and the header each apiKey rule reads its key from. */
function credentialHeaders(rules: readonly Rule<CustomRuleConfig>[]): ReadonlySet<string> {
  const names = new Set(CREDENTIAL_HEADERS)
  for (const rule of rules) {
    if (rule.type === 'apiKey')
      names.add(((rule as ApiKeyRule).header ?? 'x-api-key').toLowerCase())
  }
  return names
}

interface RateLimitDenial {
  rule: CompiledRule
  slot: number
  status: number
  code: string
  info: RateLimitInfo[]
}

const EMPTY_OUTCOMES: readonly RateLimitOutcome[] = []

/**
 * A store must answer every check, or stop right after a denial. Anything else is a broken
 * store, and a broken store must not read as "allowed".
 */
function checkAnswer(answer: unknown, expected: number): readonly RateLimitOutcome[] | Error {
  if (answer instanceof Error) return answer
  if (!Array.isArray(answer)) return new Error('store answered with something that is not an array')
  const outcomes = answer as readonly RateLimitOutcome[]
  const last = outcomes[outcomes.length - 1]
  if (
    outcomes.length === expected ||
    (outcomes.length < expected && last !== undefined && last.allowed === false)
  ) {
    for (const o of outcomes) {
      if (o === null || typeof o !== 'object' || typeof o.allowed !== 'boolean') {
        return new Error('store answered with a malformed outcome')
      }
    }
    return outcomes
  }
  return new Error(`store answered ${outcomes.length} of ${expected} checks`)
}

function toInfo(outcome: RateLimitOutcome, meta: LimitMeta, limit: number): RateLimitInfo {
  const info: RateLimitInfo = {
    policyName: meta.policyName,
    windowSeconds: meta.windowSeconds,
    limit,
    remaining: Math.max(0, Math.floor(outcome.remaining)),
    resetSeconds: Math.max(0, Math.ceil(outcome.resetMs / 1000)),
  }
  if (!outcome.allowed) info.retryAfterSeconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000))
  return info
}

/** A rule that threw or rejected: fail closed. */
function ruleError(): Verdict {
  return { outcome: 'deny', status: 503, code: 'rule.error', message: MESSAGES['rule.error']! }
}

function makeDecision(
  allowed: boolean,
  status: number,
  code: string,
  message: string,
  ruleId: string | undefined,
  view: RequestView,
  headers: Record<string, string>,
  results: RuleResult[],
): Decision {
  const { clientIp, apiKeyId } = view
  // One literal per shape (keys in the order they always had): a property added after a
  // literal needs a property store of its own.
  if (ruleId === undefined) {
    if (apiKeyId === undefined)
      return { allowed, status, code, message, clientIp, headers, results }
    return { allowed, status, code, message, clientIp, headers, results, apiKeyId }
  }
  if (apiKeyId === undefined)
    return { allowed, status, code, message, clientIp, headers, results, ruleId }
  return { allowed, status, code, message, clientIp, headers, results, ruleId, apiKeyId }
}

/**
 * What the log shows of a request-target core could not read (`/%zz?api_key=…`): the raw path
 * only. The query and fragment are cut, as they are from every other logged path: they may
 * carry a key or a token.
 */
function rawPath(url: unknown): string {
  if (typeof url !== 'string') return ''
  const end = url.search(/[?#]/)
  return end < 0 ? url : url.slice(0, end)
}

function safeClient(input: RequestInput, lookupClient: ClientLookup): string {
  try {
    if (input === null || typeof input !== 'object') return ''
    return lookupClient(input.remoteAddress, readHeaders(input.headers)).text
  } catch {
    return ''
  }
}

const COMMON_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
const upperMethod = (m: string): string => (COMMON_METHODS.has(m) ? m : m.toUpperCase())

function buildView(input: RequestInput, lookupClient: ClientLookup): RequestView | undefined {
  if (input === null || typeof input !== 'object' || typeof input.url !== 'string') return undefined
  const target = canonicalizeTarget(input.url)
  if (!target.ok) return undefined
  const method = typeof input.method === 'string' ? upperMethod(input.method) : ''
  const headers = readHeaders(input.headers)
  const client = lookupClient(input.remoteAddress, headers)
  const context =
    input.context !== null && typeof input.context === 'object' ? input.context : undefined
  return {
    input,
    method,
    path: target.path,
    headers,
    client: client.ip,
    clientIp: client.text,
    clientMemo: client.memo,
    context,
    apiKeyId: undefined,
  }
}

// Validation has already checked each rule against its type's schema, hence the casts.
function compileRule(
  rule: Rule<CustomRuleConfig>,
  env: CompileEnv,
  custom: Readonly<Record<string, CustomRule>>,
): CompiledRule {
  switch (rule.type) {
    case 'ip':
      return compileIpRule(rule as IpRule)
    case 'userAgent':
      return compileUserAgentRule(rule as UserAgentRule, env)
    case 'path':
      return compilePathRule(rule as PathRule)
    case 'header':
      return compileHeaderRule(rule as HeaderRule)
    case 'apiKey':
      return compileApiKeyRule(rule as ApiKeyRule)
    case 'rateLimit':
      return compileRateLimitRule(rule as RateLimitRule, env)
    default:
      return compileCustomRule(rule, custom[rule.type]!)
  }
}
