// The policy as TypeScript sees it: what `definePolicy` autocompletes. The validator and the
// JSON Schema come from `policy-schema.ts`; keep the two in step (a test checks the examples).

import type { BotCategory } from '../bots/bot-categories.js'
import type { RateLimitAlgorithm } from '../types.js'

/** `"500ms"`, `"10s"`, `"1m"`, `"1h"`, `"1d"`, or milliseconds. */
export type Duration = `${number}${'ms' | 's' | 'm' | 'h' | 'd'}` | number

export interface ClientIpPolicy {
  /**
   * Which socket peers may speak for others through a forwarding header. Default: none (the
   * client is the socket peer). A hop count, or CIDRs/addresses and the keywords `loopback`,
   * `private`, `linklocal`. `true` trusts every hop: only behind a proxy that overwrites the
   * header.
   */
  trustProxy?: boolean | number | readonly string[]
  /** The one forwarding header to read. Default `x-forwarded-for`. */
  header?: 'x-forwarded-for' | 'forwarded'
  /** Prefix length IPv6 clients are grouped by for rate limits and IP rules. Default 64. */
  ipv6Subnet?: number
}

export interface RuleBase {
  /** Unique id: letters, digits, `_ . : -`. Appears in logs, headers and Decision.ruleId. */
  id: string
  /** Path globs this rule applies to (default: every path). `*` one segment, `**` any depth. */
  paths?: readonly string[]
  /** Methods this rule applies to (default: all). `GET` also covers `HEAD`. */
  methods?: readonly string[]
  /** `monitor` records what the rule would do without enforcing it. Default `enforce`. */
  mode?: 'enforce' | 'monitor'
}

export interface IpRule extends RuleBase {
  type: 'ip'
  action: 'allow' | 'deny'
  /** Addresses and CIDRs this rule matches (or the keywords `loopback`, `private`, `linklocal`). */
  ips?: readonly string[]
  /** Instead of `ips`: match every client OUTSIDE these (an unknown client is outside). */
  unless?: readonly string[]
}

export interface UserAgentRule extends RuleBase {
  type: 'userAgent'
  action: 'allow' | 'deny'
  /** Case-insensitive substrings. */
  contains?: readonly string[]
  /** Case-insensitive whole values. */
  exact?: readonly string[]
  /** Case-insensitive prefixes. */
  prefix?: readonly string[]
  /** Match a request with no, empty or blank User-Agent. */
  missing?: boolean
  /** Match known automated clients (`true`), or only these categories of them. */
  bots?: boolean | readonly BotCategory[]
}

export interface PathRule extends Omit<RuleBase, 'paths'> {
  type: 'path'
  action: 'allow' | 'deny'
  /** Globs: a deny matches every encoding of them, an allow only the exact canonical path. */
  paths: readonly string[]
}

export interface HeaderRule extends RuleBase {
  type: 'header'
  /** Deny requests missing any of these headers. */
  require?: readonly string[]
  /** Deny requests carrying any of these headers. */
  forbid?: readonly string[]
  /** Deny requests whose header names + values exceed this many characters in total. */
  maxTotalBytes?: number
  /** Deny requests with more header values than this. */
  maxCount?: number
  /** Deny requests where one header value is longer than this. */
  maxValueBytes?: number
}

export interface ApiKeyEntry {
  /** Logged and reported in `Decision.apiKeyId`; the key itself never is. */
  id: string
  /** Lowercase hex SHA-256 of the key (`sec key hash <key>`). */
  sha256: string
  /** Paths this key may reach (exact canonical match); default: every path the rule guards. */
  paths?: readonly string[]
  /** Methods this key may use; default all. */
  methods?: readonly string[]
}

export interface ApiKeyRule extends RuleBase {
  type: 'apiKey'
  keys: readonly ApiKeyEntry[]
  /** Header that carries the key. Default `x-api-key`. */
  header?: string
  /** Also accept `Authorization: Bearer <key>`. Default true. */
  bearer?: boolean
  /** Also accept the key from this query parameter. Off by default: URLs end up in logs. */
  query?: string
  /** Realm in `WWW-Authenticate`. Default `api`. */
  realm?: string
}

/** What a rate limit counts by. `apiKey` falls back to the client IP when no key was verified. */
export type RateLimitBy = 'ip' | 'apiKey' | `header:${string}` | `context:${string}`

export interface RateLimitSpec {
  /** Requests (cost units) per window; a token bucket's capacity. */
  limit: number
  window: Duration
  /** Default `fixedWindow`. */
  algorithm?: RateLimitAlgorithm
}

export interface RateLimitRule extends RuleBase, Partial<RateLimitSpec> {
  type: 'rateLimit'
  /** Default `ip`. A list keys on the combination. */
  by?: RateLimitBy | readonly RateLimitBy[]
  /** Several limits checked together (e.g. 10/s and 1000/h); instead of `limit`/`window`. */
  limits?: readonly RateLimitSpec[]
  /** Units each request costs. Default 1. */
  cost?: number
  /** What to do when the store cannot answer; default: the store's `failMode`, else `closed`. */
  failMode?: 'open' | 'closed'
}

/** A rule of a type registered through `createEngine({ rules })`: base fields plus its own. */
export interface CustomRuleConfig extends RuleBase {
  type: string
}

export type BuiltInRule =
  IpRule | UserAgentRule | PathRule | HeaderRule | ApiKeyRule | RateLimitRule
/**
 * A rule in a policy. Custom rule shapes are opted in by type parameter so that a typo in a
 * built-in rule is still a type error: `definePolicy<{ type: 'geo'; id: string; countries: string[] }>(…)`.
 */
export type Rule<Custom extends CustomRuleConfig = never> = BuiltInRule | Custom

export interface Policy<Custom extends CustomRuleConfig = never> {
  /** Editor support: `"$schema": "./node_modules/@sec/core/policy.schema.json"`. */
  $schema?: string
  version: 1
  clientIp?: ClientIpPolicy
  /** Which decisions reach `onDecision`. Default `all`. */
  log?: 'all' | 'denied' | 'none'
  rules: readonly Rule<Custom>[]
}
