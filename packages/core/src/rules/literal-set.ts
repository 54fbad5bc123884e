// Case-insensitive literal matching for the `exact`, `prefix` and `contains` lists of a
// userAgent rule, in time linear in the agent's length whatever the lists hold.
//
// A regular expression built from the lists (one alternation) is linear for a given list, but
// its cost per character grows with the list: 10,000 entries that share long prefixes made a
// 64 KiB agent take a second, and V8 compiles such an expression on its first use, so a
// 100,000-entry list stalled the first request for seconds. Here all entries go into one trie
// with Aho-Corasick failure links: each character of the agent costs one transition (amortised),
// however many entries there are.
//
// Case-insensitivity is exactly that of a RegExp with the `i` flag and without `u` (what the
// previous implementation used, so every decision stays the same): two UTF-16 code units are
// equal when their simple upper-case forms are, except that a non-ASCII unit never folds to an
// ASCII one (the Kelvin sign is not `k`).
//
// The automaton pays a few nanoseconds per character in JavaScript, where V8's RegExp engine
// skips through an agent natively. Short lists of plain ASCII entries (at most
// REGEX_MAX_CHARS characters together, the common deny list of a few bot names) therefore
// still use one RegExp: its cost per character is bounded by those few characters, and its
// case-insensitive alternations are exact for ASCII entries. Non-ASCII entries never go into an
// alternation: V8 (Node 20) gets some wrong, e.g. /(?:\u212aa|k|\u212a)/i does not match "k".
//
// Memory is a few typed arrays, about 20 bytes per list character (40 MB at most); the policy schema caps the
// characters a rule's lists may hold (MAX_LITERAL_CHARS).

/** Characters (UTF-16 code units) a userAgent rule's lists may hold together. */
export const MAX_LITERAL_CHARS = 2_000_000

/** Lists of plain ASCII entries this short (characters together) are matched by a RegExp. */
export const REGEX_MAX_CHARS = 256

export interface LiteralLists {
  readonly exact?: readonly string[] | undefined
  readonly prefix?: readonly string[] | undefined
  readonly contains?: readonly string[] | undefined
}

export interface LiteralSet {
  /** True when `text` equals an `exact` entry, starts with a `prefix` or holds a `contains` one. */
  test(text: string): boolean
}

// Node flags.
const EXACT = 1
const PREFIX = 2
/** A `contains` entry ends here, or at a node on this node's failure chain. */
const CONTAINS = 4

let foldTable: Uint16Array | undefined

/** Canonical unit of every non-ASCII UTF-16 code unit, built once per process when needed. */
function nonAsciiFold(): Uint16Array {
  if (foldTable !== undefined) return foldTable
  const table = new Uint16Array(0x10000)
  for (let c = 0; c < 0x10000; c++) {
    table[c] = c
    if (c < 0x80) continue
    const upper = String.fromCharCode(c).toUpperCase()
    // RegExp Canonicalize (non-unicode): keep units whose upper case is not one unit, and
    // never map a non-ASCII unit to an ASCII one.
    if (upper.length === 1 && upper.charCodeAt(0) >= 0x80) table[c] = upper.charCodeAt(0)
  }
  foldTable = table
  return table
}

/** Canonical form of each ASCII unit: upper case. */
const ASCII_FOLD = new Uint16Array(0x80)
for (let c = 0; c < 0x80; c++) ASCII_FOLD[c] = c >= 0x61 && c <= 0x7a ? c - 0x20 : c

/** The canonical (upper-case) form of one UTF-16 code unit. */
function fold(c: number): number {
  return c < 0x80 ? ASCII_FOLD[c]! : nonAsciiFold()[c]!
}

function foldText(s: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(fold(s.charCodeAt(i)))
  return out
}

/**
 * Builds the matcher, or undefined when the lists are all empty or absent. `automaton: true`
 * skips the RegExp for short ASCII lists (tests check both ways agree).
 */
export function compileLiteralSet(
  lists: LiteralLists,
  options: { automaton?: boolean } = {},
): LiteralSet | undefined {
  if (!options.automaton) {
    const regex = shortListRegExp(lists)
    if (regex !== undefined) return regex
  }
  const entries = new Map<string, number>() // folded entry -> flags
  const add = (list: readonly string[] | undefined, flag: number): void => {
    for (const entry of list ?? []) {
      if (typeof entry !== 'string' || entry === '') continue
      const key = foldText(entry)
      entries.set(key, (entries.get(key) ?? 0) | flag)
    }
  }
  add(lists.exact, EXACT)
  add(lists.prefix, PREFIX)
  add(lists.contains, CONTAINS)
  if (entries.size === 0) return undefined
  const trie = buildTrie(entries)
  return new Automaton(trie, lists.contains !== undefined && lists.contains.length > 0)
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')

/** True for a non-empty string of ASCII characters only. */
function isAscii(entry: string): boolean {
  for (let i = 0; i < entry.length; i++) if (entry.charCodeAt(i) >= 0x80) return false
  return true
}

/**
 * One case-insensitive RegExp of escaped literals in plain alternations (nothing to backtrack
 * through), when every entry is ASCII and all of them hold at most REGEX_MAX_CHARS characters.
 */
function shortListRegExp(lists: LiteralLists): LiteralSet | undefined {
  let chars = 0
  const parts: string[] = []
  const group = (list: readonly string[] | undefined, wrap: (body: string) => string) => {
    const entries = (list ?? []).filter((e) => typeof e === 'string' && e !== '')
    for (const e of entries) {
      if (!isAscii(e)) chars = Infinity
      chars += e.length
    }
    if (entries.length > 0) parts.push(wrap(entries.map(escapeRegExp).join('|')))
  }
  group(lists.exact, (body) => `^(?:${body})$`)
  group(lists.prefix, (body) => `^(?:${body})`)
  group(lists.contains, (body) => `(?:${body})`)
  if (parts.length === 0 || chars > REGEX_MAX_CHARS) return undefined
  return new RegExp(parts.join('|'), 'i')
}

interface Trie {
  /** Children of node n are edges [edgeStart[n], edgeStart[n + 1]), sorted by unit. */
  readonly edgeStart: Int32Array
  readonly edgeUnit: Uint16Array
  readonly edgeTarget: Int32Array
  /** Node 0 (the root) on each canonical unit: the child, or 0 (stay at the root). */
  readonly rootNext: Int32Array
  readonly fail: Int32Array
  readonly flags: Uint8Array
}

/**
 * The trie of the folded entries, built from their sorted order (no per-node objects), with
 * failure links and the CONTAINS flag carried along them.
 */
function buildTrie(entries: ReadonlyMap<string, number>): Trie {
  const keys = [...entries.keys()].sort()
  let total = 1
  for (const k of keys) total += k.length
  // Nodes in creation order: parent and unit of the edge into each (sized for the worst case).
  const parent = new Int32Array(total)
  const unit = new Uint16Array(total)
  const flags = new Uint8Array(total)
  let nodes = 1
  const path = [0] // path[d]: node at depth d on the previous entry's path
  let previous = ''
  for (const key of keys) {
    let common = 0
    const max = Math.min(key.length, previous.length)
    while (common < max && key.charCodeAt(common) === previous.charCodeAt(common)) common++
    path.length = common + 1
    for (let d = common; d < key.length; d++) {
      parent[nodes] = path[d]!
      unit[nodes] = key.charCodeAt(d)
      path.push(nodes++)
    }
    flags[path[key.length]!]! |= entries.get(key)!
    previous = key
  }

  // Children are created in unit order (the keys are sorted), so each node's edges, gathered
  // in creation order, come out sorted.
  const edgeStart = new Int32Array(nodes + 1)
  for (let n = 1; n < nodes; n++) edgeStart[parent[n]! + 1]!++
  for (let n = 0; n < nodes; n++) edgeStart[n + 1]! += edgeStart[n]!
  const fill = edgeStart.slice(0, nodes)
  const edgeUnit = new Uint16Array(nodes - 1)
  const edgeTarget = new Int32Array(nodes - 1)
  for (let n = 1; n < nodes; n++) {
    const at = fill[parent[n]!]!++
    edgeUnit[at] = unit[n]!
    edgeTarget[at] = n
  }
  const rootNext = new Int32Array(0x10000)
  for (let e = edgeStart[0]!; e < edgeStart[1]!; e++) rootNext[edgeUnit[e]!] = edgeTarget[e]!

  // Failure links in breadth-first order: a node's link is the longest proper suffix of its
  // path that is also a path in the trie.
  const fail = new Int32Array(nodes)
  const queue = new Int32Array(nodes)
  let head = 0
  let tail = 0
  for (let e = edgeStart[0]!; e < edgeStart[1]!; e++) queue[tail++] = edgeTarget[e]!
  const trie: Trie = {
    edgeStart,
    edgeUnit,
    edgeTarget,
    rootNext,
    fail,
    flags: flags.subarray(0, nodes),
  }
  while (head < tail) {
    const node = queue[head++]!
    for (let e = edgeStart[node]!; e < edgeStart[node + 1]!; e++) {
      const child = edgeTarget[e]!
      const c = edgeUnit[e]!
      let f = fail[node]!
      let next = step(trie, f, c)
      while (next < 0) {
        f = fail[f]!
        next = step(trie, f, c)
      }
      fail[child] = next
      flags[child]! |= flags[next]! & CONTAINS
      queue[tail++] = child
    }
  }
  return trie
}

/** The node reached from `node` on unit `c`: -1 when there is no edge (never for the root). */
function step(trie: Trie, node: number, c: number): number {
  if (node === 0) return trie.rootNext[c]!
  let low = trie.edgeStart[node]!
  let high = trie.edgeStart[node + 1]! - 1
  const units = trie.edgeUnit
  while (low <= high) {
    const mid = (low + high) >>> 1
    const u = units[mid]!
    if (u === c) return trie.edgeTarget[mid]!
    if (u < c) low = mid + 1
    else high = mid - 1
  }
  return -1
}

class Automaton implements LiteralSet {
  readonly #trie: Trie
  readonly #anchored: boolean
  readonly #contains: boolean

  constructor(trie: Trie, contains: boolean) {
    this.#trie = trie
    this.#contains = contains
    let anchored = false
    for (const f of trie.flags) if ((f & (EXACT | PREFIX)) !== 0) anchored = true
    this.#anchored = anchored
  }

  test(text: string): boolean {
    return (this.#anchored && this.#testAnchored(text)) || (this.#contains && this.#scan(text))
  }

  /** `exact` and `prefix`: one walk down the trie from the first unit. */
  #testAnchored(text: string): boolean {
    const trie = this.#trie
    let node = 0
    for (let i = 0; i < text.length; i++) {
      node = step(trie, node, fold(text.charCodeAt(i)))
      if (node <= 0) return false
      if ((trie.flags[node]! & PREFIX) !== 0) return true
    }
    return (trie.flags[node]! & EXACT) !== 0
  }

  /** `contains`: the Aho-Corasick scan, stopping at the first entry found. */
  #scan(text: string): boolean {
    const trie = this.#trie
    const { fail, flags, rootNext } = trie
    const n = text.length
    let node = 0
    for (let i = 0; i < n; i++) {
      const u = text.charCodeAt(i)
      const c = u < 0x80 ? ASCII_FOLD[u]! : fold(u)
      // Most units of an agent start no entry: at the root, one table lookup.
      if (node !== 0) {
        let next = step(trie, node, c)
        while (next < 0) {
          node = fail[node]!
          next = step(trie, node, c)
        }
        node = next
      } else {
        node = rootNext[c]!
      }
      if ((flags[node]! & CONTAINS) !== 0) return true
    }
    return false
  }
}
