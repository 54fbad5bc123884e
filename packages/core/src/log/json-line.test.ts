import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createEngine } from '../engine.js'
import type { DecisionEvent } from '../types.js'
import { formatDecisionEvent } from './json-line.js'

const base: DecisionEvent = {
  time: 1_795_600_000_000,
  method: 'GET',
  path: '/api/x',
  clientIp: '203.0.113.7',
  userAgent: 'Mozilla/5.0',
  allowed: false,
  status: 429,
  code: 'rateLimit.exceeded',
  ruleId: 'login',
  apiKeyId: 'svc-a',
  monitored: ['watch'],
  durationMs: 0.012,
}

describe('formatDecisionEvent', () => {
  it('is the event as JSON, on one line', () => {
    const line = formatDecisionEvent(base)
    expect(JSON.parse(line)).toEqual(base)
    expect(line).not.toContain('\n')
    const minimal: DecisionEvent = { ...base }
    delete minimal.ruleId
    delete minimal.apiKeyId
    delete minimal.monitored
    expect(JSON.parse(formatDecisionEvent(minimal))).toEqual(minimal)
  })
  it('escapes line and paragraph separators too', () => {
    const line = formatDecisionEvent({ ...base, code: 'a\u2028b\u2029c"d' })
    expect(line).not.toMatch(/[\u2028\u2029]/)
    expect(JSON.parse(line).code).toBe('a\u2028b\u2029c"d')
  })
  it('round-trips any text and never spans lines', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (path, code) => {
        const event = { ...base, path, code, userAgent: path }
        const line = formatDecisionEvent(event)
        expect(JSON.parse(line)).toEqual(event)
        expect(line).not.toMatch(/[\n\r\u2028\u2029]/)
      }),
    )
  })

  it('writes what the engine logged, whatever the request held, as one line of JSON', () => {
    const events: DecisionEvent[] = []
    const engine = createEngine(
      { version: 1, rules: [{ id: 'rl', type: 'rateLimit', limit: 1000, window: '1m' }] },
      { onDecision: (e) => events.push(e) },
    )
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.constantFrom('GET', 'get', 'P"ST', 'M\r\nX'),
        (path, userAgent, method) => {
          events.length = 0
          void engine.evaluate({
            method,
            url: `/${encodeURIComponent(path)}`,
            headers: { 'user-agent': userAgent },
            remoteAddress: '203.0.113.7',
          })
          const event = events[0]!
          const line = formatDecisionEvent(event)
          expect(line).not.toMatch(/[\n\r\u2028\u2029]/)
          expect(JSON.parse(line)).toEqual({ ...event })
        },
      ),
    )
  })
  it('checks again a field a sink changed after the engine made the event', () => {
    let line = ''
    const engine = createEngine(
      { version: 1, rules: [] },
      {
        onDecision: (e) => {
          e.path = '/a"b\nc'
          e.userAgent = 'x\u2028"y'
          e.method = 'G"T'
          e.clientIp = '1"2'
          line = formatDecisionEvent(e)
        },
      },
    )
    void engine.evaluate({ method: 'GET', url: '/plain', headers: { 'user-agent': 'ua' } })
    expect(line).not.toMatch(/[\n\u2028]/)
    expect(JSON.parse(line)).toMatchObject({
      path: '/a"b\nc',
      userAgent: 'x\u2028"y',
      method: 'G"T',
      clientIp: '1"2',
    })
  })
})
