import type { LimitMeta } from '../rules/rule.js'
import type { RateLimitInfo } from '../types.js'

// Response fields per draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy` lists each
// quota (`q`) and window (`w`, seconds); `RateLimit` says what remains (`r`) and when it
// resets (`t`, seconds). Both are Structured Field lists keyed by a policy name.

/** A Structured Field string: quoted, with `"` and `\\` escaped. */
export function sfString(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** One enforced limit's state for this response. */
export interface RateLimitField {
  readonly meta: LimitMeta
  readonly info: RateLimitInfo
}

/**
 * The response headers for the enforced limits of one request: a fresh object the caller may
 * add to. Built as a literal so every Decision's headers share one shape.
 */
export function rateLimitHeaders(fields: readonly RateLimitField[]): Record<string, string> {
  if (fields.length === 0) return {}
  if (fields.length === 1) {
    // The usual single limit, without the list's string building.
    const { meta, info } = fields[0]!
    return {
      'RateLimit-Policy': meta.policyItem,
      RateLimit: `${meta.quotedName};r=${info.remaining};t=${info.resetSeconds}`,
    }
  }
  let policy = ''
  let state = ''
  for (let i = 0; i < fields.length; i++) {
    const { meta, info } = fields[i]!
    if (i > 0) {
      policy += ', '
      state += ', '
    }
    policy += meta.policyItem
    state += `${meta.quotedName};r=${info.remaining};t=${info.resetSeconds}`
  }
  return { 'RateLimit-Policy': policy, RateLimit: state }
}
