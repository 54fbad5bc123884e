// Request-target canonicalisation (DESIGN.md, security principle 1 and "Fine points").
//
// One raw request-target gives two path forms:
//
// - `exact`: percent-escapes decoded once, `\` (literal or decoded) read as `/`, dot segments
//   resolved, repeated slashes collapsed. Case and trailing slash are kept. Allow (exemption)
//   rules match this form, and logs show it: allow narrowly.
// - `broad`: escapes decoded up to three times (double or triple encoding cannot hide a path),
//   then the same path resolution, trailing slash removed (except for the root `/`) and case
//   folded. Deny and protect rules match this form: deny broadly.
// - `broadUnresolved`: the broad form with `.` and `..` kept as literal segments, for routers
//   that match the raw path (Express, Koa, Fastify): `/admin/..` reaches an `/admin/:id`
//   handler there, so a deny on `/admin/**` must see it. It is the same string as `broad`
//   (`===`) when the decoded path has no dot segment; broad matchers test both.
// - `broadCut` / `broadCutUnresolved`: when the raw path holds a raw `;`, the broad forms of the
//   raw path cut at the first one. Fastify (`useSemicolonDelimiter`) routes `/admin;x` to
//   `/admin`, reading everything from the first raw `;` as query, so broad matchers test these
//   too. `undefined` when there is no raw `;` (the common case costs nothing).
// - `broadExtra`: every other form that a chain of components can make of the path, when a
//   component in front of a router decodes, cuts or resolves it first. Each component does one
//   of four things, in any order: decode one round (at most three in all), cut at the first
//   `;`, drop every segment's `;` parameters (servlet containers: `/x/..;y/admin` is
//   `/x/../admin`, so `/admin`), or resolve dot segments. `/admin%3Bx` is the path `/admin;x` for every router, but a
//   proxy that decodes `%3B` hands `/admin;x` on, and a router that cuts at `;` routes `/admin`;
//   `/x/../admin/%2e%2e` becomes `/admin/%2e%2e` behind a proxy that resolves raw dot segments,
//   which a router that decodes routes under `/admin`. Deny/protect matchers test these too
//   (more denials only: exemptions never look at them). `undefined` when there is none beyond
//   the forms above (always for the fast path). A target with more than MAX_READINGS such
//   readings is refused: no legitimate path comes near it.
// - `isCanonical`: the raw path decoded once already is `exact` (no dot segment, `\`, repeated
//   slash or `%2F`) and has no raw `;`. Allow rules apply only to such paths: an exemption is
//   never granted to a path that a router could read as another one.
//
// Decisions where the design leaves room (each one has a test):
//
// - The first decoding round (the one every router does) refuses the target when the bytes of
//   its escapes are not valid UTF-8 (overlongs such as `%C0%AE`, encoded surrogates, truncated
//   sequences, stray continuation bytes, code points above U+10FFFF), as Fastify does with a
//   400 before any hook runs. The later rounds of the broad decoding never refuse: there each
//   maximal invalid byte sequence becomes U+FFFD, exactly as WHATWG `TextDecoder` does, so
//   `/%25C0` (which a router sees as the text `/%C0`) is accepted, and an overlong form can
//   never turn into `.` or `/`.
// - A malformed escape in the raw path refuses the target. The later rounds of the broad
//   decoding never refuse: they decode every valid escape and keep a stray `%` as it is, so
//   appending `%25` to a double-encoded path cannot stop its second decoding.
// - The raw path that is decoded and checked is everything before the raw `?`/`#`, the part
//   after a raw `;` included. Raw (unencoded) non-ASCII characters are taken as they are (Node's
//   parser refuses them before us; other runtimes may not).
// - Empty segments are dropped before `..` is applied: `/a/x//../b` is `/a/b` (WHATWG URL would
//   say `/a/x/b`). A `..` above the root stays at the root.
// - Case folding for `broad` is `toLowerCase()` for ASCII text. Text with non-ASCII characters is
//   folded with `toLowerCase().toUpperCase().toLowerCase()` and final sigma `ς` is read as `σ`,
//   so letters a case-insensitive router treats as equal (`µ`/`μ`, `ς`/`σ`/`Σ`) fold to one
//   form, and the fold is idempotent. Patterns are folded with the same `foldCase`.
// - In absolute form the authority ends at the first `/`, `\`, `?` or `#` (as WHATWG URL reads
//   http(s) URLs); an empty authority (`http:///x`) is refused, and so is one that is not plain
//   `[userinfo@]host[:port]` (a port that is not digits, `;`, `%`, non-ASCII in the host...):
//   Node's legacy url.parse, which Express uses, would read part of it as the path. Lengths
//   count UTF-16 code units.
// - Valid escapes of `?` and `#` (`%3F`, `%23`) are path characters: only the raw `?`/`#` ends
//   the path.

export interface CanonicalTarget {
  /** Exact canonical form, for allow (exemption) rules and for logs. */
  readonly exact: string
  /** Broad form, for deny/protect rules. */
  readonly broad: string
  /**
   * Broad form without `.`/`..` resolution (dot segments kept as literal segments), for
   * deny/protect rules too. The same string as `broad` when no dot segment occurred.
   */
  readonly broadUnresolved: string
  /**
   * When the raw path holds a raw `;`: the broad form of the raw path cut at the first one
   * (what a router that reads `;` as a query delimiter routes), for deny/protect rules too.
   * `undefined` when the raw path has no raw `;`.
   */
  readonly broadCut: string | undefined
  /**
   * `broadUnresolved` of the cut path: the same string as `broadCut` when no dot segment
   * occurred in it; `undefined` exactly when `broadCut` is.
   */
  readonly broadCutUnresolved: string | undefined
  /**
   * The other broad forms: every text that decoding rounds (up to three), cuts at the first
   * `;` and dot-segment resolution can make of the raw path, in any order, with separators
   * collapsed, trailing slash removed and case folded. Only forms that differ from the four
   * above, each once; `undefined` when there is none.
   */
  readonly broadExtra: readonly string[] | undefined
  /**
   * True when the raw path, decoded once, is already `exact`: no dot segment, no `\` and no
   * `%2F` (raw or encoded), no repeated slash, and no raw `;`. Allow rules match only canonical
   * paths.
   */
  readonly isCanonical: boolean
}

export type TargetResult =
  | { readonly ok: true; readonly path: CanonicalTarget }
  | { readonly ok: false; readonly reason: string }

/** Longest request-target accepted, in UTF-16 code units (16 KiB). */
export const MAX_TARGET_LENGTH = 16 * 1024

const SLASH = 0x2f
const BACKSLASH = 0x5c
const PERCENT = 0x25
const DOT = 0x2e
const QUESTION = 0x3f
const HASH = 0x23
const COLON = 0x3a
const SEMICOLON = 0x3b

function refusal(reason: string): TargetResult {
  return Object.freeze({ ok: false, reason } as const)
}

const R_NOT_STRING = refusal('request-target is not a string')
const R_EMPTY = refusal('empty request-target')
const R_TOO_LONG = refusal(`request-target longer than ${MAX_TARGET_LENGTH} characters`)
const R_CONTROL = refusal('request-target contains a control character or a space')
const R_ASTERISK = refusal('asterisk-form request-target (*) is not accepted')
const R_FORM = refusal(
  'request-target is neither origin form (/path) nor absolute form (http://host/path)',
)
const R_SCHEME = refusal('absolute-form request-target with a scheme other than http or https')
const R_AUTHORITY = refusal('absolute-form request-target with an empty authority')
const R_HOST = refusal(
  'absolute-form request-target whose authority is not [userinfo@]host[:port] in plain ASCII',
)
const R_ESCAPE = refusal('malformed percent-escape in the request path')
const R_UTF8 = refusal('percent-escapes in the request path decode to invalid UTF-8')
const R_READINGS = refusal('request path has too many readings (decoding, ";" and dot segments)')

const ROOT: TargetResult = Object.freeze({
  ok: true,
  path: Object.freeze({
    exact: '/',
    broad: '/',
    broadUnresolved: '/',
    broadCut: undefined,
    broadCutUnresolved: undefined,
    broadExtra: undefined,
    isCanonical: true,
  }),
} as const)

// Character classes for the scan of the path, ASCII only (index = char code).
const C_PLAIN = 0
const C_SLASH = 1
const C_END = 2 // `?` or `#`: end of the path
const C_BAD = 3 // control character or space
const C_SLOW = 4 // `%` or `\`: needs the full canonicalisation
const C_UPPER = 5 // A-Z
const C_SEMI = 6 // `;`: a router may cut the path there
const CLASS = new Uint8Array(128)
for (let c = 0; c <= 0x20; c++) CLASS[c] = C_BAD
CLASS[0x7f] = C_BAD
CLASS[SLASH] = C_SLASH
CLASS[QUESTION] = C_END
CLASS[HASH] = C_END
CLASS[PERCENT] = C_SLOW
CLASS[BACKSLASH] = C_SLOW
CLASS[SEMICOLON] = C_SEMI
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] = C_UPPER

/**
 * Canonicalises a raw request-target (origin or absolute form) into its exact and broad path
 * forms. Never throws; runs in time linear in the target length. A target that cannot be
 * canonicalised safely gives `{ ok: false, reason }` (a 400 `request.invalid` upstream).
 */
export function canonicalizeTarget(target: string): TargetResult {
  if (typeof target !== 'string') return R_NOT_STRING
  const len = target.length
  if (len === 0) return R_EMPTY
  if (len > MAX_TARGET_LENGTH) return R_TOO_LONG

  let start: number
  if (target.charCodeAt(0) === SLASH) {
    start = 0
  } else {
    start = absolutePathStart(target, len)
    if (start < 0) return refusalFor(target, start)
    if (start === len) return ROOT
    const c = target.charCodeAt(start)
    if (c === QUESTION || c === HASH) return restIsClean(target, start) ? ROOT : R_CONTROL
  }

  // One pass over the path: find its end, refuse control characters, note the first raw `;`
  // and whether the fast path (already canonical, no escapes, no `;`) applies.
  let slow = target.charCodeAt(start) === BACKSLASH
  let semi = -1
  let upper = false
  let nonAscii = false
  let segStart = start + 1
  let i = start + 1
  for (; i < len; i++) {
    const c = target.charCodeAt(i)
    if (c >= 0x80) {
      nonAscii = true
      continue
    }
    const k = CLASS[c]
    if (k === C_PLAIN) continue
    if (k === C_SLASH) {
      const n = i - segStart
      if (n === 0 || (n <= 2 && isDotSegment(target, segStart, n))) slow = true
      segStart = i + 1
    } else if (k === C_UPPER) {
      upper = true
    } else if (k === C_SLOW) {
      slow = true
    } else if (k === C_END) {
      break
    } else if (k === C_SEMI) {
      if (semi < 0) semi = i
    } else {
      return R_CONTROL
    }
  }
  const end = i
  if (end < len && !restIsClean(target, end)) return R_CONTROL
  const last = end - segStart
  if (last > 0 && last <= 2 && isDotSegment(target, segStart, last)) slow = true

  if (slow || semi >= 0) return slowPath(target.slice(start, end), semi - start)

  const exact = start === 0 && end === len ? target : target.slice(start, end)
  let broad = exact
  if (exact.length > 1 && exact.charCodeAt(exact.length - 1) === SLASH) {
    broad = exact.slice(0, -1)
  }
  if (nonAscii) broad = foldCase(broad)
  else if (upper) broad = broad.toLowerCase()
  return {
    ok: true,
    path: {
      exact,
      broad,
      broadUnresolved: broad,
      broadCut: undefined,
      broadCutUnresolved: undefined,
      broadExtra: undefined,
      isCanonical: true,
    },
  }
}

/**
 * Case folding used for broad forms and broad patterns: `toLowerCase()` for ASCII text; for
 * text with non-ASCII characters lower, upper, then lower case again, with final sigma read as
 * sigma. This is idempotent and folds each character on its own (`ẞ`, `ß` and `SS` all give
 * `ss`), so a folded pattern piece is found in a folded path exactly when it should be.
 */
export function foldCase(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      return s.toLowerCase().toUpperCase().toLowerCase().replaceAll('\u03c2', '\u03c3')
    }
  }
  return s.toLowerCase()
}

function isDotSegment(s: string, at: number, n: number): boolean {
  return s.charCodeAt(at) === DOT && (n === 1 || s.charCodeAt(at + 1) === DOT)
}

function restIsClean(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c <= 0x20 || c === 0x7f) return false
  }
  return true
}

// Negative results of `absolutePathStart`.
const E_FORM = -1
const E_SCHEME = -2
const E_AUTHORITY = -3
const E_CONTROL = -4
const E_HOST = -5

function refusalFor(target: string, code: number): TargetResult {
  if (code === E_SCHEME) return R_SCHEME
  if (code === E_AUTHORITY) return R_AUTHORITY
  if (code === E_CONTROL) return R_CONTROL
  if (code === E_HOST) return R_HOST
  if (target === '*') return R_ASTERISK
  // A form we do not take; still say "control character" when there is one.
  return restIsClean(target, 0) ? R_FORM : R_CONTROL
}

function isSchemeChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2b || // +
    c === 0x2d || // -
    c === DOT
  )
}

/**
 * For an absolute-form target, the index where its path starts (the authority's end); a
 * negative code when the target is not an accepted absolute form.
 */
function absolutePathStart(t: string, len: number): number {
  let i = 0
  while (i < len && isSchemeChar(t.charCodeAt(i))) i++
  if (
    i === 0 ||
    i + 2 >= len ||
    t.charCodeAt(i) !== COLON ||
    t.charCodeAt(i + 1) !== SLASH ||
    t.charCodeAt(i + 2) !== SLASH
  ) {
    return E_FORM
  }
  // Scheme `http` or `https`, any case.
  if (
    (i !== 4 && i !== 5) ||
    (t.charCodeAt(0) | 0x20) !== 0x68 || // h
    (t.charCodeAt(1) | 0x20) !== 0x74 || // t
    (t.charCodeAt(2) | 0x20) !== 0x74 || // t
    (t.charCodeAt(3) | 0x20) !== 0x70 || // p
    (i === 5 && (t.charCodeAt(4) | 0x20) !== 0x73) // s
  ) {
    return E_SCHEME
  }
  const authority = i + 3
  let j = authority
  for (; j < len; j++) {
    const c = t.charCodeAt(j)
    if (c === SLASH || c === BACKSLASH || c === QUESTION || c === HASH) break
    if (c <= 0x20 || c === 0x7f) return E_CONTROL
  }
  if (j === authority) return E_AUTHORITY
  return isPlainAuthority(t, authority, j) ? j : E_HOST
}

/**
 * True when `t[from, to)` is `[userinfo@]host[:port]` with a registered name or an IPv6
 * literal for host and digits for port, in characters every URL parser reads the same way.
 * Node's legacy url.parse (Express's parseurl) stops the host at other characters and reads
 * the rest as path: `http://h:x/public/a` is `/:x/public/a` there, `/public/a` here. Such a
 * target is refused: an exemption must never cover a path a router reads as another one.
 */
function isPlainAuthority(t: string, from: number, to: number): boolean {
  const at = t.lastIndexOf('@', to - 1)
  let i = from
  if (at >= from) {
    for (; i < at; i++) if (!isUserinfoChar(t.charCodeAt(i))) return false
    i = at + 1
  }
  if (t.charCodeAt(i) === 0x5b /* [ */) {
    const close = t.indexOf(']', i)
    if (close < 0 || close >= to) return false
    for (let k = i + 1; k < close; k++) {
      const c = t.charCodeAt(k)
      if (!(hexValue(c) >= 0 || c === COLON || c === DOT)) return false
    }
    i = close + 1
  } else {
    for (; i < to && t.charCodeAt(i) !== COLON; i++) {
      if (!isHostChar(t.charCodeAt(i))) return false
    }
  }
  if (i === to) return true
  if (t.charCodeAt(i) !== COLON) return false
  for (i++; i < to; i++) {
    const c = t.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
  }
  return true
}

/** RFC 3986 unreserved and sub-delims, less `;` and `'`, which url.parse reads differently. */
function isHostChar(c: number): boolean {
  if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) return true // a-z A-Z
  if (c >= 0x30 && c <= 0x39) return true // 0-9
  switch (c) {
    case 0x2d: // -
    case DOT:
    case 0x5f: // _
    case 0x7e: // ~
    case 0x21: // !
    case 0x24: // $
    case 0x26: // &
    case 0x28: // (
    case 0x29: // )
    case 0x2a: // *
    case 0x2b: // +
    case 0x2c: // ,
    case 0x3d: // =
      return true
    default:
      return false
  }
}

/**
 * Host characters, and `:`, `@`, `;`, `'` (url.parse reads those the same way in userinfo);
 * no `%`, which url.parse rejects there.
 */
function isUserinfoChar(c: number): boolean {
  return isHostChar(c) || c === COLON || c === 0x40 || c === SEMICOLON || c === 0x27
}

/**
 * Full canonicalisation of a raw path (starts with `/` or `\`; contains no raw `?`/`#`).
 * `semi`: index in `raw` of its first raw `;`, or negative when there is none.
 */
function slowPath(raw: string, semi: number): TargetResult {
  const once = percentDecode(raw, true)
  if (once === undefined) return lastFailure
  const exact = resolvePath(once)
  const broad = broadOf(once, exact, lastUnresolved)
  const broadUnresolved = lastBroadUnresolved
  const deep = lastDeep
  let broadCut: string | undefined
  let broadCutUnresolved: string | undefined
  if (semi >= 0) {
    // An escape never spans a raw `;`, so the cut decodes exactly when the whole path did.
    const cut = raw.slice(0, semi)
    const cutOnce = percentDecode(cut, true) ?? cut
    broadCut = broadOf(cutOnce, resolvePath(cutOnce), lastUnresolved)
    broadCutUnresolved = lastBroadUnresolved
  }
  // Without a `;` or a dot segment in any round (both survive later rounds, so the last round
  // tells), the other readings are the path half-decoded: nothing a deny needs.
  const readings = deep.includes(';') || hasDotSegment(deep) ? readingsOf(raw) : NONE
  if (readings === undefined) return R_READINGS
  let broadExtra: string[] | undefined
  for (const form of readings) {
    if (form === broad || form === broadUnresolved || form === broadCut) continue
    if (form === broadCutUnresolved) continue
    ;(broadExtra ??= []).push(form)
  }
  const isCanonical = semi < 0 && exact === once && !hasEncodedSlash(raw)
  return {
    ok: true,
    path: {
      exact,
      broad,
      broadUnresolved,
      broadCut,
      broadCutUnresolved,
      broadExtra,
      isCanonical,
    },
  }
}

/** Rounds of the broad decoding, the first one included (`%25` decoded up to three times). */
const ROUNDS = 3
/** Most readings one path may have (see `broadExtra`); a path with more is refused. */
export const MAX_READINGS = 64

/**
 * Decodes `text`, which has been through `done` rounds already, in further rounds while one
 * still changes something, up to ROUNDS in all. Later rounds never refuse (see the top).
 */
function decodeLaterRounds(text: string, done: number): string {
  let deep = text
  for (let round = done + 1; round <= ROUNDS && deep.includes('%'); round++) {
    const next = percentDecode(deep, false)
    if (next === undefined || next === deep) break
    deep = next
  }
  return deep
}

/**
 * The broad form of every text that a chain of decoding rounds (up to ROUNDS), cuts at the
 * first `;`, removals of segment parameters and dot-segment resolutions, in any order, makes
 * of the raw path `raw`: separators collapsed, trailing slash removed, case folded. Undefined
 * when there are more than MAX_READINGS texts. The first round decodes exactly as the exact form's does (the caller
 * checked it succeeds); a sub-text (a cut, a resolution) decodes exactly when the whole did,
 * since no escape or UTF-8 sequence spans a `/` or a `;` there.
 */
function readingsOf(raw: string): Set<string> | undefined {
  const decodes = new Map<string, number>() // text -> fewest rounds that reached it
  const queue: string[] = [raw]
  const rounds: number[] = [0]
  for (let q = 0; q < queue.length; q++) {
    const text = queue[q]!
    const done = rounds[q]!
    const known = decodes.get(text)
    if (known !== undefined && known <= done) continue
    if (known === undefined && decodes.size >= MAX_READINGS) return undefined
    decodes.set(text, done)
    const semi = text.indexOf(';')
    if (semi >= 0) {
      queue.push(text.slice(0, semi), withoutParameters(text, semi))
      rounds.push(done, done)
    }
    const resolved = resolvePath(text)
    if (lastUnresolved !== undefined) {
      queue.push(resolved)
      rounds.push(done)
    }
    if (done < ROUNDS && text.includes('%')) {
      const next = percentDecode(text, false)
      if (next !== undefined && next !== text) {
        queue.push(next)
        rounds.push(done + 1)
      }
    }
  }
  const forms = new Set<string>()
  for (const text of decodes.keys()) forms.add(foldCase(withoutTrailingSlash(collapsed(text))))
  return forms
}

/**
 * `s` without the `;` parameters of its segments (`/a;x/..;y/b` is `/a/../b`), as servlet
 * containers read a path; `semi` is the index of its first `;`.
 */
function withoutParameters(s: string, semi: number): string {
  let out = ''
  let from = 0
  for (let i = semi; i >= 0; i = s.indexOf(';', from)) {
    out += s.slice(from, i)
    let end = i + 1
    while (end < s.length && s.charCodeAt(end) !== SLASH && s.charCodeAt(end) !== BACKSLASH) end++
    from = end
  }
  return out + s.slice(from)
}

/** `s` with `\` read as `/` and repeated separators collapsed; dot segments kept. */
function collapsed(s: string): string {
  let out = ''
  let from = 0
  let separator = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c !== SLASH && c !== BACKSLASH) {
      if (separator) {
        out += '/'
        from = i
        separator = false
      }
      continue
    }
    if (!separator) out += s.slice(from, i)
    separator = true
  }
  if (separator) return out + '/'
  return from === 0 ? s : out + s.slice(from)
}

/** Set by `broadOf`: the broad form without dot-segment resolution of the path it last read. */
let lastBroadUnresolved = ''
/** Set by `broadOf`: the path it last read after its last decoding round. */
let lastDeep = ''

const NONE: ReadonlySet<string> = new Set()

/** True when `s` has a `.` or `..` segment (`/` and `\` both separate segments). */
function hasDotSegment(s: string): boolean {
  for (let i = s.indexOf('.'); i >= 0; i = s.indexOf('.', i + 1)) {
    const before = i === 0 ? SLASH : s.charCodeAt(i - 1)
    if (before !== SLASH && before !== BACKSLASH) continue
    let end = i + 1
    if (s.charCodeAt(end) === DOT) end++
    const after = end < s.length ? s.charCodeAt(end) : SLASH
    if (after === SLASH || after === BACKSLASH) return true
  }
  return false
}

/**
 * The broad form of a path decoded once (`once`; `exact` is `resolvePath(once)` and
 * `unresolved` the `lastUnresolved` that call set). Sets `lastBroadUnresolved`.
 */
function broadOf(once: string, exact: string, unresolved: string | undefined): string {
  // Decode again (rounds 2 and 3) while a round still changes something.
  const deep = decodeLaterRounds(once, 1)
  lastDeep = deep
  let broad = exact
  if (deep !== once) {
    broad = resolvePath(deep)
    unresolved = lastUnresolved
  }
  broad = foldCase(withoutTrailingSlash(broad))
  lastBroadUnresolved = unresolved === undefined ? broad : foldCase(unresolved)
  return broad
}

function withoutTrailingSlash(s: string): string {
  return s.length > 1 && s.charCodeAt(s.length - 1) === SLASH ? s.slice(0, -1) : s
}

/** True when the raw path holds a valid `%2F` (either case): an encoded slash. */
function hasEncodedSlash(raw: string): boolean {
  for (let i = raw.indexOf('%'); i >= 0; i = raw.indexOf('%', i + 1)) {
    if (raw.charCodeAt(i + 1) === 0x32 && (raw.charCodeAt(i + 2) | 0x20) === 0x66) return true
  }
  return false
}

/**
 * Set by `resolvePath`: when the path it last read had a `.` or `..` segment, that path with
 * separators collapsed but dot segments kept (no trailing slash); otherwise undefined.
 */
let lastUnresolved: string | undefined

/**
 * Resolves a decoded path: `\` is a separator, empty segments are dropped, then `.` and `..`
 * are applied (RFC 3986 remove_dot_segments, `..` above the root stays at the root). A path
 * that ends with a separator or a dot segment keeps a trailing slash. Sets `lastUnresolved`.
 */
function resolvePath(s: string): string {
  const n = s.length
  lastUnresolved = undefined
  if (isResolved(s)) return s
  const segments: string[] = []
  let all: string[] | undefined // every segment, dot segments included, from the first dot on
  let trailing = false
  let i = 0
  while (i < n) {
    const c = s.charCodeAt(i)
    if (c === SLASH || c === BACKSLASH) {
      trailing = true
      i++
      continue
    }
    let j = i + 1
    while (j < n) {
      const d = s.charCodeAt(j)
      if (d === SLASH || d === BACKSLASH) break
      j++
    }
    const len = j - i
    if (c === DOT && (len === 1 || (len === 2 && s.charCodeAt(i + 1) === DOT))) {
      if (all === undefined) all = segments.slice()
      all.push(len === 1 ? '.' : '..')
      if (len === 2) segments.pop()
      trailing = true
    } else {
      const segment = s.slice(i, j)
      segments.push(segment)
      if (all !== undefined) all.push(segment)
      trailing = false
    }
    i = j
  }
  if (all !== undefined) lastUnresolved = '/' + all.join('/')
  if (segments.length === 0) return '/'
  const joined = '/' + segments.join('/')
  return trailing ? joined + '/' : joined
}

/** True when `s` starts with `/` and has no `\`, empty segment or dot segment. */
function isResolved(s: string): boolean {
  const n = s.length
  if (n === 0 || s.charCodeAt(0) !== SLASH) return false
  let segStart = 1
  for (let i = 1; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : SLASH
    if (c === BACKSLASH) return false
    if (c !== SLASH) continue
    const len = i - segStart
    if (len === 0) {
      if (i < n) return false // `//` (an empty last segment is a trailing slash)
    } else if (len <= 2 && isDotSegment(s, segStart, len)) {
      return false
    }
    segStart = i + 1
  }
  return true
}

// Scratch buffers for one run of consecutive escapes. A run is at most a third of the target.
const MAX_RUN = Math.ceil(MAX_TARGET_LENGTH / 3) + 1
const BYTES = new Uint8Array(MAX_RUN)
const UNITS = new Uint16Array(MAX_RUN)

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10
  return -1
}

/** The byte of the escape at `i` (`s[i]` is `%`), or -1 when it is malformed. */
function escapeAt(s: string, i: number): number {
  if (i + 2 >= s.length) return -1
  const h = hexValue(s.charCodeAt(i + 1))
  const l = hexValue(s.charCodeAt(i + 2))
  return h < 0 || l < 0 ? -1 : (h << 4) | l
}

/** Set by `percentDecode` when it gives `undefined`: the refusal that applies. */
let lastFailure: TargetResult = R_ESCAPE

/**
 * Decodes every percent-escape once; bytes are read as UTF-8. `strict` (the first round): a
 * malformed escape or invalid UTF-8 gives `undefined` and sets `lastFailure`. Otherwise a
 * malformed escape is kept as it is and invalid UTF-8 becomes U+FFFD. Returns `s` itself when
 * nothing was decoded.
 */
function percentDecode(s: string, strict: boolean): string | undefined {
  const n = s.length
  let i = s.indexOf('%')
  if (i < 0) return s
  let out = ''
  let copied = 0
  while (i < n) {
    if (s.charCodeAt(i) !== PERCENT) {
      i++
      continue
    }
    const first = escapeAt(s, i)
    if (first < 0) {
      if (strict) {
        lastFailure = R_ESCAPE
        return undefined
      }
      i++
      continue
    }
    out += s.slice(copied, i)
    BYTES[0] = first
    let count = 1
    i += 3
    while (i < n && count < MAX_RUN && s.charCodeAt(i) === PERCENT) {
      const b = escapeAt(s, i)
      if (b < 0) break
      BYTES[count++] = b
      i += 3
    }
    const text = utf8Decode(count, strict)
    if (text === undefined) {
      lastFailure = R_UTF8
      return undefined
    }
    out += text
    copied = i
  }
  if (copied === 0) return s
  return copied < n ? out + s.slice(copied) : out
}

/**
 * Decodes BYTES[0..count) as UTF-8. An invalid sequence gives `undefined` when `strict`, U+FFFD
 * otherwise (WHATWG replacement: each maximal invalid prefix is one U+FFFD).
 */
function utf8Decode(count: number, strict: boolean): string | undefined {
  let units = 0
  let i = 0
  while (i < count) {
    const b0 = BYTES[i]!
    if (b0 < 0x80) {
      UNITS[units++] = b0
      i++
      continue
    }
    let need: number
    let cp: number
    let lo = 0x80
    let hi = 0xbf
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1
      cp = b0 & 0x1f
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2
      cp = b0 & 0x0f
      if (b0 === 0xe0) lo = 0xa0
      else if (b0 === 0xed) hi = 0x9f // no surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3
      cp = b0 & 0x07
      if (b0 === 0xf0) lo = 0x90
      else if (b0 === 0xf4) hi = 0x8f // nothing above U+10FFFF
    } else {
      if (strict) return undefined
      UNITS[units++] = 0xfffd
      i++
      continue
    }
    let j = i + 1
    let complete = true
    for (let r = 0; r < need; r++) {
      const b = j < count ? BYTES[j]! : -1
      if (b < lo || b > hi) {
        complete = false
        break
      }
      cp = (cp << 6) | (b & 0x3f)
      lo = 0x80
      hi = 0xbf
      j++
    }
    if (!complete) {
      if (strict) return undefined
      // The valid prefix is one U+FFFD; the offending byte starts the next sequence.
      UNITS[units++] = 0xfffd
    } else if (cp >= 0x10000) {
      cp -= 0x10000
      UNITS[units++] = 0xd800 | (cp >> 10)
      UNITS[units++] = 0xdc00 | (cp & 0x3ff)
    } else {
      UNITS[units++] = cp
    }
    i = j
  }
  if (units === 1) return String.fromCharCode(UNITS[0]!)
  let out = ''
  if (units <= 16) {
    for (let k = 0; k < units; k++) out += String.fromCharCode(UNITS[k]!)
    return out
  }
  for (let k = 0; k < units; k += 1024) {
    out += String.fromCharCode(...UNITS.subarray(k, Math.min(units, k + 1024)))
  }
  return out
}
