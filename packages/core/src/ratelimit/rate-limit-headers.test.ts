import { describe, expect, it } from 'vitest'
import { rateLimitHeaders, sfString } from './rate-limit-headers.js'

const field = (
  policyName: string,
  limit: number,
  windowSeconds: number,
  remaining: number,
  resetSeconds: number,
) => {
  const quotedName = sfString(policyName)
  return {
    meta: {
      policyName,
      windowSeconds,
      quotedName,
      policyItem: `${quotedName};q=${limit};w=${windowSeconds}`,
    },
    info: { policyName, limit, remaining, resetSeconds, windowSeconds },
  }
}

describe('rateLimitHeaders', () => {
  it('writes the draft-ietf-httpapi-ratelimit-headers fields as structured-field lists', () => {
    const headers = rateLimitHeaders([
      field('burst', 10, 1, 9, 1),
      field('odd"name\\', 1000, 3600, 500, 1800),
    ])
    expect(headers['RateLimit-Policy']).toBe('"burst";q=10;w=1, "odd\\"name\\\\";q=1000;w=3600')
    expect(headers['RateLimit']).toBe('"burst";r=9;t=1, "odd\\"name\\\\";r=500;t=1800')
  })
  it('writes nothing without limits', () => {
    expect(rateLimitHeaders([])).toEqual({})
  })
})
