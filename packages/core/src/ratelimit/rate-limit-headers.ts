import type { RateLimitInfo } from '../types.js'

// Response fields per draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy` lists each
// quota (`q`) and window (`w`, seconds); `RateLimit` says what remains (`r`) and when it
// resets (`t`, seconds). Both are Structured Field lists keyed by a policy name.

// Policy names come from rule ids: a handful per policy, so quote each once.
const quoted = new Map<string, string>()

function sfString(name: string): string {
  let out = quoted.get(name)
  if (out === undefined) {
    out = `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`
    if (quoted.size < 10_000) quoted.set(name, out)
  }
  return out
}

export function rateLimitHeaders(
  infos: readonly RateLimitInfo[],
  headers: Record<string, string>,
): void {
  if (infos.length === 0) return
  let policy = ''
  let state = ''
  for (const info of infos) {
    const name = sfString(info.policyName)
    if (policy !== '') {
      policy += ', '
      state += ', '
    }
    policy += `${name};q=${info.limit};w=${info.windowSeconds}`
    state += `${name};r=${info.remaining};t=${info.resetSeconds}`
  }
  headers['RateLimit-Policy'] = policy
  headers['RateLimit'] = state
}
