import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_GLOB_LENGTH, MAX_GLOB_SEGMENTS, checkGlob, compilePaths } from './path-glob.js'
import type { CanonicalTarget } from './request-target.js'
import { canonicalizeTarget } from './request-target.js'

function target(raw: string): CanonicalTarget {
  const r = canonicalizeTarget(raw)
  if (!r.ok) throw new Error(`${raw}: ${r.reason}`)
  return r.path
}

function broad(patterns: string[], raw: string): boolean {
  return compilePaths(patterns, 'broad').matches(target(raw))
}

function exact(patterns: string[], raw: string): boolean {
  return compilePaths(patterns, 'exact').matches(target(raw))
}

describe('checkGlob', () => {
  it('accepts valid globs', () => {
    for (const p of [
      '/',
      '/admin',
      '/admin/',
      '/admin/**',
      '/**',
      '/**/x',
      '/a/**/b/*',
      '/users/*',
      '/files/*.png',
      '/*a*b*',
      '/a//b',
      '/.well-known/x',
      '/a/.../b',
      '/100%',
      '/a%zz',
      '/café',
      '/a b',
    ]) {
      expect(checkGlob(p), p).toBeUndefined()
    }
  })

  it('refuses invalid globs with a message', () => {
    for (const p of [
      '',
      'admin',
      '*',
      '**',
      '/a**',
      '/**a',
      '/***',
      '/a/**b/c',
      '/a/***/c',
      '/a\u0000',
      '/a\n',
      '/a\u007f',
      '/a\\b',
      '/a?x',
      '/a#x',
      '/a/./b',
      '/a/../b',
      '/..',
      '/.',
      '/a/.',
      '/a%2Fb',
      '/%61dmin',
      '/' + 'a'.repeat(MAX_GLOB_LENGTH),
    ]) {
      const problem = checkGlob(p)
      expect(typeof problem, JSON.stringify(p)).toBe('string')
    }
    expect(checkGlob('/a**')).toMatch(/whole segment/)
    expect(checkGlob(42 as unknown as string)).toMatch(/string/)
  })

  it('caps the segments of a pattern (which bounds the cost of matching it)', () => {
    expect(checkGlob('/a'.repeat(MAX_GLOB_SEGMENTS))).toBeUndefined()
    expect(checkGlob('/a'.repeat(MAX_GLOB_SEGMENTS) + '//')).toBeUndefined() // empty: collapsed
    expect(checkGlob('/a'.repeat(MAX_GLOB_SEGMENTS + 1))).toMatch(/more than 64 segments/)
    expect(checkGlob('/**'.repeat(MAX_GLOB_SEGMENTS + 1))).toMatch(/segments/)
  })

  it('compilePaths throws on an invalid pattern', () => {
    expect(() => compilePaths(['/ok', '/a**'], 'broad')).toThrow(/\/a\*\*/)
    expect(() => compilePaths(['/a/../b'], 'exact')).toThrow(Error)
  })
})

describe('compilePaths', () => {
  it('an empty list matches nothing', () => {
    expect(broad([], '/')).toBe(false)
    expect(exact([], '/a')).toBe(false)
  })

  it('matches long lists (kept in Sets) like short ones', () => {
    const filler = Array.from({ length: 20 }, (_, i) => `/f${i}`)
    for (const extra of [[], filler, filler.map((f) => `${f}/**`)]) {
      const patterns = [...extra, '/a/b/**', '/c', '/d/**']
      const cases: [string, boolean][] = [
        ['/a/b', true],
        ['/a/b/c/d', true],
        ['/A/B/x', true],
        ['/a/bc', false],
        ['/a', false],
        ['/c', true],
        ['/c/x', false],
        ['/d', true],
        ['/d/e', true],
        ['/', false],
      ]
      for (const [path, expected] of cases) {
        expect(broad(patterns, path), `${extra.length} ${path}`).toBe(expected)
      }
      expect(exact(patterns, '/a/b/')).toBe(true)
      expect(exact(patterns, '/A/b/x')).toBe(false)
    }
  })

  it('/admin/** matches /admin and below, never /administrator', () => {
    for (const kind of ['broad', 'exact'] as const) {
      const m = compilePaths(['/admin/**'], kind)
      for (const p of ['/admin', '/admin/', '/admin/x', '/admin/x/y', '/admin/x/y/']) {
        expect(m.matches(target(p)), `${kind} ${p}`).toBe(true)
      }
      for (const p of ['/administrator', '/admin-x', '/', '/x/admin', '/adm']) {
        expect(m.matches(target(p)), `${kind} ${p}`).toBe(false)
      }
    }
  })

  it('/** matches everything, the root included', () => {
    expect(broad(['/**'], '/')).toBe(true)
    expect(exact(['/**'], '/a/b/')).toBe(true)
  })

  it('/users/* matches one non-empty segment', () => {
    expect(broad(['/users/*'], '/users/42')).toBe(true)
    expect(broad(['/users/*'], '/users')).toBe(false)
    expect(broad(['/users/*'], '/users/1/2')).toBe(false)
    expect(exact(['/users/*'], '/users/42')).toBe(true)
    expect(exact(['/users/*'], '/users/')).toBe(false)
    expect(exact(['/users/*'], '/users/42/')).toBe(false)
    expect(exact(['/users/*/'], '/users/42/')).toBe(true)
    expect(broad(['/*'], '/')).toBe(false)
    expect(broad(['/*'], '/x')).toBe(true)
  })

  it('* next to other characters stays within a segment', () => {
    const m = compilePaths(['/files/*.png'], 'broad')
    expect(m.matches(target('/files/cat.png'))).toBe(true)
    expect(m.matches(target('/files/.png'))).toBe(true)
    expect(m.matches(target('/files/CAT.PNG'))).toBe(true)
    expect(m.matches(target('/files/a/b.png'))).toBe(false)
    expect(m.matches(target('/files/cat.png.txt'))).toBe(false)
    expect(m.matches(target('/files/cat.jpg'))).toBe(false)
    expect(broad(['/a*b*c'], '/abc')).toBe(true)
    expect(broad(['/a*b*c'], '/axxbyyc')).toBe(true)
    expect(broad(['/a*b*c'], '/axxcyyb')).toBe(false)
    expect(broad(['/a*b*c'], '/ab/c')).toBe(false)
    expect(broad(['/*ab*ab*'], '/abab')).toBe(true)
    expect(broad(['/*ab*ab*'], '/aba')).toBe(false)
  })

  it('** in the middle matches zero or more whole segments', () => {
    const m = compilePaths(['/a/**/b'], 'broad')
    for (const p of ['/a/b', '/a/x/b', '/a/x/y/b', '/a/b/b'])
      expect(m.matches(target(p)), p).toBe(true)
    for (const p of ['/a', '/a/xb', '/a/b/c', '/ab', '/x/a/b'])
      expect(m.matches(target(p)), p).toBe(false)
    expect(broad(['/**/*.php'], '/x/y/index.php')).toBe(true)
    expect(broad(['/**/*.php'], '/index.php')).toBe(true)
    expect(broad(['/**/*.php'], '/index.phpx')).toBe(false)
    expect(broad(['/a/**/b/**'], '/a/x/b')).toBe(true)
    expect(broad(['/a/**/b/**'], '/a/x/b/c/d')).toBe(true)
    expect(broad(['/a/**/b/**'], '/a/x/c')).toBe(false)
  })

  it('broad mode folds case and ignores the trailing slash, of patterns and paths', () => {
    for (const p of ['/admin', '/Admin', '/ADMIN/', '/admin/', '/%41dmin', '/admin//']) {
      expect(broad(['/admin'], p), p).toBe(true)
      expect(broad(['/ADMIN/'], p), p).toBe(true)
    }
    expect(broad(['/Files/*.PNG'], '/files/x.png')).toBe(true)
    expect(broad(['/admin'], '/admin/x')).toBe(false)
    expect(broad(['/ΟΔΟΣ'], '/οδος')).toBe(true)
  })

  it('exact mode is case-sensitive and the trailing slash counts', () => {
    expect(exact(['/Public/x'], '/Public/x')).toBe(true)
    expect(exact(['/Public/x'], '/public/x')).toBe(false)
    expect(exact(['/public/x'], '/public/x/')).toBe(false)
    expect(exact(['/public/x/'], '/public/x/')).toBe(true)
    expect(exact(['/public/x/'], '/public/x')).toBe(false)
    expect(exact(['/public/*.css'], '/public/A.CSS')).toBe(false)
    expect(exact(['/public/**'], '/Public/a')).toBe(false)
    expect(exact(['/'], '/')).toBe(true)
    expect(exact(['/'], '/a')).toBe(false)
  })

  it('exact mode does not follow double encoding; broad mode does', () => {
    expect(exact(['/public/x'], '/public/%78')).toBe(true)
    expect(exact(['/public/x'], '/public/%2578')).toBe(false)
    expect(broad(['/admin/**'], '/%2561dmin/x')).toBe(true)
  })

  it('collapses repeated slashes in patterns', () => {
    expect(broad(['//admin//**'], '/admin/x')).toBe(true)
    expect(exact(['/a//b/'], '/a/b/')).toBe(true)
  })

  it('matches any pattern of a list', () => {
    const many = Array.from({ length: 20 }, (_, i) => `/p${i}`)
    const m = compilePaths([...many, '/x/**', '/y/*/z', '/**/*.bak'], 'broad')
    expect(m.matches(target('/p19'))).toBe(true)
    expect(m.matches(target('/P7/'))).toBe(true)
    expect(m.matches(target('/x'))).toBe(true)
    expect(m.matches(target('/y/1/z'))).toBe(true)
    expect(m.matches(target('/a/b.bak'))).toBe(true)
    expect(m.matches(target('/p20'))).toBe(false)
    expect(m.matches(target('/y/z'))).toBe(false)
  })

  it('a deny on /admin/** catches every disguise of /admin/secret', () => {
    const m = compilePaths(['/admin/**'], 'broad')
    for (const raw of [
      '/admin/secret',
      '/ADMIN/Secret/',
      '/%61dmin/secret',
      '/%2561dmin/secret',
      '/%252561dmin/secret',
      '/admin%2Fsecret',
      '/admin%252fsecret',
      '/admin%5Csecret',
      '/admin\\secret',
      '//admin//secret',
      '/public/../admin/secret',
      '/public/%2e%2e/admin/secret',
      '/public/%252e%252e/admin/secret',
      '/public%2F..%2Fadmin/secret',
      '/./admin/./secret',
      '/admin/secret?x=/public',
      '/admin/secret#/public',
      'http://evil/admin/secret',
      'HTTP://h\\admin\\secret',
    ]) {
      expect(m.matches(target(raw)), raw).toBe(true)
    }
  })
})

describe('compilePaths: dot segments and non-canonical paths', () => {
  it('a deny on /admin/** catches paths a raw-path router routes under /admin', () => {
    const m = compilePaths(['/admin/**'], 'broad')
    for (const raw of [
      '/admin/..',
      '/admin/../',
      '/admin/%2e%2e',
      '/admin/%2e%2e/',
      '/admin/%2E%2E',
      '/admin/.%2e',
      '/admin/%252e%252e',
      '/ADMIN/..',
      '/admin/.',
      '/admin/x/..',
      '/admin/x/../..',
      '/admin/x/../../public/y',
      '/admin\\..',
      '/admin%2F..',
      '/admin%5C%2e%2e',
      'http://h/admin/..?x',
      // and what resolves to /admin is still caught
      '/x/../admin',
      '/public/../admin',
      '/public/%2e%2e/admin/secret',
    ]) {
      expect(m.matches(target(raw)), raw).toBe(true)
    }
    for (const raw of ['/public/..', '/..', '/administrator/..', '/x/admin/..', '/public/y']) {
      expect(m.matches(target(raw)), raw).toBe(false)
    }
  })

  it('literal and * deny patterns see dot segments too', () => {
    expect(broad(['/admin/*'], '/admin/..')).toBe(true) // like an `/admin/:id` route
    expect(broad(['/admin/*'], '/admin/%2e%2e/')).toBe(true)
    expect(broad(['/admin'], '/admin/.')).toBe(true)
    expect(broad(['/**/*.php'], '/x.php/..')).toBe(false)
    expect(broad(['/a/*/c'], '/a/../c')).toBe(true)
    expect(broad(['/c'], '/a/../c')).toBe(true)
  })

  it('an allow matches only a path named plainly', () => {
    const m = compilePaths(['/public/**'], 'exact')
    for (const raw of [
      '/public/y',
      '/public/%79',
      '/public',
      '/public/',
      '/public/y/',
      'http://h/public/y',
      '/public/y?x=/../admin',
    ]) {
      expect(m.matches(target(raw)), raw).toBe(true)
    }
    for (const raw of [
      '/admin/x/../../public/y',
      '/admin/%2e%2e/public/y',
      '/x/../public/y',
      '/public//y',
      '//public/y',
      '/public%2Fy',
      '/public%2fy',
      '/public\\y',
      '/public%5Cy',
      '/public/./y',
      '/public/%2e/y',
      '/public/y/..',
      'http://h//public/y',
    ]) {
      expect(m.matches(target(raw)), raw).toBe(false)
    }
  })

  it('exact literals, * globs and /** follow the same rule', () => {
    expect(exact(['/health'], '/health')).toBe(true)
    expect(exact(['/health'], '/%68ealth')).toBe(true)
    expect(exact(['/health'], '/x/../health')).toBe(false)
    expect(exact(['/health'], '//health')).toBe(false)
    expect(exact(['/users/*'], '/users/42')).toBe(true)
    expect(exact(['/users/*'], '/users/./42')).toBe(false)
    expect(exact(['/**'], '/a/b')).toBe(true)
    expect(exact(['/**'], '/a/../b')).toBe(false)
    expect(exact(['/**'], '/a%2Fb')).toBe(false)
    expect(broad(['/**'], '/a/../b')).toBe(true)
  })
})

describe('compilePaths: semicolons', () => {
  it('a deny sees the path cut at the first raw ";", as Fastify routes it', () => {
    for (const patterns of [['/admin'], ['/admin/**'], ['/*'], ['/ADMIN/']]) {
      for (const raw of [
        '/admin;x',
        '/%61dmin;jsessionid=1',
        '/admin/;x',
        '/Admin;A=1/b',
        '/admin;x/../../public',
        '/%2561dmin;x',
        '/x/../admin;x',
        'http://h/admin;x?y=1',
      ]) {
        expect(broad(patterns, raw), `${patterns[0]} ${raw}`).toBe(true)
      }
    }
    expect(broad(['/admin/**'], '/admin/..;x')).toBe(true) // `/admin/..` reaches `/admin/:id`
    expect(broad(['/admin/*'], '/admin/..;x')).toBe(true)
    // Only the cut form with its dot segments kept is under `/admin/` here.
    expect(broad(['/admin/*'], '/admin/..;x/..')).toBe(true)
    expect(broad(['/admin/*'], '/admin/%2e%2e;x/%2e%2e')).toBe(true)
    expect(broad(['/'], '/;x')).toBe(true)
  })

  it('the cut goes to the first ";"; the uncut and parameter-free forms still apply', () => {
    // `/api;v=1/admin` is `/api` for Fastify, `/api;v=1/admin` for the others: never /admin.
    expect(broad(['/admin', '/admin/**'], '/api;v=1/admin')).toBe(false)
    expect(broad(['/api'], '/api;v=1/admin')).toBe(true)
    expect(broad(['/api/**'], '/api;v=1/admin')).toBe(true)
    expect(broad(['/**/admin'], '/api;v=1/admin')).toBe(true) // the uncut form
    expect(broad(['/api;v=1/admin'], '/api;v=1/admin')).toBe(true)
    expect(broad(['/api/admin'], '/api;v=1/admin')).toBe(true) // a servlet drops `;v=1`
    expect(broad(['/admin'], '/admin/x;y')).toBe(false) // cut: `/admin/x`
    expect(broad(['/admin/**'], '/admin/x;y')).toBe(true)
  })

  it('an escaped ";" cuts deny matching only (a proxy may decode it), never the raw cut', () => {
    for (const raw of ['/admin%3Bx', '/admin%3bx', '/admin%253Bx', '/ADMIN%3B']) {
      expect(target(raw).broadCut, raw).toBeUndefined()
      expect(broad(['/admin'], raw), raw).toBe(true)
      expect(broad(['/admin/**'], raw), raw).toBe(true)
    }
    expect(broad(['/admin/x'], '/admin/x%3B/y')).toBe(true)
    expect(broad(['/admin/x'], '/admin%3B/x')).toBe(true) // a servlet drops `;`
    expect(broad(['/admin/x'], '/admin%3B/y')).toBe(false)
    expect(broad(['/admin;x'], '/admin%3Bx')).toBe(true)
    // Exemptions stay exact: `/health%3Bx` is the path `/health;x`, never `/health`.
    expect(exact(['/admin;x'], '/admin%3Bx')).toBe(true)
    expect(exact(['/health'], '/health%3Bx')).toBe(false)
    expect(exact(['/health/**'], '/health%3Bx')).toBe(false)
  })

  it('an allow never matches a path with a raw ";"', () => {
    expect(exact(['/health'], '/health;x')).toBe(false)
    expect(exact(['/health'], '/health;')).toBe(false)
    expect(exact(['/health;x'], '/health;x')).toBe(false)
    expect(exact(['/public/**'], '/public;x/y')).toBe(false)
    expect(exact(['/**'], '/a;b')).toBe(false)
    expect(exact(['/health'], '/health?x;y')).toBe(true) // in the query
    expect(exact(['/health'], '/health')).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// Property: the compiled matcher (with its fast paths) agrees with a plain recursive reference.

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function referenceMatch(pattern: string, path: CanonicalTarget, kind: 'broad' | 'exact'): boolean {
  if (kind === 'exact') return path.isCanonical && referenceMatchForm(pattern, path.exact, kind)
  return [
    path.broad,
    path.broadUnresolved,
    path.broadCut,
    path.broadCutUnresolved,
    ...(path.broadExtra ?? []),
  ].some((form) => form !== undefined && referenceMatchForm(pattern, form, kind))
}

function referenceMatchForm(pattern: string, subject: string, kind: 'broad' | 'exact'): boolean {
  let p = pattern.replace(/\/+/g, '/')
  if (kind === 'broad') {
    p = p.toLowerCase()
    if (p.length > 1) p = p.replace(/\/$/, '')
  }
  const ps = p.slice(1).split('/')
  const ts = subject.slice(1).split('/')
  const segmentMatches = (glob: string, seg: string): boolean =>
    glob === '*'
      ? seg.length > 0
      : new RegExp('^' + glob.split('*').map(escapeRegExp).join('[^/]*') + '$').test(seg)
  const rec = (i: number, j: number): boolean => {
    if (i === ps.length) return j === ts.length
    const g = ps[i]!
    if (g === '**') return rec(i + 1, j) || (j < ts.length && rec(i, j + 1))
    if (j === ts.length) return false
    return segmentMatches(g, ts[j]!) && rec(i + 1, j + 1)
  }
  return rec(0, 0)
}

const patternArb = fc
  .record({
    segments: fc.array(
      fc.oneof(
        { weight: 1, arbitrary: fc.constant('**') },
        { weight: 4, arbitrary: fc.stringMatching(/^[abA*]{0,4}$/) },
      ),
      { maxLength: 5 },
    ),
    trailing: fc.boolean(),
  })
  .map(({ segments, trailing }) => '/' + segments.join('/') + (trailing ? '/' : ''))
  .filter((p) => checkGlob(p) === undefined)

// Segments may be empty, dot segments, or hold `\`, `%2F`, escaped dots and `;` (raw or escaped).
const pathArb = fc
  .array(fc.stringMatching(/^(?:[abAB.;]|%2[eEfF]|%5[cC]|%3[bB]|\\){0,3}$/), { maxLength: 6 })
  .map((segments) => target('/' + segments.join('/')))

describe('compilePaths: properties', () => {
  it('agrees with a reference matcher for both kinds', () => {
    fc.assert(
      fc.property(
        fc.array(patternArb, { minLength: 1, maxLength: 3 }),
        pathArb,
        fc.constantFrom('broad' as const, 'exact' as const),
        (patterns, path, kind) => {
          const expected = patterns.some((p) => referenceMatch(p, path, kind))
          expect(compilePaths(patterns, kind).matches(path)).toBe(expected)
        },
      ),
      { numRuns: 5000 },
    )
  })

  it('never throws for any pattern that checkGlob accepts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (pattern, raw) => {
        const p = '/' + pattern
        const r = canonicalizeTarget('/' + raw)
        if (checkGlob(p) !== undefined || !r.ok) return
        compilePaths([p], 'broad').matches(r.path)
        compilePaths([p], 'exact').matches(r.path)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('compilePaths: no catastrophic backtracking', () => {
  const time = (f: () => void): number => {
    const start = performance.now()
    f()
    return performance.now() - start
  }

  it('a pathological * pattern against a 10,000-character segment finishes fast', () => {
    const segment = 'a'.repeat(10_000)
    for (const [pattern, path] of [
      ['/*a*a*a*a*a*a*a*b', '/' + segment],
      ['/*a*a*a*a*a*a*a*b', '/' + segment + 'c'],
      ['/*a*a*a*a*a*a*a*b*', '/' + segment],
      ['/*a*a*a*a*a*a*a*ab', '/' + segment.slice(1) + 'b'], // matches
    ] as const) {
      for (const kind of ['broad', 'exact'] as const) {
        const m = compilePaths([pattern], kind)
        const p = target(path)
        let result = false
        const ms = time(() => {
          result = m.matches(p)
        })
        expect(result).toBe(path.endsWith('b'))
        expect(ms, `${pattern} ${kind}`).toBeLessThan(50)
      }
    }
  })

  it('matches the segments after the last ** at the end of the path', () => {
    expect(broad(['/**/a/b'], '/a/b')).toBe(true)
    expect(broad(['/**/a/b'], '/x/a/b')).toBe(true)
    expect(broad(['/**/a/b'], '/a/b/x')).toBe(false)
    expect(broad(['/**/a/b'], '/b')).toBe(false)
    expect(broad(['/x/**/*'], '/x')).toBe(false)
    expect(broad(['/x/**/*'], '/x/y')).toBe(true)
    expect(broad(['/x/**/y/**/*z'], '/x/y/z')).toBe(true)
    expect(broad(['/x/**/y/**/*z'], '/x/z/y')).toBe(false)
    expect(broad(['/**/**/a'], '/a')).toBe(true)
    expect(broad(['/*/**/**/a'], '/a')).toBe(false)
    expect(exact(['/**/a/'], '/x/a/')).toBe(true)
    expect(exact(['/**/a/'], '/x/a')).toBe(false)
    expect(exact(['/**/*'], '/')).toBe(false)
  })

  it('pathological ** patterns against many segments finish fast', () => {
    const manySegments = '/a'.repeat(8000)
    const longSegments = ('/' + 'ab'.repeat(100)).repeat(80)
    for (const [pattern, path] of [
      ['/**/a/**/a/**/a/**/a/**/b', manySegments],
      ['/**/*a*a*a*a*b/**/c', longSegments],
      ['/**/**/**/**/x', manySegments],
      ['/**/*a*/*a*/*a*/*b', manySegments],
    ] as const) {
      const m = compilePaths([pattern], 'broad')
      const p = target(path)
      let result = true
      const ms = time(() => {
        result = m.matches(p)
      })
      expect(result).toBe(false)
      expect(ms, pattern).toBeLessThan(50)
    }
  })
})
