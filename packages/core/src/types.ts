// Public types of @sec/core. The names here are a contract (see DESIGN.md): shapes may grow,
// names do not change.

/**
 * Headers as frameworks hand them over: a plain object (Node's `headersDistinct`, or any
 * name → value(s) map), a Web `Headers`, or Node's `rawHeaders` (a flat `[name, value, …]`
 * list: every value, nothing merged or dropped, and nothing to build per request).
 */
export type HeadersInput =
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | { get(name: string): string | null; forEach(cb: (value: string, key: string) => void): void }
  | readonly string[]

/** What an adapter passes to `engine.decide`: the request as it came off the wire. */
export interface RequestInput {
  /** HTTP method as received (`GET`, `POST`...). */
  method: string
  /** The raw request-target: origin form (`/a?b`), absolute form (`http://h/a`) or `*`. */
  url: string
  /** Every header with every value; names are matched case-insensitively. */
  headers: HeadersInput
  /** The socket peer address, as the runtime reports it. Unknown when absent. */
  remoteAddress?: string | undefined
  /** Identity the app already knows (`{ userId: 'u_42' }`), keyed on by `context:<name>`. */
  context?: Readonly<Record<string, string | undefined>> | undefined
}

export type DecisionCode =
  | 'allowed'
  | 'request.invalid'
  | 'ip.denied'
  | 'userAgent.denied'
  | 'path.denied'
  | 'header.denied'
  | 'apiKey.missing'
  | 'apiKey.invalid'
  | 'apiKey.scope'
  | 'rateLimit.exceeded'
  | 'store.unavailable'
  | 'rule.error'
  // A custom rule's own code; `(string & {})` keeps autocompletion for the built-in ones.
  | (string & {})

/** What one rule said about one request: the trace in `Decision.results`. */
export interface RuleResult {
  ruleId: string
  type: string
  /**
   * `match`: the rule applied and (for deny/protect rules) would deny; `pass`: the rule ran and
   * let the request go on; `allow`: an exemption that ended evaluation; `skip`: paths/methods
   * did not select this request; `error`: the rule failed (store down, custom rule threw).
   */
  outcome: 'allow' | 'deny' | 'pass' | 'skip' | 'error'
  /** True when the rule is in monitor mode: a `deny` here was recorded, not enforced. */
  monitor?: boolean
  code?: string
  status?: number
  message?: string
  /** For rate limits: the most constrained limit after this request. */
  rateLimit?: RateLimitInfo
}

export interface RateLimitInfo {
  limit: number
  remaining: number
  /** Seconds until the limit is fully reset (window end or bucket full). */
  resetSeconds: number
  /** Seconds until a denied request may be retried. */
  retryAfterSeconds?: number
  /** Window length in seconds, for `RateLimit-Policy`. */
  windowSeconds: number
  policyName: string
}

export interface Decision {
  allowed: boolean
  /** 200 when allowed; 400, 401, 403, 429 or 503 when denied (or a custom rule's status). */
  status: number
  code: DecisionCode
  /** The rule that decided, when one did. */
  ruleId?: string
  /** Human-readable reason, safe to send to the client. */
  message: string
  /** Resolved client address ('' when unknown). */
  clientIp: string
  /** Id of the API key that matched; never the key itself. */
  apiKeyId?: string
  /** Response headers to set: RateLimit, RateLimit-Policy, Retry-After, WWW-Authenticate... */
  headers: Record<string, string>
  /** Every rule evaluated, in order, and what it said. */
  results: RuleResult[]
}

/** One line of the decision log, handed to `onDecision`. Contains no secrets. */
export interface DecisionEvent {
  /** When the decision was made, in ms since the epoch (pino's convention: cheap to produce). */
  time: number
  method: string
  /** Canonical path (control characters escaped). */
  path: string
  clientIp: string
  /** User agent, truncated to 256 characters, control characters escaped. */
  userAgent: string
  allowed: boolean
  status: number
  code: string
  ruleId?: string
  apiKeyId?: string
  /** Rules in monitor mode that would have denied this request. */
  monitored?: string[]
  /** Time spent in `decide`, in milliseconds. */
  durationMs: number
}

// ---------------------------------------------------------------------------------------------
// Stores

export type RateLimitAlgorithm = 'fixedWindow' | 'slidingWindow' | 'tokenBucket'

/** One limit to check and consume, as the engine hands it to a store. */
export interface RateLimitCheck {
  /** Full counter key (without the store's prefix). Same key, same counter. */
  key: string
  algorithm: RateLimitAlgorithm
  /** Requests (or cost units) admitted per window; a token bucket's capacity. */
  limit: number
  /** Window length in milliseconds; a token bucket refills `limit` tokens per window. */
  windowMs: number
  /** Units this request consumes. */
  cost: number
  /**
   * Who the counter belongs to (`ip:203.0.113.7`, `key:svc-a`…). A clustered store keeps one
   * owner's counters together (a Redis Cluster hash tag) so a request's checks stay in one
   * round trip. Optional: without it a store treats each key on its own.
   */
  scope?: string
}

/** A store's answer for one check. */
export interface RateLimitOutcome {
  allowed: boolean
  /** Units left after this request (0 when denied). */
  remaining: number
  /** Milliseconds until the counter is fully reset. */
  resetMs: number
  /** Milliseconds until a request of the same cost could be admitted (0 when allowed). */
  retryAfterMs: number
}

/**
 * Where rate-limit state lives. `consume` applies the checks in order, atomically, on the
 * store's own clock, and stops at the first check that denies: the returned array holds the
 * outcomes of the checks evaluated (all of them, or up to and including the first denial).
 * A remote store does this in one round trip. A store may answer synchronously.
 */
export interface Store {
  consume(
    checks: readonly RateLimitCheck[],
  ): readonly RateLimitOutcome[] | Promise<readonly RateLimitOutcome[]>
  /** How this store fails when it cannot answer (`open` admits, `closed` denies 503). */
  readonly failMode?: 'open' | 'closed'
  /** Bound on one `consume` call, in ms; the engine gives up after it. */
  readonly timeoutMs?: number
}
