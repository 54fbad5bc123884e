import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compilePaths } from './path-glob.js'
import type { CanonicalTarget } from './request-target.js'
import { MAX_TARGET_LENGTH, canonicalizeTarget, foldCase } from './request-target.js'

function ok(target: string): CanonicalTarget {
  const r = canonicalizeTarget(target)
  if (!r.ok) throw new Error(`expected ${JSON.stringify(target)} to canonicalise: ${r.reason}`)
  return r.path
}

/** The two path forms only (the flags have their own tests). */
function forms(target: string): { exact: string; broad: string } {
  const { exact, broad } = ok(target)
  return { exact, broad }
}

function refused(target: string): boolean {
  return !canonicalizeTarget(target).ok
}

describe('canonicalizeTarget: forms', () => {
  it('takes origin form and cuts query and fragment', () => {
    expect(forms('/api/users/42?x=1')).toEqual({ exact: '/api/users/42', broad: '/api/users/42' })
    expect(forms('/a#frag')).toEqual({ exact: '/a', broad: '/a' })
    expect(forms('/a?x#y')).toEqual({ exact: '/a', broad: '/a' })
    expect(ok('/a#y?x').exact).toBe('/a')
    expect(ok('/?x').exact).toBe('/')
    expect(forms('/')).toEqual({ exact: '/', broad: '/' })
  })

  it('ignores what the query holds, even malformed escapes', () => {
    expect(ok('/a?%zz&b=%').exact).toBe('/a')
    expect(ok('/a?x=/../admin').exact).toBe('/a')
  })

  it('takes absolute form with http or https in any case', () => {
    expect(forms('http://example.com/Admin/x?q=1')).toEqual({
      exact: '/Admin/x',
      broad: '/admin/x',
    })
    expect(ok('HTTPS://example.com:8443/a').exact).toBe('/a')
    expect(ok('hTtP://user@h/a/').exact).toBe('/a/')
    expect(forms('http://h')).toEqual({ exact: '/', broad: '/' })
    expect(ok('http://h?x=1').exact).toBe('/')
    expect(ok('http://h#f').exact).toBe('/')
    expect(ok('http://h//admin').broad).toBe('/admin')
  })

  it('ends the authority at a backslash, as WHATWG URL does for http', () => {
    expect(ok('http://h\\admin').broad).toBe('/admin')
  })

  it('refuses every other form', () => {
    for (const t of [
      '',
      '*',
      'host:443',
      'example.com',
      'a/b',
      '\\admin',
      '%2Fadmin',
      'ftp://h/x',
      'httpx://h/x',
      'htt://h/x',
      'http:/x',
      'http:x',
      'http:',
      'http://',
      'http:///admin',
      'http://?x',
      'mailto:a@b',
      'javascript://h/x',
      '?x',
      '#x',
    ]) {
      expect(refused(t), JSON.stringify(t)).toBe(true)
    }
    expect(canonicalizeTarget('*')).toEqual({ ok: false, reason: expect.stringContaining('*') })
  })

  it('refuses non-strings without throwing', () => {
    for (const v of [undefined, null, 42, {}, ['/a']]) {
      expect(canonicalizeTarget(v as unknown as string).ok).toBe(false)
    }
  })

  it('refuses targets longer than 16 KiB', () => {
    const max = '/' + 'a'.repeat(MAX_TARGET_LENGTH - 1)
    expect(MAX_TARGET_LENGTH).toBe(16384)
    expect(ok(max).exact).toBe(max)
    expect(refused(max + 'a')).toBe(true)
    expect(refused('/a?' + 'q'.repeat(MAX_TARGET_LENGTH))).toBe(true)
  })

  it('refuses raw control characters and spaces anywhere', () => {
    for (const c of ['\0', '\t', '\n', '\r', '\x1b', '\x1f', '\x7f', ' ']) {
      expect(refused(`/a${c}b`), JSON.stringify(c)).toBe(true)
      expect(refused(`/a?q=${c}`), JSON.stringify(c)).toBe(true)
      expect(refused(`/a#${c}`), JSON.stringify(c)).toBe(true)
      expect(refused(`http://h${c}/a`), JSON.stringify(c)).toBe(true)
      expect(refused(`http://h?${c}`), JSON.stringify(c)).toBe(true)
      expect(refused(`${c}/a`), JSON.stringify(c)).toBe(true)
    }
    expect(canonicalizeTarget('/a b')).toEqual({
      ok: false,
      reason: expect.stringMatching(/control/),
    })
  })

  it('accepts raw non-ASCII characters', () => {
    expect(forms('/Café')).toEqual({ exact: '/Café', broad: '/café' })
  })
})

describe('canonicalizeTarget: percent-escapes', () => {
  it('refuses a malformed escape anywhere in the path', () => {
    for (const t of [
      '/%zz',
      '/%4',
      '/%',
      '/a%',
      '/a%g1',
      '/%%41',
      '/a/%2/b',
      '/%ZZ/x?y',
      'http://h/%x',
    ]) {
      expect(canonicalizeTarget(t), t).toEqual({
        ok: false,
        reason: 'malformed percent-escape in the request path',
      })
    }
  })

  it('decodes valid escapes of anything, in either hex case', () => {
    expect(forms('/%61%64%6D%69%6e')).toEqual({ exact: '/admin', broad: '/admin' })
    expect(ok('/a%2Fb').exact).toBe('/a/b')
    expect(ok('/a%2fb/').exact).toBe('/a/b/')
    expect(ok('/a%5Cb').exact).toBe('/a/b')
    expect(ok('/a%5cb').exact).toBe('/a/b')
    expect(ok('/%2E%2E/%2e/x').exact).toBe('/x')
    expect(ok('/a/.%2E/b').exact).toBe('/b')
  })

  it('keeps decoded control characters as characters', () => {
    expect(forms('/a%00b')).toEqual({ exact: '/a\0b', broad: '/a\0b' })
    expect(forms('/a%0d%0aSet-Cookie:x')).toEqual({
      exact: '/a\r\nSet-Cookie:x',
      broad: '/a\r\nset-cookie:x',
    })
    expect(ok('/a%20b').exact).toBe('/a b')
  })

  it('keeps decoded ? and # in the path', () => {
    expect(ok('/a%3Fb%23c?q').exact).toBe('/a?b#c')
  })

  it('decodes once for exact and up to three times for broad', () => {
    expect(forms('/%2561dmin')).toEqual({ exact: '/%61dmin', broad: '/admin' })
    expect(forms('/%252e%252e/admin')).toEqual({ exact: '/%2e%2e/admin', broad: '/admin' })
    expect(forms('/x/%252e%252e/admin')).toEqual({ exact: '/x/%2e%2e/admin', broad: '/admin' })
    expect(ok('/admin%252Fx').broad).toBe('/admin/x')
    expect(ok('/admin%255Cx').broad).toBe('/admin/x')
    expect(ok('/%252561dmin').broad).toBe('/admin') // encoded three times
    expect(ok('/%25252561dmin').broad).toBe('/%61dmin') // a fourth round is not done
  })

  it('later rounds decode valid escapes and keep stray percent signs', () => {
    // A trailing `%25` must not stop the second decoding of `%2561`.
    expect(forms('/%2561dmin/x%25')).toEqual({ exact: '/%61dmin/x%', broad: '/admin/x%' })
    expect(forms('/%2561dmin/x%25zz')).toEqual({ exact: '/%61dmin/x%zz', broad: '/admin/x%zz' })
    expect(ok('/100%25').broad).toBe('/100%')
  })

  it('reads bytes as UTF-8', () => {
    expect(forms('/caf%C3%A9')).toEqual({ exact: '/café', broad: '/café' })
    expect(ok('/CAF%C3%89').broad).toBe('/café')
    expect(ok('/%F0%9F%98%80').exact).toBe('/\u{1f600}')
    expect(ok('/%E2%82%AC').exact).toBe('/€')
  })

  it('turns invalid UTF-8 into U+FFFD and never refuses it', () => {
    expect(ok('/%FF').exact).toBe('/\ufffd')
    expect(ok('/a%80b').exact).toBe('/a\ufffdb')
    expect(ok('/%E2%82').exact).toBe('/\ufffd') // truncated: one replacement
    expect(ok('/%E2%82a').exact).toBe('/\ufffda')
    expect(ok('/%ED%A0%80').exact).toBe('/\ufffd\ufffd\ufffd') // encoded surrogate
    expect(ok('/%F4%90%80%80').exact).toBe('/\ufffd\ufffd\ufffd\ufffd') // above U+10FFFF
    expect(ok('/%C3').exact).toBe('/\ufffd')
    expect(ok('/%C3%C3%A9').exact).toBe('/\ufffdé')
  })

  it('does not read overlong encodings as dots or slashes', () => {
    expect(forms('/a/%C0%AE%C0%AE/admin')).toEqual({
      exact: '/a/\ufffd\ufffd\ufffd\ufffd/admin',
      broad: '/a/\ufffd\ufffd\ufffd\ufffd/admin',
    })
    expect(ok('/a%C0%AFb').exact).toBe('/a\ufffd\ufffdb')
    expect(ok('/a%E0%80%AFb').exact).toBe('/a\ufffd\ufffd\ufffdb')
  })

  it('decodes like TextDecoder for any bytes', () => {
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
    const hex = (b: number) => '%' + b.toString(16).padStart(2, '0')
    fc.assert(
      fc.property(
        fc.array(
          fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x2f && b !== 0x5c && b !== 0x2e),
          { maxLength: 24 },
        ),
        (bytes) => {
          const expected = '/' + decoder.decode(Uint8Array.from(bytes))
          expect(ok('/' + bytes.map(hex).join('')).exact).toBe(expected)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('decodes like decodeURIComponent for valid text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1 }).filter((s) => {
          if (s.includes('/') || s.includes('\\') || s === '.' || s === '..') return false
          try {
            encodeURIComponent(s)
            return true
          } catch {
            return false // lone surrogate
          }
        }),
        (s) => {
          expect(ok('/' + encodeURIComponent(s)).exact).toBe('/' + s)
        },
      ),
      { numRuns: 1000 },
    )
  })
})

describe('canonicalizeTarget: path resolution', () => {
  it('exact keeps case and trailing slash, broad folds them', () => {
    expect(forms('/A/B/')).toEqual({ exact: '/A/B/', broad: '/a/b' })
    expect(forms('/a/')).toEqual({ exact: '/a/', broad: '/a' })
    expect(forms('/Admin')).toEqual({ exact: '/Admin', broad: '/admin' })
  })

  it('resolves dot segments, staying at the root', () => {
    expect(ok('/a/./b/../c').exact).toBe('/a/c')
    expect(ok('/../../admin').exact).toBe('/admin')
    expect(ok('/..').exact).toBe('/')
    expect(ok('/.').exact).toBe('/')
    expect(ok('/a/.').exact).toBe('/a/')
    expect(ok('/a/..').exact).toBe('/')
    expect(ok('/a/b/..').exact).toBe('/a/')
    expect(ok('/a/b/../').exact).toBe('/a/')
    expect(ok('/a/b/..').broad).toBe('/a')
    expect(ok('/a/.../b').exact).toBe('/a/.../b') // not a dot segment
    expect(ok('/a/.b/..c').exact).toBe('/a/.b/..c')
  })

  it('collapses repeated slashes, dropping empty segments before applying ".."', () => {
    expect(ok('//a///b//').exact).toBe('/a/b/')
    expect(ok('//').exact).toBe('/')
    expect(ok('/a/x//../b').exact).toBe('/a/b')
  })

  it('reads a backslash, literal or encoded, as a slash', () => {
    expect(ok('/a\\b').exact).toBe('/a/b')
    expect(ok('/a\\..\\admin').broad).toBe('/admin')
    expect(ok('/a%5C..%5Cadmin').broad).toBe('/admin')
    expect(ok('/a%5c%2e%2e%5cadmin').exact).toBe('/admin')
  })

  it('folds case so that case-insensitive routers see one path', () => {
    expect(ok('/ΟΔΟΣ').broad).toBe(ok('/οδος').broad)
    expect(ok('/οδοσ').broad).toBe(ok('/οδος').broad)
    expect(ok('/%C2%B5').broad).toBe(ok('/%CE%BC').broad) // micro sign and mu
    expect(ok('/STRA%E1%BA%9EE').broad).toBe(ok('/strasse').broad) // capital sharp s
    expect(ok('/Stra%C3%9Fe').broad).toBe(ok('/STRASSE').broad)
    expect(foldCase('/ADMIN')).toBe('/admin')
    expect(foldCase('/Ünï')).toBe('/ünï')
  })
})

describe('canonicalizeTarget: broadUnresolved', () => {
  it('keeps dot segments as literal segments, otherwise built like broad', () => {
    expect(ok('/admin/..')).toMatchObject({ broad: '/', broadUnresolved: '/admin/..' })
    expect(ok('/admin/%2e%2e/')).toMatchObject({ broad: '/', broadUnresolved: '/admin/..' })
    expect(ok('/Admin/%2E/X/')).toMatchObject({ broad: '/admin/x', broadUnresolved: '/admin/./x' })
    expect(ok('/a//..\\B')).toMatchObject({ broad: '/b', broadUnresolved: '/a/../b' })
    expect(ok('/admin/x/../../public/y')).toMatchObject({
      broad: '/public/y',
      broadUnresolved: '/admin/x/../../public/y',
    })
    expect(ok('/..')).toMatchObject({ exact: '/', broad: '/', broadUnresolved: '/..' })
    expect(ok('http://h/a/.')).toMatchObject({ broad: '/a', broadUnresolved: '/a/.' })
  })

  it('decodes up to three times before looking for dot segments', () => {
    expect(ok('/x/%252e%252e/admin')).toMatchObject({
      exact: '/x/%2e%2e/admin',
      broad: '/admin',
      broadUnresolved: '/x/../admin',
    })
    expect(ok('/admin%252F%25252E%25252E').broadUnresolved).toBe('/admin/..')
    expect(ok('/x/..%252Fadmin')).toMatchObject({
      exact: '/x/..%2Fadmin',
      broad: '/admin',
      broadUnresolved: '/x/../admin',
    })
  })

  it('is broad itself when no dot segment occurred', () => {
    for (const t of [
      '/api/users/42?x=1',
      '/A/B/',
      '/%61dmin//X\\y/',
      '/Caf%C3%A9',
      '/',
      'http://h',
      '/a/.b/..c/...',
      '/%2561dmin',
    ]) {
      const r = ok(t)
      expect(r.broadUnresolved, t).toBe(r.broad)
    }
  })
})

describe('canonicalizeTarget: isCanonical', () => {
  it('is true when the path decoded once is already the exact form', () => {
    for (const t of [
      '/',
      '/a',
      '/A/b/',
      '/api/users/42?x=/../admin#/..',
      '/%68ealth',
      '/public/%79',
      '/caf%C3%A9',
      '/a%3Fb%23c',
      '/a/.b/..c/...',
      '/a/%252e%252e/b', // decoded once: `%2e%2e`, an ordinary segment
      '/a%252Fb',
      'http://h',
      'http://h?x',
      'HTTP://h/a/b/',
    ]) {
      expect(ok(t).isCanonical, t).toBe(true)
    }
  })

  it('is false for dot segments, backslashes, repeated slashes and encoded slashes', () => {
    for (const t of [
      '/a/../b',
      '/a/./b',
      '/a/..',
      '/a/.',
      '/..',
      '/.',
      '/a/%2e%2e/b',
      '/a/%2E/b',
      '/a/.%2e/b',
      '//a',
      '/a//b',
      '/a/b//',
      '/a\\b',
      '/a%5Cb',
      '/a%5cb',
      '/a%2Fb',
      '/a%2fb',
      '/a%2F', // decodes to `/a/`, which is its exact form, but names it with an escape
      'http://h//a',
      'http://h\\a',
    ]) {
      expect(ok(t).isCanonical, t).toBe(false)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Property: every variant an attacker may send has the broad form of the plain path.

interface Token {
  ch: string
  depth: number // how many times the character is percent-encoded (0-3)
}

type Op =
  | { op: 'encode'; at: number; times: number }
  | { op: 'dot'; at: number }
  | { op: 'dotdot'; at: number; name: string }
  | { op: 'dupSlash'; at: number }
  | { op: 'backslash'; at: number }
  | { op: 'upper'; at: number }
  | { op: 'trailing' }

const segmentArb = fc.stringMatching(/^[a-z0-9_-]{1,8}$/)
const plainPathArb = fc
  .array(segmentArb, { maxLength: 6 })
  .map((segments) => '/' + segments.join('/'))

function opArb(maxDepth: number): fc.Arbitrary<Op> {
  const at = fc.nat()
  return fc.oneof(
    fc.record({
      op: fc.constant('encode' as const),
      at,
      times: fc.integer({ min: 1, max: maxDepth }),
    }),
    fc.record({ op: fc.constant('dot' as const), at }),
    fc.record({ op: fc.constant('dotdot' as const), at, name: segmentArb }),
    fc.record({ op: fc.constant('dupSlash' as const), at }),
    fc.record({ op: fc.constant('backslash' as const), at }),
    fc.record({ op: fc.constant('upper' as const), at }),
    fc.record({ op: fc.constant('trailing' as const) }),
  )
}

function indexesOf(tokens: Token[], pred: (t: Token, i: number) => boolean): number[] {
  const out: number[] = []
  tokens.forEach((t, i) => {
    if (pred(t, i)) out.push(i)
  })
  return out
}

function pick(list: number[], at: number): number | undefined {
  return list.length === 0 ? undefined : list[at % list.length]
}

function isSeparator(t: Token): boolean {
  return t.ch === '/' || t.ch === '\\'
}

function applyOps(path: string, ops: readonly Op[], maxDepth: number): Token[] {
  const tokens: Token[] = [...path].map((ch) => ({ ch, depth: 0 }))
  const plain = (s: string): Token[] => [...s].map((ch) => ({ ch, depth: 0 }))
  for (const o of ops) {
    // The first `/` stays literal: it is what makes the target origin form.
    switch (o.op) {
      case 'encode': {
        const i = pick(
          indexesOf(tokens, (_, i) => i > 0),
          o.at,
        )
        const t = i === undefined ? undefined : tokens[i]
        if (t) t.depth = Math.min(maxDepth, t.depth + o.times)
        break
      }
      case 'dot':
      case 'dotdot': {
        const i = pick(
          indexesOf(tokens, (t) => isSeparator(t)),
          o.at,
        )
        if (i === undefined) break
        tokens.splice(i + 1, 0, ...plain(o.op === 'dot' ? './' : `${o.name}/../`))
        break
      }
      case 'dupSlash': {
        const i = pick(
          indexesOf(tokens, (t) => isSeparator(t)),
          o.at,
        )
        const t = i === undefined ? undefined : tokens[i]
        if (i !== undefined && t) tokens.splice(i, 0, { ...t })
        break
      }
      case 'backslash': {
        const i = pick(
          indexesOf(tokens, (t, i) => i > 0 && t.ch === '/'),
          o.at,
        )
        const t = i === undefined ? undefined : tokens[i]
        if (t) t.ch = '\\'
        break
      }
      case 'upper': {
        const i = pick(
          indexesOf(tokens, (t) => /[a-z]/.test(t.ch)),
          o.at,
        )
        const t = i === undefined ? undefined : tokens[i]
        if (t) t.ch = t.ch.toUpperCase()
        break
      }
      case 'trailing':
        tokens.push({ ch: '/', depth: 0 })
        break
    }
  }
  return tokens
}

function render(tokens: readonly Token[], upperHex: readonly boolean[]): string {
  return tokens
    .map((t, i) => {
      if (t.depth === 0) return t.ch
      let hex = t.ch.charCodeAt(0).toString(16).padStart(2, '0')
      if (upperHex[i % Math.max(1, upperHex.length)]) hex = hex.toUpperCase()
      return '%' + '25'.repeat(t.depth - 1) + hex
    })
    .join('')
}

const suffixArb = fc.stringMatching(/^[!-~]{0,12}$/) // printable ASCII, no space
const absoluteArb = fc.option(
  fc.record({
    scheme: fc
      .constantFrom('http', 'https')
      .chain((s) =>
        fc
          .array(fc.boolean(), { minLength: s.length, maxLength: s.length })
          .map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join('')),
      ),
    host: fc.stringMatching(/^[a-z0-9.-]{1,20}(:[0-9]{1,5})?$/),
  }),
)

function variantArb(maxDepth: number, ops: fc.Arbitrary<Op>) {
  return fc
    .record({
      path: plainPathArb,
      ops: fc.array(ops, { maxLength: 12 }),
      upperHex: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
      query: fc.option(suffixArb.map((s) => '?' + s)),
      fragment: fc.option(suffixArb.map((s) => '#' + s)),
      absolute: absoluteArb,
    })
    .map((v) => {
      const tokens = applyOps(v.path, v.ops, maxDepth)
      let target = render(tokens, v.upperHex) + (v.query ?? '') + (v.fragment ?? '')
      if (v.absolute) target = `${v.absolute.scheme}://${v.absolute.host}${target}`
      const trailing = v.ops.some((o) => o.op === 'trailing')
      return { path: v.path, target, trailing }
    })
}

/** Deny patterns that name a plain path: itself, everything below it, and a `*` form. */
function denyPatterns(path: string): string[] {
  if (path === '/') return ['/', '/**']
  return [path, path + '/**', path.replace(/[^/]+$/, '*'), '/**' + path.replace(/^\/[^/]+/, '')]
}

/** The raw path of a target: no scheme and authority, no query or fragment. */
function rawPathOf(target: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/\\?#]*/i.exec(target)
  const rest = m ? target.slice(m[0].length) : target
  const end = rest.search(/[?#]/)
  return end < 0 ? rest : rest.slice(0, end)
}

/** Reference for isCanonical: decode once, then look for what a router could read differently. */
function referenceIsCanonical(target: string): boolean {
  const raw = rawPathOf(target)
  if (/%2f/i.test(raw)) return false
  const bytes: number[] = []
  const encoder = new TextEncoder()
  for (let i = 0; i < raw.length;) {
    if (raw[i] === '%') {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16))
      i += 3
    } else {
      const cp = raw.codePointAt(i)!
      const ch = String.fromCodePoint(cp)
      bytes.push(...encoder.encode(ch))
      i += ch.length
    }
  }
  const decoded = new TextDecoder().decode(Uint8Array.from(bytes))
  if (decoded === '/') return true
  if (decoded.includes('\\')) return false
  const segments = decoded.slice(1).split('/')
  if (segments[segments.length - 1] === '') segments.pop() // a trailing slash is fine
  return segments.every((seg) => seg !== '' && seg !== '.' && seg !== '..')
}

/** Resolves dot segments of a slash-collapsed path and removes the trailing slash. */
function referenceResolve(p: string): string {
  const out: string[] = []
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') out.pop()
    else out.push(seg)
  }
  return '/' + out.join('/')
}

describe('canonicalizeTarget: properties', () => {
  it('gives every variant of a plain path the broad form of that path', () => {
    fc.assert(
      fc.property(variantArb(3, opArb(3)), ({ path, target }) => {
        const plain = ok(path)
        expect(plain.broad).toBe(path)
        const r = canonicalizeTarget(target)
        expect(r).toEqual({ ok: true, path: expect.anything() })
        if (r.ok) expect(r.path.broad).toBe(plain.broad)
      }),
      { numRuns: 5000 },
    )
  })

  it('a deny on a plain path catches every variant of it', () => {
    fc.assert(
      fc.property(variantArb(3, opArb(3)), ({ path, target }) => {
        const variant = ok(target)
        for (const pattern of denyPatterns(path)) {
          expect(compilePaths([pattern], 'broad').matches(variant), pattern).toBe(true)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('a deny on /p/** catches every variant of /p followed by dot segments', () => {
    // `/p/..` and `/p/x/../..` reach a `/p/:id` handler of a raw-path router.
    const ops = opArb(3).filter((o) => o.op !== 'dot' && o.op !== 'dotdot')
    const dotSuffix = fc.array(
      fc.record({
        dots: fc.constantFrom('.', '..', 'x/..'),
        separator: fc.constantFrom('/', '\\'),
        depths: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 5, maxLength: 5 }),
      }),
      { minLength: 1, maxLength: 3 },
    )
    fc.assert(
      fc.property(
        fc.record({
          path: plainPathArb,
          ops: fc.array(ops, { maxLength: 8 }),
          suffix: dotSuffix,
          trailing: fc.boolean(),
          query: fc.option(suffixArb.map((s) => '?' + s)),
        }),
        (v) => {
          const tokens = applyOps(v.path, v.ops, 3)
          for (const part of v.suffix) {
            const chars = [part.separator, ...part.dots]
            chars.forEach((ch, i) => tokens.push({ ch, depth: part.depths[i] ?? 0 }))
          }
          if (v.trailing) tokens.push({ ch: '/', depth: 0 })
          const target = render(tokens, [true, false]) + (v.query ?? '')
          const pattern = v.path === '/' ? '/**' : v.path + '/**'
          expect(compilePaths([pattern], 'broad').matches(ok(target)), target).toBe(true)
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('an allow on a plain path matches a variant exactly when the variant is canonical', () => {
    fc.assert(
      fc.property(variantArb(3, opArb(3)), ({ path, target }) => {
        const variant = ok(target)
        expect(variant.isCanonical, target).toBe(referenceIsCanonical(target))
        if (!variant.isCanonical) {
          expect(compilePaths(['/**'], 'exact').matches(variant)).toBe(false)
          expect(compilePaths([path + '/**'], 'exact').matches(variant)).toBe(false)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('gives variants without case changes or double encoding the exact form of the path', () => {
    const ops = opArb(1).filter((o) => o.op !== 'upper')
    fc.assert(
      fc.property(variantArb(1, ops), ({ path, target, trailing }) => {
        const expected = trailing && path !== '/' ? path + '/' : path
        expect(ok(target).exact).toBe(expected)
      }),
      { numRuns: 3000 },
    )
  })

  const pathish = (s: fc.Arbitrary<string>) =>
    fc.oneof(
      s,
      s.map((x) => '/' + x),
      s.map((x) => 'http://h/' + x),
    )
  const randomEscapes = fc
    .array(
      fc.oneof(
        fc.integer({ min: 0, max: 255 }).map((b) => '%' + b.toString(16).padStart(2, '0')),
        fc.constantFrom('/', '\\', '.', '..', '%', '%25', '%2', 'A', '?', '#'),
      ),
      { maxLength: 40 },
    )
    .map((parts) => parts.join(''))
  const loneSurrogates = fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  })

  it('never throws, and every answer is canonical', () => {
    for (const arb of [
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'grapheme' }),
      loneSurrogates,
      randomEscapes,
    ]) {
      fc.assert(
        fc.property(pathish(arb), (target) => {
          const r = canonicalizeTarget(target)
          if (!r.ok) {
            expect(typeof r.reason).toBe('string')
            return
          }
          for (const form of [r.path.exact, r.path.broad]) {
            expect(form.startsWith('/')).toBe(true)
            expect(form).not.toContain('\\')
            expect(form).not.toMatch(/\/\/|\/\.\.?(\/|$)/)
          }
          expect(r.path.broad === '/' || !r.path.broad.endsWith('/')).toBe(true)
          expect(foldCase(r.path.broad)).toBe(r.path.broad)
          const u = r.path.broadUnresolved
          expect(u.startsWith('/')).toBe(true)
          expect(u).not.toContain('\\')
          expect(u).not.toContain('//')
          expect(u === '/' || !u.endsWith('/')).toBe(true)
          expect(foldCase(u)).toBe(u)
          if (!/\/\.\.?(\/|$)/.test(u)) expect(u).toBe(r.path.broad)
          expect(referenceResolve(u)).toBe(r.path.broad)
          expect(r.path.isCanonical, target).toBe(referenceIsCanonical(target))
          if (!target.includes('%')) {
            const stripped =
              r.path.exact.length > 1 ? r.path.exact.replace(/\/$/, '') : r.path.exact
            expect(r.path.broad).toBe(foldCase(stripped))
          }
        }),
        { numRuns: 2000 },
      )
    }
  })

  it('folds case idempotently, one character at a time', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const folded = foldCase(a + b)
        expect(foldCase(folded)).toBe(folded)
        expect(folded).toBe(foldCase(a) + foldCase(b))
      }),
      { numRuns: 3000 },
    )
  })

  it('handles the longest hostile targets', () => {
    const n = MAX_TARGET_LENGTH
    for (const t of [
      '/' + '%2e%2e/'.repeat(Math.floor((n - 1) / 7)),
      '/' + 'a/../'.repeat(n / 5).slice(0, n - 1),
      '/' + 'a'.repeat(n / 2) + '/..'.repeat(n / 6),
      '/' + '%25'.repeat((n - 1) / 3),
      '/' + '%FF'.repeat((n - 1) / 3),
      '/' + '%F0%9F%98%80'.repeat(n / 12 - 1),
      '/' + '/'.repeat(n - 1),
      '/' + '\\'.repeat(n - 1),
    ]) {
      expect(t.length).toBeLessThanOrEqual(n)
      expect(canonicalizeTarget(t).ok).toBe(true)
    }
  })
})
