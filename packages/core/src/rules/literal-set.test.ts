import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileLiteralSet, type LiteralLists } from './literal-set.js'

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')

/**
 * The reference: one case-insensitive (non-unicode) RegExp per entry. Not one alternation of
 * all entries, as userAgent rules used to build: V8 mis-matches some of those (see below).
 */
function reference(lists: LiteralLists, text: string): boolean {
  const test = (list: readonly string[] | undefined, wrap: (e: string) => string) =>
    (list ?? []).some((e) => e !== '' && new RegExp(wrap(escapeRegExp(e)), 'i').test(text))
  return (
    test(lists.exact, (e) => `^${e}$`) ||
    test(lists.prefix, (e) => `^${e}`) ||
    test(lists.contains, (e) => e)
  )
}

/** Both ways: the automaton, and whatever compileLiteralSet picks (a RegExp for short lists). */
function matches(lists: LiteralLists, text: string): boolean {
  const picked = compileLiteralSet(lists)?.test(text) ?? false
  const automaton = compileLiteralSet(lists, { automaton: true })?.test(text) ?? false
  expect(automaton, `automaton vs picked on ${JSON.stringify(text)}`).toBe(picked)
  return picked
}

describe('compileLiteralSet', () => {
  it('matches exact, prefix and contains entries case-insensitively', () => {
    const lists = { exact: ['curl/8.0'], prefix: ['Wget'], contains: ['BadBot', 'scraper'] }
    expect(matches(lists, 'CURL/8.0')).toBe(true)
    expect(matches(lists, 'curl/8.0 x')).toBe(false)
    expect(matches(lists, 'wget/1.21')).toBe(true)
    expect(matches(lists, 'x wget')).toBe(false)
    expect(matches(lists, 'Mozilla/5.0 (compatible; BADBOT/2.1)')).toBe(true)
    expect(matches(lists, 'a SCRAPER')).toBe(true)
    expect(matches(lists, 'Mozilla/5.0')).toBe(false)
    expect(matches(lists, '')).toBe(false)
    expect(compileLiteralSet({})).toBeUndefined()
    expect(compileLiteralSet({ contains: [] })).toBeUndefined()
    expect(compileLiteralSet({ contains: [] }, { automaton: true })).toBeUndefined()
  })

  it('agrees with the reference on ASCII-only lists (the RegExp path) and any text', () => {
    const ascii = fc.constantFrom(...'aAkKsSiIbB-. /'.split(''))
    const anyUnit = fc.oneof(
      ascii,
      fc.constantFrom('\u212a', '\u017f', '\u0130', '\u0131', '\u00e9', '\u212b', '\u00df'),
    )
    const list = fc.option(fc.array(fc.string({ unit: ascii, minLength: 1, maxLength: 4 })), {
      nil: undefined,
    })
    fc.assert(
      fc.property(
        fc.record({ exact: list, prefix: list, contains: list }),
        fc.array(fc.string({ unit: anyUnit, maxLength: 12 }), { minLength: 1, maxLength: 8 }),
        (lists, texts) => {
          for (const text of texts) expect(matches(lists, text), text).toBe(reference(lists, text))
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('finds entries that overlap or hide inside one another (failure links)', () => {
    const lists = { contains: ['abcd', 'bce', 'cdx', 'aab'] }
    expect(matches(lists, 'xabce')).toBe(true) // `abc` fails over to `bc`, then `bce`
    expect(matches(lists, 'abcdx')).toBe(true)
    expect(matches(lists, 'aaab')).toBe(true)
    expect(matches(lists, 'abcabc')).toBe(false)
    expect(matches({ contains: ['he', 'she', 'his', 'hers'] }, 'ushers')).toBe(true)
    expect(matches({ contains: ['aaaaab'] }, 'a'.repeat(100) + 'b')).toBe(true)
    // `bc` ends inside the path of `abcd`: found only through the failure link of `abc`.
    expect(matches({ contains: ['abcd', 'bc'] }, 'abcx')).toBe(true)
    expect(matches({ contains: ['abcd', 'bc'] }, 'abx')).toBe(false)
  })

  it('folds case exactly like a RegExp without the u flag', () => {
    // Kelvin sign and long s never fold to ASCII; non-ASCII letters fold among themselves.
    expect(matches({ contains: ['k'] }, '\u212a')).toBe(false)
    expect(matches({ contains: ['s'] }, '\u017f')).toBe(false)
    expect(matches({ contains: ['\u00e9t\u00e9'] }, '\u00c9T\u00c9')).toBe(true)
    expect(matches({ contains: ['\u03c3'] }, '\u03a3')).toBe(true)
    expect(matches({ contains: ['\u00df'] }, 'SS')).toBe(false)
    expect(matches({ contains: ['\ud83d'] }, 'x\ud83d\ude00')).toBe(true) // code units
  })

  it('is not fooled where one RegExp alternation of the entries is (a V8 bug)', () => {
    // Node 20's V8 answers false here: the Kelvin-sign entries hide the plain `k` one.
    const lists = { contains: ['\u212aa', 'k', '\u212a'] }
    expect(matches(lists, 'k')).toBe(true)
    expect(matches(lists, 'K')).toBe(true)
    expect(matches(lists, '\u212a')).toBe(true)
  })

  it('agrees with one RegExp per entry on arbitrary lists and texts', () => {
    const alphabet = fc.constantFrom(
      ...'aAbBkK-. /'.split(''),
      '\u212a',
      '\u017f',
      '\u00e9',
      '\u00c9',
      '\u03c3',
      '\u03a3',
      '\u03c2',
      '\u00df',
      '\u0130',
      '\u0131',
      '\ud83d',
      '\ude00',
    )
    const word = fc.string({ unit: alphabet, minLength: 1, maxLength: 5 })
    const list = fc.option(fc.array(word, { maxLength: 6 }), { nil: undefined })
    fc.assert(
      fc.property(
        fc.record({ exact: list, prefix: list, contains: list }),
        fc.array(fc.string({ unit: alphabet, maxLength: 16 }), { minLength: 1, maxLength: 8 }),
        (lists, texts) => {
          for (const text of texts) expect(matches(lists, text), text).toBe(reference(lists, text))
        },
      ),
      { numRuns: 2000 },
    )
  })
})
