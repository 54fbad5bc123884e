import { sha256Hex } from '../crypto/sha256.js'
import { subnetKey } from '../ip/ip-address.js'
import { parseDuration } from '../policy/duration.js'
import { pointer, s, type PolicyProblem } from '../policy/schema-dsl.js'
import type { RateLimitBy, RateLimitRule, RateLimitSpec } from '../policy/policy-types.js'
import type { RateLimitCheck } from '../types.js'
import { baseProperties, compileScope } from './rule-base.js'
import { sfString } from '../ratelimit/rate-limit-headers.js'
import type { CompileEnv, CompiledRule, LimitMeta, RateLimitPlan, RequestView } from './rule.js'

const ALGORITHMS = ['fixedWindow', 'slidingWindow', 'tokenBucket'] as const
const BY = /^(?:ip|apiKey|header:[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}|context:[A-Za-z0-9_.-]{1,64})$/
const DURATION_HINT =
  'is not a duration: use a positive integer and a unit, e.g. "500ms", "10s", "1m", "1h", "1d" (at most 365d)'

const duration = s.anyOf(
  [s.string({ pattern: /^[1-9][0-9]{0,9}(?:ms|s|m|h|d)$/ }), s.integer({ minimum: 1 })],
  `must be a duration such as "10s", "1m", "1h", or milliseconds`,
  'Window length: "500ms", "10s", "1m", "1h", "1d", or milliseconds.',
)
const limitSchema = s.integer({
  minimum: 1,
  maximum: 1_000_000_000,
  description: 'Requests (cost units) per window; a token bucket capacity.',
})
const algorithmSchema = s.string({ enum: ALGORITHMS, description: 'Default fixedWindow.' })
const byItem = s.string({
  pattern: BY,
  hint: 'must be "ip", "apiKey", "header:<name>" or "context:<name>"',
})

export const rateLimitRuleSchema = s.object(
  {
    ...baseProperties('rateLimit'),
    by: s.opt(
      s.anyOf(
        [byItem, s.array(byItem, { minItems: 1, maxItems: 8 })],
        'must be "ip", "apiKey", "header:<name>", "context:<name>" or a list of these',
        'What to count by. Default "ip". A list keys on the combination.',
      ),
    ),
    limit: s.opt(limitSchema),
    window: s.opt(duration),
    algorithm: s.opt(algorithmSchema),
    limits: s.opt(
      s.array(
        s.object({
          limit: s.req(limitSchema),
          window: s.req(duration),
          algorithm: s.opt(algorithmSchema),
        }),
        {
          minItems: 1,
          maxItems: 16,
          description: 'Several limits checked together (instead of limit/window).',
        },
      ),
    ),
    cost: s.opt(
      s.integer({
        minimum: 1,
        maximum: 1_000_000_000,
        description: 'Units each request costs. Default 1.',
      }),
    ),
    failMode: s.opt(
      s.string({
        enum: ['open', 'closed'],
        description: "When the store cannot answer. Default: the store's, else closed.",
      }),
    ),
  },
  { description: 'Limit how often a client may call.' },
)

export function checkRateLimitRule(
  rule: Record<string, unknown>,
  path: string,
  problems: PolicyProblem[],
): void {
  const single =
    rule.limit !== undefined || rule.window !== undefined || rule.algorithm !== undefined
  if (rule.limits !== undefined && single) {
    problems.push({ path, message: 'use either "limit"/"window" or "limits", not both' })
  } else if (rule.limits === undefined) {
    if (rule.limit === undefined)
      problems.push({ path: pointer(path, 'limit'), message: 'is required (or give "limits")' })
    if (rule.window === undefined)
      problems.push({ path: pointer(path, 'window'), message: 'is required (or give "limits")' })
    checkWindow(rule.window, pointer(path, 'window'), problems)
  } else if (Array.isArray(rule.limits)) {
    rule.limits.forEach((l: unknown, i) => {
      if (l !== null && typeof l === 'object') {
        checkWindow(
          (l as Record<string, unknown>).window,
          pointer(pointer(pointer(path, 'limits'), i), 'window'),
          problems,
        )
      }
    })
  }
}

function checkWindow(value: unknown, path: string, problems: PolicyProblem[]): void {
  if (
    (typeof value === 'string' || typeof value === 'number') &&
    parseDuration(value) === undefined
  ) {
    problems.push({ path, message: `${JSON.stringify(value)} ${DURATION_HINT}` })
  }
}

/** Turns request values into key parts that are safe in any store (no braces, bounded size). */
function keyPart(value: string): string {
  const encoded = encodeURIComponent(value)
  return encoded.length <= 128 ? encoded : `sha256:${sha256Hex(value)}`
}

/**
 * The key part for a credential (an Authorization, Cookie or API key header value): a digest,
 * never the value. A store keeps its keys in plain text (Redis: anyone who can run SCAN or
 * MONITOR reads them) and a failing store may quote them in its error, which reaches the
 * Decision's trace. The digest is domain-separated, so it is not the SHA-256 of the key either
 * (that is the key's verifier, in the policy; it stays out of stores and logs).
 */
function credentialPart(value: string): string {
  return `digest:${sha256Hex(`sec:rateLimit:${value}`)}`
}

type KeyFn = (req: RequestView) => string

function compileBy(by: RateLimitBy, env: CompileEnv): KeyFn {
  const ipv6Subnet = env.ipv6Subnet
  // IPv4 keys on the address as already formatted; IPv6 on its subnet (default /64).
  const ip: KeyFn = (req) =>
    req.client === undefined
      ? 'ip:unknown'
      : req.client.version === 4
        ? `ip:${req.clientIp}`
        : `ip:${subnetKey(req.client, ipv6Subnet)}`
  if (by === 'ip') return ip
  if (by === 'apiKey')
    return (req) => (req.apiKeyId !== undefined ? `key:${req.apiKeyId}` : ip(req))
  if (by.startsWith('header:')) {
    const name = by.slice(7).toLowerCase()
    const part = env.credentialHeaders.has(name) ? credentialPart : keyPart
    // A missing header falls back to the client address: otherwise omitting it would put a
    // client in one bucket shared by everyone else who omits it (or let them dodge a limit).
    return (req) => {
      const values = req.headers.all(name)
      if (values === undefined || values.every((v) => v === '')) return ip(req)
      return `h:${name}=${part(values.join(','))}`
    }
  }
  const name = by.slice(8)
  return (req) => {
    const value = req.context?.[name]
    return typeof value === 'string' && value !== '' ? `ctx:${name}=${keyPart(value)}` : ip(req)
  }
}

export function compileRateLimitRule(rule: RateLimitRule, env: CompileEnv): CompiledRule {
  const specs: RateLimitSpec[] =
    rule.limits !== undefined
      ? [...rule.limits]
      : [{ limit: rule.limit!, window: rule.window!, algorithm: rule.algorithm ?? 'fixedWindow' }]
  const byList =
    rule.by === undefined ? ['ip' as const] : typeof rule.by === 'string' ? [rule.by] : [...rule.by]
  const parts = byList.map((b) => compileBy(b, env))
  const identity: KeyFn =
    parts.length === 1 ? parts[0]! : (req) => parts.map((p) => p(req)).join('&')
  const cost = rule.cost ?? 1
  const byIpOnly = byList.length === 1 && byList[0] === 'ip'
  const limits = specs.map((spec, i) => ({
    prefix: `${rule.id}:${i}:`,
    algorithm: spec.algorithm ?? 'fixedWindow',
    limit: spec.limit,
    windowMs: parseDuration(spec.window) ?? 60_000,
  }))
  const info: LimitMeta[] = limits.map((l, i) => {
    const policyName = limits.length === 1 ? rule.id : `${rule.id}.${i}`
    const windowSeconds = Math.ceil(l.windowMs / 1000)
    const quotedName = sfString(policyName)
    return {
      policyName,
      windowSeconds,
      quotedName,
      policyItem: `${quotedName};q=${l.limit};w=${windowSeconds}`,
    }
  })
  const failMode = rule.failMode
  // Frozen: a plan may serve many requests, and a store that wrote into a check would change
  // the key of every later one.
  const planFor = (who: string): RateLimitPlan =>
    Object.freeze({
      checks: Object.freeze(
        limits.map((l) =>
          Object.freeze<RateLimitCheck>({
            key: l.prefix + who,
            algorithm: l.algorithm,
            limit: l.limit,
            windowMs: l.windowMs,
            cost,
            scope: who,
          }),
        ),
      ),
      info,
      failMode,
    })
  // A rule keyed by the client alone asks the same of the store on every request of a client:
  // its plan (store keys included) is made once and kept with the cached client. Besides the
  // allocations, that saves hashing a fresh key string in the store's Map on every request.
  const memoSlot = byIpOnly ? env.memoSlot() : -1
  return {
    id: rule.id,
    type: 'rateLimit',
    monitor: rule.mode === 'monitor',
    applies: compileScope(rule, 'broad'),
    plan(req): RateLimitPlan {
      if (memoSlot < 0) return planFor(identity(req))
      const memo = req.clientMemo
      return (
        (memo[memoSlot] as RateLimitPlan | undefined) ?? (memo[memoSlot] = planFor(identity(req)))
      )
    },
  }
}
