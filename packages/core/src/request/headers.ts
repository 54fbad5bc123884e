import type { HeadersInput } from '../types.js'

/**
 * Case-insensitive, all-values header access over either header shape adapters hand us.
 * Built once per request; lookups return every value so a duplicated single-value header
 * can be refused instead of silently read as its first value (principle 4).
 */
export interface HeaderReader {
  /** Every value of the header, trimmed; undefined when absent. `name` must be lowercase. */
  all(name: string): readonly string[] | undefined
  /** Header value count, characters of names + values, and the longest value: for size caps. */
  stats(): HeaderStats
}

export interface HeaderStats {
  count: number
  bytes: number
  maxValue: number
}

function isWebHeaders(
  h: Exclude<HeadersInput, readonly string[]>,
): h is { get(name: string): string | null; forEach(cb: (v: string, k: string) => void): void } {
  return typeof (h as { get?: unknown }).get === 'function'
}

function trimValues(value: unknown): readonly string[] | undefined {
  if (typeof value === 'string') return [trimOws(value)]
  if (Array.isArray(value)) {
    const out: string[] = []
    for (const v of value as unknown[]) if (typeof v === 'string') out.push(trimOws(v))
    return out.length === 0 ? undefined : out
  }
  return undefined
}

const isOws = (c: number): boolean => c === 32 || c === 9

/**
 * Strips optional whitespace (SP, HTAB) around a value, as HTTP parsers do, and nothing else.
 * Returns the same string, without copying, in the common case.
 */
export function trimOws(value: string): string {
  let start = 0
  let end = value.length
  while (start < end && isOws(value.charCodeAt(start))) start++
  while (end > start && isOws(value.charCodeAt(end - 1))) end--
  return start === 0 && end === value.length ? value : value.slice(start, end)
}

export function readHeaders(input: HeadersInput | null | undefined): HeaderReader {
  if (input === null || typeof input !== 'object') return emptyReader
  if (Array.isArray(input)) return new RawHeaders(input as readonly unknown[])
  const h = input as Exclude<HeadersInput, readonly string[]>
  return isWebHeaders(h) ? webReader(h) : new RecordHeaders(h as HeaderRecord)
}

const emptyReader: HeaderReader = {
  all: () => undefined,
  stats: () => ({ count: 0, bytes: 0, maxValue: 0 }),
}

type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>

const hasOwn = Object.prototype.hasOwnProperty

/** True when some header name has an upper-case ASCII letter (Node never sends one). */
function hasUpperCaseName(record: HeaderRecord): boolean {
  // Object.keys hits V8's enum cache for the usual same-shaped header objects; for-in does not.
  const keys = Object.keys(record)
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i)
      if (c >= 65 && c <= 90) return true
    }
  }
  return false
}

/**
 * Node lowercases header names; a hand-built object may not, and may even carry one header
 * under two spellings. Only then do we pay for a case-folded copy that merges them.
 */
class RecordHeaders implements HeaderReader {
  #folded: Map<string, string[]> | null | undefined

  constructor(private readonly record: HeaderRecord) {}

  all(name: string): readonly string[] | undefined {
    if (this.#folded === undefined)
      this.#folded = hasUpperCaseName(this.record) ? fold(this.record) : null
    if (this.#folded !== null) return this.#folded.get(name)
    return hasOwn.call(this.record, name) ? trimValues(this.record[name]) : undefined
  }

  stats(): HeaderStats {
    const stats: HeaderStats = { count: 0, bytes: 0, maxValue: 0 }
    const keys = Object.keys(this.record)
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!
      // Read in place, without the per-header arrays trimValues builds.
      const value: unknown = this.record[key]
      if (typeof value === 'string') add(stats, key, trimOws(value))
      else if (Array.isArray(value)) {
        for (const v of value as unknown[]) if (typeof v === 'string') add(stats, key, trimOws(v))
      }
    }
    return stats
  }
}

function fold(record: HeaderRecord): Map<string, string[]> {
  const folded = new Map<string, string[]>()
  const keys = Object.keys(record)
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!
    const values = trimValues(record[key]) // a fresh array: the Map may keep it
    if (values === undefined) continue
    const lower = key.toLowerCase()
    const existing = folded.get(lower)
    // A loop, not push(...values): spreading a huge array overflows the call stack.
    if (existing) for (const v of values) existing.push(v)
    else folded.set(lower, values as string[])
  }
  return folded
}

function webReader(headers: {
  get(name: string): string | null
  forEach(cb: (v: string, k: string) => void): void
}): HeaderReader {
  // Web Headers already join repeated fields with ", " (Set-Cookie aside, which requests do
  // not carry), so one value per name is all that can be recovered here. A Headers-like object
  // that answers something other than a string (a Map gives undefined) is read like the other
  // shapes read a non-string value: as no value.
  return {
    all(name) {
      let value: unknown
      try {
        value = headers.get(name)
      } catch {
        return undefined
      }
      return typeof value === 'string' ? [trimOws(value)] : undefined
    },
    stats() {
      const stats: HeaderStats = { count: 0, bytes: 0, maxValue: 0 }
      try {
        headers.forEach((v: unknown, k: unknown) => {
          if (typeof v === 'string' && typeof k === 'string') add(stats, k, trimOws(v))
        })
      } catch {
        // A hostile Headers-like object: count what we saw.
      }
      return stats
    },
  }
}

function add(stats: HeaderStats, name: string, value: string): void {
  stats.count++
  stats.bytes += name.length + value.length
  if (value.length > stats.maxValue) stats.maxValue = value.length
}

/** True when `a` equals the lowercase name `lower`, ignoring ASCII case, without allocating. */
function sameName(a: string, lower: string): boolean {
  if (a.length !== lower.length) return false
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i)
    if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== lower.charCodeAt(i)) return false
  }
  return true
}

/** Lookups a RawHeaders answers by scanning before it builds an index. */
const SCANS_BEFORE_INDEX = 4

/** `name` with ASCII upper-case letters lowered, nothing else (as `sameName` compares). */
function asciiLower(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c >= 65 && c <= 90) return name.replace(/[A-Z]+/g, (m) => m.toLowerCase())
  }
  return name
}

/**
 * Node's `rawHeaders`: `[name, value, name, value, …]` exactly as received. A lookup scans the
 * names (a request has a few dozen), so nothing is built for the usual few lookups. A policy
 * that asks for many headers (a header rule's `require`/`forbid` lists) would make that
 * lookups × headers on a request with thousands of headers: after a few scans the headers are
 * indexed once, and every later lookup is a Map get.
 */
class RawHeaders implements HeaderReader {
  #scans = 0
  #index: Map<string, string[]> | undefined
  // The last lookup: the user agent is read by its rule and again for the log line.
  #lastName = ''
  #lastValues: readonly string[] | undefined

  constructor(private readonly raw: readonly unknown[]) {}

  all(name: string): readonly string[] | undefined {
    if (name === this.#lastName) return this.#lastValues
    if (this.#index === undefined && ++this.#scans > SCANS_BEFORE_INDEX) this.#index = this.#build()
    if (this.#index !== undefined) return this.#index.get(name)
    const raw = this.raw
    let out: string[] | undefined
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = raw[i]
      const value = raw[i + 1]
      // A name sent in lowercase (HTTP/2 always, many clients) matches without the folding compare.
      if (
        typeof value === 'string' &&
        (key === name || (typeof key === 'string' && sameName(key, name)))
      ) {
        // `[v]` holds one slot; `[]` grown by push would reserve 17 for the usual one value.
        if (out === undefined) out = [trimOws(value)]
        else out.push(trimOws(value))
      }
    }
    this.#lastName = name
    this.#lastValues = out
    return out
  }

  #build(): Map<string, string[]> {
    const index = new Map<string, string[]>()
    const raw = this.raw
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = raw[i]
      const value = raw[i + 1]
      if (typeof key !== 'string' || typeof value !== 'string') continue
      const lower = asciiLower(key)
      const values = index.get(lower)
      if (values === undefined) index.set(lower, [trimOws(value)])
      else values.push(trimOws(value))
    }
    return index
  }

  stats(): HeaderStats {
    const stats: HeaderStats = { count: 0, bytes: 0, maxValue: 0 }
    const raw = this.raw
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = raw[i]
      const value = raw[i + 1]
      if (typeof key === 'string' && typeof value === 'string') add(stats, key, trimOws(value))
    }
    return stats
  }
}
