import { describe, expect, it } from 'vitest'
import { rateLimitHeaders } from './rate-limit-headers.js'

describe('rateLimitHeaders', () => {
  it('writes the draft-ietf-httpapi-ratelimit-headers fields as structured-field lists', () => {
    const headers: Record<string, string> = {}
    rateLimitHeaders(
      [
        { policyName: 'burst', limit: 10, remaining: 9, resetSeconds: 1, windowSeconds: 1 },
        {
          policyName: 'odd"name\\',
          limit: 1000,
          remaining: 500,
          resetSeconds: 1800,
          windowSeconds: 3600,
        },
      ],
      headers,
    )
    expect(headers['RateLimit-Policy']).toBe('"burst";q=10;w=1, "odd\\"name\\\\";q=1000;w=3600')
    expect(headers['RateLimit']).toBe('"burst";r=9;t=1, "odd\\"name\\\\";r=500;t=1800')
  })
  it('writes nothing without limits', () => {
    const headers: Record<string, string> = {}
    rateLimitHeaders([], headers)
    expect(headers).toEqual({})
  })
})
