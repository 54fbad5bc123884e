import { describe, expect, it } from 'vitest'
import { parseDuration } from './duration.js'

describe('parseDuration', () => {
  it('reads the units', () => {
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('10s')).toBe(10_000)
    expect(parseDuration('1m')).toBe(60_000)
    expect(parseDuration('1h')).toBe(3_600_000)
    expect(parseDuration('1d')).toBe(86_400_000)
    expect(parseDuration(2500)).toBe(2500)
  })
  it('refuses the rest', () => {
    for (const bad of [
      '',
      '0s',
      '-1s',
      '1.5s',
      '1 m',
      '1M',
      '10',
      'm',
      '01s',
      '400d',
      0,
      -5,
      1.5,
      NaN,
      null,
      {},
    ]) {
      expect(parseDuration(bad), String(bad)).toBeUndefined()
    }
  })
})
