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

  it('refuses an authority that url.parse (Express) reads differently: it would move the path', () => {
    // Node's legacy url.parse reads `http://h:x/public/a` as the path `/:x/public/a`.
    for (const t of [
      'http://h:x/public/a',
      'http://h:8a/public/a',
      'http://h;x/public/a',
      "http://h'x/public/a",
      'http://h%41/public/a',
      'http://h\u00e9/public/a',
      'http://h\ufffd/public/a',
      'http://h{x}/public/a',
      'http://[::1]x/public/a',
      'http://[::1/public/a',
      'http://[h]/public/a',
      'http://u%40@h/public/a',
      'http://h^/public/a',
    ]) {
      expect(canonicalizeTarget(t), t).toEqual({
        ok: false,
        reason: expect.stringContaining('[userinfo@]host[:port]'),
      })
    }
    for (const t of [
      'http://u:p@h:8080/public/a',
      'http://a@b@c/public/a',
      "http://u;x'y@h/public/a",
      'http://[::1]:80/public/a',
      'http://[2001:DB8::1.2.3.4]/public/a',
      'http://h~!$&()*+,=_-/public/a',
      'http://h:/public/a',
      'http://@h/public/a',
      'http://h.example.com./public/a',
    ]) {
      expect(ok(t).exact, t).toBe('/public/a')
    }
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

  it('refuses escapes that decode to invalid UTF-8 in the first round', () => {
    for (const t of [
      '/%c0', // lead byte of an overlong form
      '/%C1%81', // overlong `A`
      '/%ff',
      '/%FE',
      '/a%80b', // stray continuation byte
      '/%BF',
      '/%E0%A4%A', // malformed escape after a truncated sequence
      '/%E2%82', // truncated
      '/%E2%82a',
      '/%C3',
      '/%C3%C3%A9',
      '/%C3é', // an escape run ends at a raw character
      '/%ED%A0%80', // encoded surrogate
      '/%ED%BF%BF',
      '/%F4%90%80%80', // above U+10FFFF
      '/%F5%80%80%80',
      '/%F8%88%80%80%80', // five-byte form
      '/%E0%80%AF', // overlong `/`
      '/%F0%80%80%AF',
      '/a/%C0%AE%C0%AE/admin', // overlong `..`
      '/ok/%C0%AF/admin',
      '/admin;%ff', // after a raw `;` too: the whole path is decoded
      'http://h/%ff?x',
    ]) {
      expect(refused(t), t).toBe(true)
    }
    expect(canonicalizeTarget('/%c0')).toEqual({
      ok: false,
      reason: 'percent-escapes in the request path decode to invalid UTF-8',
    })
    expect(canonicalizeTarget('/%E0%A4%A').ok).toBe(false)
    expect(canonicalizeTarget('/%zz%ff')).toEqual({
      ok: false,
      reason: 'malformed percent-escape in the request path',
    })
    // Only the path is decoded: the query may hold anything.
    expect(ok('/a?%ff%c0').exact).toBe('/a')
  })

  it('accepts escapes of valid UTF-8 right up to the edges', () => {
    expect(ok('/%C3%A9').exact).toBe('/é')
    expect(ok('/%C2%80').exact).toBe('/\u0080') // smallest two-byte
    expect(ok('/%E0%A0%80').exact).toBe('/\u0800') // smallest three-byte
    expect(ok('/%ED%9F%BF').exact).toBe('/\ud7ff') // just below the surrogates
    expect(ok('/%EE%80%80').exact).toBe('/\ue000') // just above them
    expect(ok('/%EF%BB%BF').exact).toBe('/\ufeff') // a BOM is a character
    expect(ok('/%F0%90%80%80').exact).toBe('/\u{10000}')
    expect(ok('/%F4%8F%BF%BF').exact).toBe('/\u{10ffff}')
  })

  it('later rounds turn invalid UTF-8 into U+FFFD and never refuse it', () => {
    // A router decodes once: `/%25c0` reaches it as the text `/%c0`.
    expect(ok('/%25c0')).toMatchObject({ exact: '/%c0', broad: '/\ufffd' })
    expect(ok('/%25FF')).toMatchObject({ exact: '/%FF', broad: '/\ufffd' })
    expect(ok('/%2525FF')).toMatchObject({ exact: '/%25FF', broad: '/\ufffd' }) // third round
    expect(ok('/a%2580b').broad).toBe('/a\ufffdb')
    expect(ok('/%25E2%2582').broad).toBe('/\ufffd') // truncated: one replacement
    expect(ok('/%25E2%2582a').broad).toBe('/\ufffda')
    expect(ok('/%25ED%25A0%2580').broad).toBe('/\ufffd\ufffd\ufffd') // encoded surrogate
    expect(ok('/%25F4%2590%2580%2580').broad).toBe('/\ufffd\ufffd\ufffd\ufffd')
    expect(ok('/%25C3%25C3%25A9').broad).toBe('/\ufffdé')
    expect(ok('/%25E0%25A4%25A').broad).toBe('/\ufffd%a') // a stray `%` is kept
  })

  it('does not read overlong encodings as dots or slashes in later rounds', () => {
    expect(forms('/a/%25C0%25AE%25C0%25AE/admin')).toEqual({
      exact: '/a/%C0%AE%C0%AE/admin',
      broad: '/a/\ufffd\ufffd\ufffd\ufffd/admin',
    })
    expect(ok('/a%25C0%25AFb').broad).toBe('/a\ufffd\ufffdb')
    expect(ok('/a%25E0%2580%25AFb').broad).toBe('/a\ufffd\ufffd\ufffdb')
  })

  it('decodes like a fatal TextDecoder for any bytes in the first round', () => {
    const fatal = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true })
    const hex = (b: number) => '%' + b.toString(16).padStart(2, '0')
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 255 }),
            // valid multi-byte sequences, so that accepted targets are common too
            fc
              .constantFrom('é', '€', '\u{1f600}', '\u0800', '\u{10ffff}')
              .map((c) => [...new TextEncoder().encode(c)]),
          ),
          { maxLength: 16 },
        ),
        (parts) => {
          const bytes = parts.flat().filter((b) => b !== 0x2f && b !== 0x5c && b !== 0x2e)
          let expected: string | undefined
          try {
            expected = '/' + fatal.decode(Uint8Array.from(bytes))
          } catch {
            expected = undefined
          }
          const r = canonicalizeTarget('/' + bytes.map(hex).join(''))
          if (expected === undefined) {
            expect(r).toEqual({
              ok: false,
              reason: 'percent-escapes in the request path decode to invalid UTF-8',
            })
          } else {
            expect(r.ok && r.path.exact).toBe(expected)
          }
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('decodes like a replacing TextDecoder for any bytes in later rounds', () => {
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
    const hex = (b: number) => '%25' + b.toString(16).padStart(2, '0')
    fc.assert(
      fc.property(
        fc.array(
          fc
            .integer({ min: 0, max: 255 })
            .filter((b) => b !== 0x2f && b !== 0x5c && b !== 0x2e && b !== 0x25),
          { maxLength: 24 },
        ),
        (bytes) => {
          const expected = foldCase('/' + decoder.decode(Uint8Array.from(bytes)))
          const r = ok('/' + bytes.map(hex).join(''))
          expect(r.broad).toBe(expected)
          expect(r.broadCut).toBeUndefined() // a `;` decoded in a later round never cuts
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

describe('canonicalizeTarget: semicolons', () => {
  /** The cut forms only. */
  const cut = (t: string) => {
    const { broadCut, broadCutUnresolved } = ok(t)
    return { broadCut, broadCutUnresolved }
  }

  it('cuts the broad form at the first raw ";"', () => {
    expect(ok('/admin;x')).toEqual({
      exact: '/admin;x',
      broad: '/admin;x',
      broadUnresolved: '/admin;x',
      broadCut: '/admin',
      broadCutUnresolved: '/admin',
      isCanonical: false,
    })
    expect(ok('/%61dmin;jsessionid=1')).toMatchObject({
      exact: '/admin;jsessionid=1',
      broad: '/admin;jsessionid=1',
      broadCut: '/admin',
      isCanonical: false,
    })
    expect(cut('/admin/;x')).toEqual({ broadCut: '/admin', broadCutUnresolved: '/admin' })
    expect(cut('/ADMIN;A=B')).toEqual({ broadCut: '/admin', broadCutUnresolved: '/admin' })
    expect(cut('/a;b;c/d')).toEqual({ broadCut: '/a', broadCutUnresolved: '/a' })
    expect(cut('/;x')).toEqual({ broadCut: '/', broadCutUnresolved: '/' })
    expect(cut('/a;')).toEqual({ broadCut: '/a', broadCutUnresolved: '/a' })
    expect(cut('/%2561dmin;x').broadCut).toBe('/admin') // decoded like broad
    expect(cut('//a\\b;x').broadCut).toBe('/a/b')
    expect(cut('http://h/Admin;x?y').broadCut).toBe('/admin')
    expect(cut('HTTP://h\\admin;x').broadCut).toBe('/admin')
  })

  it('cuts after the first segment: the uncut forms still apply', () => {
    expect(ok('/api;v=1/admin')).toMatchObject({
      exact: '/api;v=1/admin',
      broad: '/api;v=1/admin',
      broadUnresolved: '/api;v=1/admin',
      broadCut: '/api',
      broadCutUnresolved: '/api',
    })
    expect(ok('/admin;x/../public')).toMatchObject({
      broad: '/public',
      broadUnresolved: '/admin;x/../public',
      broadCut: '/admin',
    })
  })

  it('keeps dot segments of the cut path in broadCutUnresolved', () => {
    expect(cut('/admin/..;x')).toEqual({ broadCut: '/', broadCutUnresolved: '/admin/..' })
    expect(cut('/admin/%2e%2e;x')).toEqual({ broadCut: '/', broadCutUnresolved: '/admin/..' })
    expect(cut('/x/../Admin;x')).toEqual({ broadCut: '/admin', broadCutUnresolved: '/x/../admin' })
    expect(cut('/admin/.;x=1/y')).toEqual({ broadCut: '/admin', broadCutUnresolved: '/admin/.' })
  })

  it('never cuts the raw path at an escaped ";" or at one in the query or fragment', () => {
    for (const t of [
      '/admin%3Bx',
      '/admin%3bx',
      '/admin%253Bx', // decodes to `;` in the second round only: still escaped for a router
      '/admin?x;y',
      '/admin#x;y',
      'http://h/admin?;',
      '/api/users/42?x=1',
      '/',
      'http://h',
    ]) {
      expect(cut(t), t).toEqual({ broadCut: undefined, broadCutUnresolved: undefined })
    }
    expect(ok('/admin%3Bx')).toMatchObject({
      exact: '/admin;x',
      broad: '/admin;x',
      isCanonical: true,
    })
    for (const t of ['/admin?x;y', '/admin#x;y', 'http://h/admin?;', '/api/x?a=%3B', '/', '/a']) {
      expect(ok(t).broadExtra, t).toBeUndefined()
    }
  })
})

describe('canonicalizeTarget: broadExtra (components that decode, cut or resolve first)', () => {
  /** Every broad form of a target. */
  const all = (t: string): string[] => {
    const p = ok(t)
    return [
      p.broad,
      p.broadUnresolved,
      p.broadCut,
      p.broadCutUnresolved,
      ...(p.broadExtra ?? []),
    ].filter((f): f is string => f !== undefined)
  }

  it('cuts at a ";" that a decoding round produced (a proxy decodes %3B first)', () => {
    // A proxy that decodes `%3B` hands `/admin;x` on; a router that cuts at `;` routes `/admin`.
    expect(ok('/admin%3Bx').broadExtra).toEqual(['/admin%3bx', '/admin'])
    expect(all('/admin%3bx')).toContain('/admin')
    expect(all('/ADMIN%3B')).toContain('/admin')
    expect(all('/admin%253Bx')).toContain('/admin') // second round
    expect(all('/admin%25253Bx')).toContain('/admin') // third round
    expect(all('/admin%2525253Bx')).not.toContain('/admin') // a fourth round: never decoded
    expect(all('/api%3Bv=1/admin')).toContain('/api')
    expect(all('/admin/%2e%2e%3Bx')).toEqual(expect.arrayContaining(['/', '/admin/..']))
    // Each round is cut at its own first `;`, then decoded further.
    expect(all('/p%25253Bq/admin%3Bz')).toEqual(expect.arrayContaining(['/p;q/admin', '/p']))
    expect(all('/admin/x%253B/..%3B/y')).toEqual(
      expect.arrayContaining(['/admin', '/admin/x;/..', '/admin/x']),
    )
  })

  it('drops the ";" parameters of every segment, as servlet containers do', () => {
    expect(all('/x/..;y/admin')).toContain('/admin') // Tomcat: `/x/../admin`
    expect(all('/admin;a=1/users;b=2')).toContain('/admin/users')
    expect(all('/x/..%3By/admin')).toContain('/admin')
    expect(all('/x/..%253By/admin')).toContain('/admin')
  })

  it('resolves dot segments before a decoding round (a proxy resolves the raw path first)', () => {
    // `/x/../admin/%2e%2e` resolved raw is `/admin/%2e%2e`: `/admin/..` once decoded, which a
    // raw-path router routes under /admin. Decoded first, it resolves to `/`.
    const path = ok('/x/../admin/%2e%2e')
    expect(path.broad).toBe('/')
    expect(path.broadUnresolved).toBe('/x/../admin/..')
    expect(path.broadExtra).toEqual(expect.arrayContaining(['/admin/..']))
    expect(all('/a/%2e%2e/../admin/%252e%252e')).toContain('/admin/..')
  })

  it('holds only forms the other four do not, each once, all broad-shaped', () => {
    for (const t of ['/admin;x%41', '/admin;x%3By', '/a%3Bb;c', '/admin/..%3Bx/y', '/%61/b']) {
      const p = ok(t)
      const extra = p.broadExtra ?? []
      expect(new Set(extra).size, t).toBe(extra.length)
      for (const f of extra) {
        expect([p.broad, p.broadUnresolved, p.broadCut, p.broadCutUnresolved], t).not.toContain(f)
        expect(f.startsWith('/') && !f.includes('//') && !f.includes('\\'), t).toBe(true)
        expect(foldCase(f), t).toBe(f)
      }
    }
    expect(all('/a%3Bb;c')).toEqual(expect.arrayContaining(['/a;b', '/a']))
  })

  it('refuses a path with more readings than any legitimate path has', () => {
    // Dot segments and `;` hidden one, two and three decoding rounds deep: still answered.
    expect(refused('/x/%2e%2e%3By/%252e%252e%253Bz/%25252e%25252e%25253Bw/q;r')).toBe(false)
    expect(refused('/shop;jsessionid=ABC/item/%E4%BD%A0/..;/x%3By')).toBe(false)
    // In every order: more than MAX_READINGS texts.
    const hostile = '/s0/%2e/%252e/s3/%252e/./%2e/../x%25253By/x%253By/x%3By/s11/s12'
    expect(refused(hostile)).toBe(true)
    expect(canonicalizeTarget(hostile)).toEqual({
      ok: false,
      reason: expect.stringContaining('too many readings'),
    })
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
      '/admin%3Bx', // an escaped `;` is a path character
      '/a?x;y', // a `;` in the query is not in the path
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
      '/health;x',
      '/a;',
      '/;',
      '/a/b;c=1/d',
      '/%68ealth;x',
      'http://h/a;x?y',
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
  orig?: number // index in the plain path of the character this token stands for
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
  const tokens: Token[] = [...path].map((ch, orig) => ({ ch, depth: 0, orig }))
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
/** `;` and a parameter: printable ASCII, no `%`, `?` or `#` (`/`, `\\`, `.` and `;` included). */
const paramArb = fc.stringMatching(/^[!-~]{0,10}$/).map((s) => ';' + s.replace(/[%?#]/g, '='))
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

/** The target with its raw path cut at the first raw `;` (query and fragment dropped). */
function cutTargetOf(target: string): string | undefined {
  const raw = rawPathOf(target)
  const semi = raw.indexOf(';')
  if (semi < 0) return undefined
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/\\?#]*/i.exec(target)
  return (m ? m[0] : '') + raw.slice(0, semi)
}

/**
 * Reference for the first decoding round of a raw path with only ASCII characters outside
 * escapes: the decoded text, or why it is refused.
 */
function referenceDecodeOnce(raw: string): string | 'malformed' | 'utf8' {
  const bytes: number[] = []
  const encoder = new TextEncoder()
  for (let i = 0; i < raw.length;) {
    if (raw[i] === '%') {
      if (!/^[0-9a-f]{2}$/i.test(raw.slice(i + 1, i + 3))) return 'malformed'
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16))
      i += 3
    } else {
      const cp = raw.codePointAt(i)!
      const ch = String.fromCodePoint(cp)
      bytes.push(...encoder.encode(ch))
      i += ch.length
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes))
  } catch {
    return 'utf8'
  }
}

/** Reference for isCanonical: decode once, then look for what a router could read differently. */
function referenceIsCanonical(target: string): boolean {
  const raw = rawPathOf(target)
  if (/%2f/i.test(raw) || raw.includes(';')) return false
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
          param: fc.option(paramArb),
          trailing: fc.boolean(),
          query: fc.option(suffixArb.map((s) => '?' + s)),
        }),
        (v) => {
          const tokens = applyOps(v.path, v.ops, 3)
          for (const part of v.suffix) {
            const chars = [part.separator, ...part.dots]
            chars.forEach((ch, i) => tokens.push({ ch, depth: part.depths[i] ?? 0 }))
          }
          // `/p/..;x` reaches `/p/:id` in Fastify with `useSemicolonDelimiter`.
          if (v.param !== null) tokens.push(...[...v.param].map((ch) => ({ ch, depth: 0 })))
          if (v.trailing) tokens.push({ ch: '/', depth: 0 })
          const target = render(tokens, [true, false]) + (v.query ?? '')
          const pattern = v.path === '/' ? '/**' : v.path + '/**'
          expect(compilePaths([pattern], 'broad').matches(ok(target)), target).toBe(true)
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('a deny on a path catches every variant with ";param" after one of its segments', () => {
    // Fastify with `useSemicolonDelimiter` routes `/a;x/b` to `/a`: the path before the first
    // raw `;` is what must be denied; a deny on `/a/b` need not see it (the router does not
    // route it there).
    fc.assert(
      fc.property(
        fc.record({
          path: plainPathArb,
          ops: fc.array(opArb(3), { maxLength: 12 }),
          upperHex: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
          at: fc.nat(),
          param: paramArb,
          query: fc.option(suffixArb.map((s) => '?' + s)),
          absolute: absoluteArb,
        }),
        (v) => {
          const segments = v.path === '/' ? [] : v.path.slice(1).split('/')
          const k = v.at % (segments.length + 1)
          const prefix = '/' + segments.slice(0, k).join('/')
          // The last character of segment k in the plain path (the leading `/` when k is 0).
          const lastChar = prefix.length - 1
          const tokens = applyOps(v.path, v.ops, 3)
          let i = tokens.length - 1
          while (i >= 0 && tokens[i]!.orig !== lastChar) i--
          tokens.splice(i + 1, 0, ...[...v.param].map((ch) => ({ ch, depth: 0 })))
          let target = render(tokens, v.upperHex) + (v.query ?? '')
          if (v.absolute) target = `${v.absolute.scheme}://${v.absolute.host}${target}`
          const variant = ok(target)
          expect(variant.broadCut, target).toBe(prefix)
          expect(variant.isCanonical, target).toBe(false)
          for (const pattern of denyPatterns(prefix)) {
            expect(compilePaths([pattern], 'broad').matches(variant), pattern).toBe(true)
          }
          expect(compilePaths(['/**'], 'exact').matches(variant)).toBe(false)
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
        fc.constantFrom('/', '\\', '.', '..', '%', '%25', '%2', 'A', '?', '#', ';', '%3B'),
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
          // The cut forms are the broad forms of the target cut at its first raw `;`.
          const cutTarget = cutTargetOf(target)
          if (cutTarget === undefined) {
            expect(r.path.broadCut).toBeUndefined()
            expect(r.path.broadCutUnresolved).toBeUndefined()
          } else {
            const c = canonicalizeTarget(cutTarget)
            expect(c.ok, cutTarget).toBe(true)
            if (c.ok) {
              expect(r.path.broadCut).toBe(c.path.broad)
              expect(r.path.broadCutUnresolved).toBe(c.path.broadUnresolved)
            }
          }
          // Extra forms: broad-shaped, distinct, none of the four others.
          const cuts = r.path.broadExtra
          if (cuts !== undefined) {
            expect(cuts.length).toBeGreaterThan(0)
            expect(new Set(cuts).size).toBe(cuts.length)
            for (const f of cuts) {
              expect(f.startsWith('/') && !f.includes('//') && !f.includes('\\')).toBe(true)
              expect(f === '/' || !f.endsWith('/')).toBe(true)
              expect(foldCase(f)).toBe(f)
              expect([r.path.broad, r.path.broadUnresolved, r.path.broadCut]).not.toContain(f)
            }
          }
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

  it('refuses an origin-form target exactly when its first decoding fails', () => {
    fc.assert(
      fc.property(randomEscapes, (s) => {
        const target = '/' + s
        const expected = referenceDecodeOnce(rawPathOf(target))
        const r = canonicalizeTarget(target)
        if (expected === 'malformed') {
          // (when the bytes before it are not UTF-8 either, either reason may be given)
          expect(r, target).toEqual({ ok: false, reason: expect.stringMatching(/malformed|UTF-8/) })
        } else if (expected === 'utf8') {
          expect(r, target).toEqual({ ok: false, reason: expect.stringMatching(/UTF-8/) })
        } else {
          expect(r.ok, target).toBe(true)
        }
      }),
      { numRuns: 3000 },
    )
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
      '/' + '%25FF'.repeat(Math.floor((n - 1) / 5)),
      '/' + '%F0%9F%98%80'.repeat(n / 12 - 1),
      '/' + '/'.repeat(n - 1),
      '/' + '\\'.repeat(n - 1),
      '/' + ';'.repeat(n - 1),
      '/' + 'a/..;'.repeat(n / 5).slice(0, n - 1),
      '/' + '%2e%2e/'.repeat(Math.floor((n - 2) / 7)) + ';',
    ]) {
      expect(t.length).toBeLessThanOrEqual(n)
      expect(canonicalizeTarget(t).ok).toBe(true)
    }
    for (const t of ['/' + '%FF'.repeat((n - 1) / 3), '/' + '%C3%A9'.repeat(n / 6 - 1) + '%C3']) {
      expect(t.length).toBeLessThanOrEqual(n)
      expect(canonicalizeTarget(t).ok).toBe(false)
    }
  })
})
