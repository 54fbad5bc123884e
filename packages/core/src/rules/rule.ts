import type { BotCategory } from '../bots/bot-categories.js'
import type { IpAddress } from '../ip/ip-address.js'
import type { HeaderReader } from '../request/headers.js'
import type { CanonicalTarget } from '../request/request-target.js'
import type { RateLimitCheck, RateLimitInfo, RequestInput } from '../types.js'

/** The request as rules see it: canonical forms computed once by the engine. */
export interface RequestView {
  readonly input: RequestInput
  /** Upper-cased method. */
  readonly method: string
  readonly path: CanonicalTarget
  readonly headers: HeaderReader
  /** Resolved client, undefined when unknown. */
  readonly client: IpAddress | undefined
  /** `client` as text ('' when unknown). */
  readonly clientIp: string
  /** Values rules derive from the client alone, kept with the cached client (see ResolvedClient). */
  readonly clientMemo: unknown[]
  readonly context: Readonly<Record<string, string | undefined>> | undefined
  /** Set by an apiKey rule once a key verified. */
  apiKeyId: string | undefined
}

/** What a rule said. `pass` lets evaluation go on; `allow` and `deny` end it (when enforced). */
export interface Verdict {
  readonly outcome: 'allow' | 'deny' | 'pass'
  readonly status?: number
  readonly code?: string
  readonly message?: string
  readonly headers?: Readonly<Record<string, string>>
}

export const PASS: Verdict = Object.freeze({ outcome: 'pass' })
export const ALLOW: Verdict = Object.freeze({ outcome: 'allow' })

/** What is fixed about one limit, computed once per policy. */
export interface LimitMeta extends Pick<RateLimitInfo, 'policyName' | 'windowSeconds'> {
  /** The limit's item in `RateLimit-Policy`, e.g. `"login";q=5;w=60`. */
  readonly policyItem: string
  /** The policy name as a Structured Field string, e.g. `"login"`. */
  readonly quotedName: string
}

/** What a rate-limit rule asks of the store for one request. */
export interface RateLimitPlan {
  readonly checks: readonly RateLimitCheck[]
  /** Per check: the name and window used in RateLimit headers. */
  readonly info: readonly LimitMeta[]
  readonly failMode: 'open' | 'closed' | undefined
}

export interface CompiledRule {
  readonly id: string
  readonly type: string
  readonly monitor: boolean
  /** Whether this request is in the rule's paths and methods. */
  applies(req: RequestView): boolean
  /** Rules that need no store. May be async only for custom rules. */
  evaluate?(req: RequestView): Verdict | Promise<Verdict>
  /** Rate-limit rules: what to consume. */
  plan?(req: RequestView): RateLimitPlan
}

/** What a rule compiler gets besides its own config. */
export interface CompileEnv {
  readonly ipv6Subnet: number
  readonly classifyBot: (userAgent: string) => BotCategory | undefined
  /**
   * Lower-case names of the headers that carry credentials (Authorization, Cookie, the apiKey
   * rules' key headers...): a rate limit keyed on one never puts its value in a store key.
   */
  readonly credentialHeaders: ReadonlySet<string>
  /** A slot of `RequestView.clientMemo` for this rule's own use. */
  readonly memoSlot: () => number
}
