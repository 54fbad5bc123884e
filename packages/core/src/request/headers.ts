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

const EMPTY: readonly string[] = []

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
    for (const key of Object.keys(this.record)) {
      for (const v of trimValues(this.record[key]) ?? EMPTY) add(stats, key, v)
    }
    return stats
  }
}

function fold(record: HeaderRecord): Map<string, string[]> {
  const folded = new Map<string, string[]>()
  for (const key of Object.keys(record)) {
    const values = trimValues(record[key])
    if (values === undefined) continue
    const lower = key.toLowerCase()
    const existing = folded.get(lower)
    if (existing) existing.push(...values)
    else folded.set(lower, [...values])
  }
  return folded
}

function webReader(headers: {
  get(name: string): string | null
  forEach(cb: (v: string, k: string) => void): void
}): HeaderReader {
  // Web Headers already join repeated fields with ", " (Set-Cookie aside, which requests do
  // not carry), so one value per name is all that can be recovered here.
  return {
    all(name) {
      let value: string | null
      try {
        value = headers.get(name)
      } catch {
        return undefined
      }
      return value === null ? undefined : [trimOws(value)]
    },
    stats() {
      const stats: HeaderStats = { count: 0, bytes: 0, maxValue: 0 }
      try {
        headers.forEach((v, k) => add(stats, k, v))
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

/**
 * Node's `rawHeaders`: `[name, value, name, value, …]` exactly as received. Each lookup scans
 * the names (a request has a few dozen at most), so nothing is built up front.
 */
class RawHeaders implements HeaderReader {
  constructor(private readonly raw: readonly unknown[]) {}

  all(name: string): readonly string[] | undefined {
    const raw = this.raw
    let out: string[] | undefined
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = raw[i]
      const value = raw[i + 1]
      if (typeof key === 'string' && typeof value === 'string' && sameName(key, name)) {
        ;(out ??= []).push(trimOws(value))
      }
    }
    return out
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
