import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sha256Hex, timingSafeEqual } from './sha256.js'

const reference = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')

describe('sha256Hex', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    )
  })

  it('agrees with node:crypto on every block-boundary length and on arbitrary unicode', () => {
    for (let n = 0; n < 300; n++) expect(sha256Hex('x'.repeat(n))).toBe(reference('x'.repeat(n)))
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => sha256Hex(s) === reference(s)))
    // Lone surrogates are encoded as U+FFFD, as Buffer.from does.
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => sha256Hex(s) === reference(s)))
  })
})

describe('timingSafeEqual', () => {
  it('is equality', () => {
    expect(timingSafeEqual('abc', 'abc')).toBe(true)
    expect(timingSafeEqual('abc', 'abd')).toBe(false)
    expect(timingSafeEqual('abc', 'abcd')).toBe(false)
    expect(timingSafeEqual('', '')).toBe(true)
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => timingSafeEqual(a, b) === (a === b)))
  })
})
