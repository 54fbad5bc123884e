import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { escapeControl } from './escape.js'

describe('escapeControl', () => {
  it('escapes CR, LF, ESC, NUL and backslash so a field cannot forge a line', () => {
    expect(escapeControl('a\r\nb')).toBe('a\\x0d\\x0ab')
    expect(escapeControl('\u001b[31mred')).toBe('\\x1b[31mred')
    expect(escapeControl('x\u0000y\u2028')).toBe('x\\x00y\\u2028')
    expect(escapeControl('a\\x0a')).toBe('a\\x5cx0a')
  })
  it('leaves clean text alone and truncates', () => {
    expect(escapeControl('Mozilla/5.0')).toBe('Mozilla/5.0')
    expect(escapeControl('abcdef', 3)).toBe('abc…')
  })
  it('never outputs a control character', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        (s) =>
          // eslint-disable-next-line no-control-regex
          !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(escapeControl(s)),
      ),
    )
  })
})
