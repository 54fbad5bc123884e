// Path globs for the `paths` option of rules.
//
// Syntax: a pattern starts with `/`; `*` matches any run of characters inside one segment
// (never `/`); `**` alone in its segment matches zero or more whole segments, so `/admin/**`
// matches `/admin`, `/admin/`, `/admin/x/y` and never `/administrator`.
//
// Decisions where the design leaves room (each one has a test):
//
// - A segment that is only `*` needs at least one character (`/users/*` matches `/users/42`,
//   not `/users/`, like a router's `:param`); `*` next to other characters may match nothing
//   (`/files/*.png` matches `/files/.png`).
// - Patterns are written in decoded form, as the canonical paths they match: a valid
//   percent-escape (`%2F`) in a pattern is refused (a lone `%` is a literal `%`). `\`, `?`, `#`
//   and dot segments are refused too: no canonical path contains them as written.
// - Repeated slashes in a pattern are collapsed; patterns are at most 2048 characters long and
//   have at most 64 segments (MAX_GLOB_SEGMENTS), which bounds the cost of matching one.
// - `compilePaths` throws an Error on an invalid pattern (validate first with `checkGlob`): a
//   policy never loads half-understood.
// - Broad (deny/protect) matchers test `broad` and `broadUnresolved`: a deny on `/admin/**`
//   catches `/admin/..`, which a raw-path router (Express, Koa, Fastify) routes to
//   `/admin/:id`, as well as `/x/../admin`. When the raw path holds a raw `;` they also test
//   `broadCut` and `broadCutUnresolved` (the path cut at the first raw `;`): a deny on `/admin`
//   catches `/admin;x`, which Fastify with `useSemicolonDelimiter` routes to `/admin`. They
//   test `broadExtra` as well (what a proxy that decodes, cuts or resolves first hands on): a
//   deny on `/admin` catches `/admin%3Bx`. Exact
//   (allow) matchers never match a path that is not canonical (dot segments, `\`, `//`, `%2F`
//   or a raw `;`): `/admin/x/../../public/y` is not exempted by an allow on `/public/**`,
//   because a raw-path router routes it under `/admin`, and `/health;x` is not exempted by an
//   allow on `/health`.
// - Matching is iterative: the segments after the last `**` are matched against the path's last
//   segments directly (no search), the others with one backtracking point (the last `**`
//   seen) that only ever moves forward over whole segments, and `*` runs with a leftmost search
//   bounded to the segment. Repeated `**` segments are one. Time is linear in the path length
//   for a given pattern, at most (path length × pattern segments); no regular expression is
//   built from user input.

import type { CanonicalTarget } from './request-target.js'
import { foldCase } from './request-target.js'

/** Longest pattern accepted, in UTF-16 code units. */
export const MAX_GLOB_LENGTH = 2048
/** Most segments a pattern may have (`/a/**` has two). */
export const MAX_GLOB_SEGMENTS = 64

const SLASH = 0x2f
const STAR = 0x2a
const DOT = 0x2e
const PERCENT = 0x25

function isHex(c: number): boolean {
  const l = c | 0x20
  return (c >= 0x30 && c <= 0x39) || (l >= 0x61 && l <= 0x66)
}

/** Returns a problem message, or undefined when the glob is valid. */
export function checkGlob(pattern: string): string | undefined {
  if (typeof pattern !== 'string') return 'pattern must be a string'
  const n = pattern.length
  if (n === 0) return 'pattern is empty'
  if (n > MAX_GLOB_LENGTH) return `pattern is longer than ${MAX_GLOB_LENGTH} characters`
  if (pattern.charCodeAt(0) !== SLASH) return 'pattern must start with "/"'
  let segStart = 1
  let segments = 0
  let doubleStar = false // the current segment contains `**`
  for (let i = 1; i <= n; i++) {
    const c = i < n ? pattern.charCodeAt(i) : SLASH
    if (c === SLASH) {
      const len = i - segStart
      if (len > 0 && ++segments > MAX_GLOB_SEGMENTS) {
        return `pattern has more than ${MAX_GLOB_SEGMENTS} segments`
      }
      if (
        (len === 1 || len === 2) &&
        pattern.charCodeAt(segStart) === DOT &&
        pattern.charCodeAt(i - 1) === DOT
      ) {
        return 'pattern contains a "." or ".." segment: write the resolved path'
      }
      if (doubleStar && len !== 2) return '"**" must be a whole segment (as in /a/**/b)'
      doubleStar = false
      segStart = i + 1
    } else if (c === STAR) {
      if (i > segStart && pattern.charCodeAt(i - 1) === STAR) doubleStar = true
    } else if (c < 0x20 || c === 0x7f) {
      return 'pattern contains a control character'
    } else if (c === 0x5c) {
      return 'pattern contains "\\": write "/" (a backslash is a slash in request paths)'
    } else if (c === 0x3f || c === 0x23) {
      return 'pattern contains "?" or "#": query and fragment are not part of the path'
    } else if (
      c === PERCENT &&
      i + 2 < n &&
      isHex(pattern.charCodeAt(i + 1)) &&
      isHex(pattern.charCodeAt(i + 2))
    ) {
      return 'pattern contains a percent-escape: write the decoded character (paths are matched decoded)'
    }
  }
  return undefined
}

export interface PathMatcher {
  matches(path: CanonicalTarget): boolean
}

/** A generic pattern: its segments, and how many come after its last `**` (-1: no `**`). */
interface Glob {
  readonly segments: readonly Segment[]
  readonly tail: number
}

/** One segment of a generic pattern. */
type Segment =
  | { readonly kind: 'globstar' }
  | { readonly kind: 'literal'; readonly text: string }
  | {
      readonly kind: 'star'
      /** Text before the first `*`, between stars, after the last `*`. */
      readonly head: string
      readonly middle: readonly string[]
      /** KMP failure table of each middle piece, for a search linear in the segment length. */
      readonly tables: readonly Int32Array[]
      readonly tail: string
      /** Fewest characters a matching segment has (at least 1 for a lone `*`). */
      readonly minLength: number
    }

const GLOBSTAR: Segment = { kind: 'globstar' }

/** Canonical form of a valid pattern for its kind: slashes collapsed, broad: folded, no trailing slash. */
function canonicalPattern(pattern: string, kind: 'broad' | 'exact'): string {
  const parts = pattern.split('/').filter((s) => s !== '')
  if (parts.length === 0) return '/'
  let canonical = '/' + parts.join('/')
  if (kind === 'broad') return foldCase(canonical)
  if (pattern.charCodeAt(pattern.length - 1) === SLASH) canonical += '/'
  return canonical
}

function compileGlob(canonical: string): Glob {
  const segments: Segment[] = []
  for (const text of canonical.slice(1).split('/')) {
    const segment = compileSegment(text)
    // `/**/**` is `/**`: one backtracking point is enough.
    if (segment === GLOBSTAR && segments[segments.length - 1] === GLOBSTAR) continue
    segments.push(segment)
  }
  const last = segments.lastIndexOf(GLOBSTAR)
  return { segments, tail: last < 0 ? -1 : segments.length - 1 - last }
}

function compileSegment(text: string): Segment {
  if (text === '**') return GLOBSTAR
  if (!text.includes('*')) return { kind: 'literal', text }
  const pieces = text.split('*')
  const head = pieces[0] ?? ''
  const tail = pieces[pieces.length - 1] ?? ''
  const middle = pieces.slice(1, -1).filter((s) => s !== '')
  let minLength = head.length + tail.length
  for (const m of middle) minLength += m.length
  const tables = middle.map(failureTable)
  return { kind: 'star', head, middle, tables, tail, minLength: Math.max(minLength, 1) }
}

/** KMP: for each prefix of `piece`, the length of its longest proper border. */
function failureTable(piece: string): Int32Array {
  const table = new Int32Array(piece.length)
  let k = 0
  for (let i = 1; i < piece.length; i++) {
    while (k > 0 && piece.charCodeAt(i) !== piece.charCodeAt(k)) k = table[k - 1]!
    if (piece.charCodeAt(i) === piece.charCodeAt(k)) k++
    table[i] = k
  }
  return table
}

/**
 * Compiles path globs once. kind 'broad' (deny/protect rules): matched against `path.broad`
 * and, when they differ from it, `path.broadUnresolved`, `path.broadCut`,
 * `path.broadCutUnresolved` and `path.broadExtra` (a match on any is a match), pattern
 * case-folded, trailing slash ignored. kind 'exact' (allow rules): matched against
 * `path.exact`, case-sensitive, trailing slash significant, and never matches a path that is
 * not canonical (`path.isCanonical` false). An empty list matches nothing. Throws an Error on
 * an invalid pattern.
 */
export function compilePaths(patterns: readonly string[], kind: 'broad' | 'exact'): PathMatcher {
  const literals = new Set<string>()
  const prefixes: string[] = [] // `/x/**`, stored as `/x`
  const globs: Glob[] = []
  let all = false
  for (const pattern of patterns) {
    const problem = checkGlob(pattern)
    if (problem !== undefined) {
      throw new Error(`invalid path pattern ${JSON.stringify(pattern)}: ${problem}`)
    }
    const canonical = canonicalPattern(pattern, kind)
    if (!canonical.includes('*')) {
      literals.add(canonical)
    } else if (canonical.endsWith('/**') && !canonical.slice(0, -3).includes('*')) {
      const prefix = canonical.slice(0, -3)
      if (prefix === '') all = true
      else prefixes.push(prefix)
    } else {
      globs.push(compileGlob(canonical))
    }
  }
  if (all) return kind === 'broad' ? MATCH_ALL : MATCH_ALL_CANONICAL
  if (literals.size === 0 && prefixes.length === 0 && globs.length === 0) return MATCH_NONE
  return new Matcher(kind === 'broad', [...literals], prefixes, globs)
}

const MATCH_ALL: PathMatcher = Object.freeze({ matches: () => true })
const MATCH_ALL_CANONICAL: PathMatcher = Object.freeze({
  matches: (path: CanonicalTarget) => path.isCanonical,
})
const MATCH_NONE: PathMatcher = Object.freeze({ matches: () => false })

class Matcher implements PathMatcher {
  readonly #broad: boolean
  /** Few literal patterns: compared one by one; many: a Set. */
  readonly #literalList: readonly string[]
  readonly #literalSet: ReadonlySet<string> | undefined
  /** Few `/x/**` prefixes: compared one by one; many: a Set of them, probed per segment. */
  readonly #prefixes: readonly string[]
  readonly #prefixesSlash: readonly string[]
  readonly #prefixSet: ReadonlySet<string> | undefined
  readonly #globs: readonly Glob[]

  constructor(broad: boolean, literals: string[], prefixes: string[], globs: Glob[]) {
    this.#broad = broad
    this.#literalSet = literals.length > 8 ? new Set(literals) : undefined
    this.#literalList = literals.length > 8 ? [] : literals
    this.#prefixSet = prefixes.length > 8 ? new Set(prefixes) : undefined
    this.#prefixes = prefixes.length > 8 ? [] : prefixes
    this.#prefixesSlash = this.#prefixes.map((p) => p + '/')
    this.#globs = globs
  }

  matches(path: CanonicalTarget): boolean {
    if (this.#broad) {
      const b = path.broad
      if (this.#test(b)) return true
      const u = path.broadUnresolved
      if (u !== b && this.#test(u)) return true
      const c = path.broadCut
      if (c !== undefined) {
        if (this.#test(c)) return true
        const cu = path.broadCutUnresolved
        if (cu !== undefined && cu !== c && this.#test(cu)) return true
      }
      const extra = path.broadExtra
      if (extra === undefined) return false
      for (let i = 0; i < extra.length; i++) if (this.#test(extra[i]!)) return true
      return false
    }
    return path.isCanonical && this.#test(path.exact)
  }

  #test(p: string): boolean {
    if (this.#literalSet !== undefined) {
      if (this.#literalSet.has(p)) return true
    } else {
      for (const literal of this.#literalList) if (p === literal) return true
    }
    const prefixes = this.#prefixes
    for (let i = 0; i < prefixes.length; i++) {
      if (p === prefixes[i] || p.startsWith(this.#prefixesSlash[i]!)) return true
    }
    if (this.#prefixSet !== undefined && hasPrefixIn(this.#prefixSet, p)) return true
    for (const glob of this.#globs) if (matchGlob(glob, p)) return true
    return false
  }
}

/** True when `p` or one of its ancestors (`/a/b` for `/a/b/c`) is in `set`. */
function hasPrefixIn(set: ReadonlySet<string>, p: string): boolean {
  for (let end = p.indexOf('/', 1); end > 0; end = p.indexOf('/', end + 1)) {
    if (set.has(p.slice(0, end))) return true
  }
  return set.has(p)
}

/**
 * Matches a canonical path against a generic pattern. The segments after the last `**` can only
 * be the path's last segments: they are matched there, and the rest of the pattern (which ends
 * with that `**`) against the rest of the path.
 */
function matchGlob(glob: Glob, p: string): boolean {
  if (glob.tail <= 0) return matchSegments(glob.segments, glob.segments.length, p, p.length)
  const segments = glob.segments
  let end = p.length
  for (let k = segments.length - 1; k >= segments.length - glob.tail; k--) {
    if (end <= 0) return false // fewer path segments than the tail needs
    const slash = p.lastIndexOf('/', end - 1)
    if (slash < 0 || !matchSegment(segments[k]!, p, slash + 1, end)) return false
    end = slash
  }
  return matchSegments(segments, segments.length - glob.tail, p, end)
}

/**
 * Matches `p[0, n)` (a canonical path, or '' for no segment at all) against `segments[0,
 * count)`. `**` backtracks over whole path segments with the classic single-backtrack-point
 * algorithm, which is exact here because every other pattern segment matches exactly one path
 * segment.
 */
function matchSegments(segments: readonly Segment[], count: number, p: string, n: number): boolean {
  let si = 0
  let pos = 0 // index of the `/` before the current path segment, or n when none is left
  let starSi = -1
  let starPos = 0
  for (;;) {
    const seg = si < count ? segments[si]! : undefined
    if (seg !== undefined && seg.kind === 'globstar') {
      starSi = si
      starPos = pos
      si++
      continue
    }
    if (pos >= n) return seg === undefined
    let end = p.indexOf('/', pos + 1)
    if (end < 0 || end > n) end = n
    if (seg !== undefined && matchSegment(seg, p, pos + 1, end)) {
      si++
      pos = end
      continue
    }
    if (starSi < 0) return false
    // The last `**` takes one more path segment.
    let next = p.indexOf('/', starPos + 1)
    if (next < 0 || next > n) next = n
    starPos = next
    pos = next
    si = starSi + 1
  }
}

/** Does `p[start, end)` (one path segment) match the pattern segment? */
function matchSegment(seg: Segment, p: string, start: number, end: number): boolean {
  if (seg.kind === 'literal') {
    return end - start === seg.text.length && p.startsWith(seg.text, start)
  }
  if (seg.kind !== 'star') return false
  if (end - start < seg.minLength) return false
  if (!p.startsWith(seg.head, start)) return false
  const limit = end - seg.tail.length
  if (!p.startsWith(seg.tail, limit)) return false
  let at = start + seg.head.length
  for (let m = 0; m < seg.middle.length; m++) {
    // Leftmost occurrence inside the segment is always the best choice for `*`-only globs.
    const piece = seg.middle[m]!
    const found = findWithin(p, piece, seg.tables[m]!, at, limit)
    if (found < 0) return false
    at = found + piece.length
  }
  return true
}

/**
 * First index i in [from, limit - piece.length] where `piece` occurs in `p`, or -1. KMP, so
 * time is linear in `limit - from` whatever the piece (a naive search costs their product: a
 * 1,000-character piece against a 16 KiB segment was 16 M comparisons).
 */
function findWithin(
  p: string,
  piece: string,
  table: Int32Array,
  from: number,
  limit: number,
): number {
  const m = piece.length
  let k = 0 // characters of `piece` matched so far
  for (let i = from; i < limit; i++) {
    const c = p.charCodeAt(i)
    while (k > 0 && c !== piece.charCodeAt(k)) k = table[k - 1]!
    if (c === piece.charCodeAt(k)) k++
    if (k === m) return i - m + 1
  }
  return -1
}
